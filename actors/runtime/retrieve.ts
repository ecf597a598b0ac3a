// The agents' side of retrieval: ask any Curator on the mesh (request/reply), fall back to nothing on silence.
import type { MeshConnection } from '../../blackboard/index.ts';
import {
  CuratorIndexReply,
  type CuratorIndexRequest,
  CuratorReply,
  type CuratorQueryInput,
  subjects,
} from '../../schemas/index.ts';
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

/** How long `POST /v1/repos/index` waits for a Curator to build an index (a cold large repository: minutes). */
export const INDEX_TIMEOUT_MS = 15 * 60_000;

/** A failed index request: `code` is the Curator's (`curator.unknown_commit`, ...) or `curator.unavailable`. */
export class IndexRequestError extends Error {
  override readonly name = 'IndexRequestError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The gateway's indexer on the mesh: asks any Curator (`cm.curator.index`), so the build runs in the
 * Curator's own process and cache, never on the gateway's event loop.
 */
export function curatorIndexer(mesh: MeshConnection, opts: { timeoutMs?: number } = {}) {
  return {
    async index(req: CuratorIndexRequest) {
      let reply: CuratorIndexReply;
      try {
        const msg = await mesh.nc.request(subjects.curatorIndex(), JSON.stringify(req), {
          timeout: opts.timeoutMs ?? INDEX_TIMEOUT_MS,
        });
        reply = CuratorIndexReply.parse(msg.json());
      } catch (err) {
        const e = err as Error & { code?: string };
        const none = /no responders|503/i.test(`${e.code ?? ''} ${e.message}`);
        throw new IndexRequestError(
          none ? 'curator.unavailable' : 'curator.timeout',
          none ? 'no Curator is running on the mesh' : `the Curator did not answer: ${e.message}`,
        );
      }
      if (!reply.ok) throw new IndexRequestError(reply.code, reply.error);
      const { ok: _ok, ...summary } = reply;
      return summary;
    },
  };
}
