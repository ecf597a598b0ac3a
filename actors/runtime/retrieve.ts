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
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<RetrievedSnippet[]>((resolve) => {
      onAbort = () => resolve([]);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    const asked = mesh.nc
      .request(subjects.curator(), JSON.stringify(q), { timeout: opts.timeoutMs ?? RETRIEVE_TIMEOUT_MS })
      .then((msg) => {
        const reply = CuratorReply.parse(msg.json());
        return reply.ok ? reply.snippets : [];
      })
      .catch(() => []);
    try {
      return await Promise.race([asked, aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort!);
    }
  };
}
