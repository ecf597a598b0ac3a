// The agents' side of retrieval: ask any Curator on the mesh (request/reply), fall back to nothing on silence.
import type { MeshConnection } from '../../blackboard/index.ts';
import { CuratorReply, type CuratorQueryInput, subjects } from '../../schemas/index.ts';
import type { RetrievedSnippet } from './types.ts';

/** A `retrieve` dependency for agents; an unreachable or failing Curator yields no snippets, not an error. */
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
    try {
      const msg = await mesh.nc.request(subjects.curator(), JSON.stringify(q), {
        timeout: opts.timeoutMs ?? 60_000,
      });
      const reply = CuratorReply.parse(msg.json());
      return reply.ok ? reply.snippets : [];
    } catch {
      return [];
    }
  };
}
