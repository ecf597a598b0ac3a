// The Curator as a mesh actor: answers retrieval queries over NATS request/reply (queue group, so any number
// of Curator instances share the load), with ranked files and snippets packed to a token budget. This is only
// the NATS face: on the mesh the searching itself runs in child processes (`OffloopCurator`).
import type { Subscription } from '@nats-io/transport-node';
import type { MeshConnection } from '../../blackboard/index.ts';
import { CuratorQuery, type CuratorReply, subjects } from '../../schemas/index.ts';
import type { Curator } from './curator.ts';
import { CuratorError } from './errors.ts';
import { packContext } from './pack-context.ts';

export const CURATOR_QUEUE = 'curator';

/** What the responder needs of a Curator: `Curator` itself, or `OffloopCurator` (off the event loop). */
export type Searcher = Pick<Curator, 'search'>;

export async function answerQuery(curator: Searcher, raw: unknown): Promise<CuratorReply> {
  const parsed = CuratorQuery.safeParse(raw);
  if (!parsed.success)
    return {
      ok: false,
      code: 'INVALID_QUERY',
      error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    };
  const q = parsed.data;
  try {
    const r = await curator.search({ repoPath: q.repoPath, commit: q.commit, query: q.query, topK: q.topK });
    const packed = packContext(r.chunks, { tokenBudget: q.tokenBudget });
    const score = new Map(r.chunks.map((c) => [`${c.path}:${c.startLine}`, c.score]));
    return {
      ok: true,
      commit: r.commit,
      files: r.files,
      snippets: packed.snippets.map((s) => ({
        path: s.path,
        startLine: s.startLine,
        endLine: s.endLine,
        symbol: s.symbol,
        text: s.text,
        score: score.get(`${s.path}:${s.startLine}`) ?? 0,
      })),
      ms: r.ms,
    };
  } catch (err) {
    if (err instanceof CuratorError) return { ok: false, code: err.code, error: err.message };
    return { ok: false, code: 'CURATOR_FAILED', error: (err as Error).message };
  }
}

export function startCuratorResponder(mesh: MeshConnection, curator: Searcher): Subscription {
  return mesh.nc.subscribe(subjects.curator(), {
    queue: CURATOR_QUEUE,
    callback: (err, msg) => {
      if (err) return;
      let body: unknown;
      try {
        body = msg.json();
      } catch {
        msg.respond(JSON.stringify({ ok: false, code: 'INVALID_JSON', error: 'the query is not JSON' }));
        return;
      }
      void answerQuery(curator, body).then((reply) => msg.respond(JSON.stringify(reply)));
    },
  });
}
