// The agents' side of retrieval: ask any Curator on the mesh (request/reply), fall back to nothing on silence.
import type { MeshConnection } from '../../blackboard/index.ts';
import { CuratorReply, type CuratorQueryInput, subjects } from '../../schemas/index.ts';
import type { RetrievedSnippet } from './types.ts';

/**
 * How long an agent waits for the Curator. A cold repository gets a first answer within seconds (the Curator
 * indexes off its event loop and answers from paths and mentions meanwhile), so silence past this means a
 * Curator that is gone or stuck: the step goes on without snippets.
 */
export const RETRIEVE_TIMEOUT_MS = 30_000;
/** After a reconnect, the question is asked again this much later, so that the Curators are back too. */
export const REASK_AFTER_RECONNECT_MS = 1000;

/**
 * A `retrieve` dependency for agents; an unreachable, failing or silent Curator yields no snippets, not an
 * error. The wait ends at `timeoutMs` or when `signal` aborts, whichever comes first.
 */
export function curatorClient(mesh: MeshConnection, opts: { timeoutMs?: number; tokenBudget?: number } = {}) {
  return async (
    repoPath: string,
    commit: string,
    query: string,
    signal: AbortSignal,
  ): Promise<RetrievedSnippet[]> => {
    if (signal.aborted) return [];
    const q: CuratorQueryInput = {
      repoPath,
      commit,
      query: query.slice(0, 50_000),
      tokenBudget: opts.tokenBudget ?? 4000,
    };
    return await new Promise<RetrievedSnippet[]>((resolve) => {
      let done = false;
      const finish = (snippets: RetrievedSnippet[]) => {
        if (done) return;
        done = true;
        signal.removeEventListener('abort', onAbort);
        offReconnect();
        resolve(snippets);
      };
      const onAbort = () => finish([]);
      const ask = () =>
        void mesh.nc
          .request(subjects.curator(), JSON.stringify(q), { timeout: opts.timeoutMs ?? RETRIEVE_TIMEOUT_MS })
          .then((msg) => {
            const reply = CuratorReply.parse(msg.json());
            return reply.ok ? reply.snippets : [];
          })
          .catch(() => [])
          .then(finish);
      // A request in flight when the server died is lost with it: asked again once the connection is back,
      // instead of waiting out the whole timeout for a reply that cannot come.
      const offReconnect = mesh.onReconnect(() => setTimeout(() => !done && ask(), REASK_AFTER_RECONNECT_MS));
      signal.addEventListener('abort', onAbort, { once: true });
      ask();
    });
  };
}
