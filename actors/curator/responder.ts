// The Curator as a mesh actor: answers retrieval queries over NATS request/reply (queue group, so any number
// of Curator instances share the load), with ranked files and snippets packed to a token budget. This is only
// the NATS face: on the mesh the searching itself runs in child processes (`OffloopCurator`).
import type { Subscription } from '@nats-io/transport-node';
import type { ZodError } from 'zod';
import type { MeshConnection } from '../../blackboard/index.ts';
import {
  type CuratorIndexReply,
  CuratorIndexRequest,
  CuratorQuery,
  type CuratorReply,
  subjects,
} from '../../schemas/index.ts';
import type { Curator } from './curator.ts';
import { CuratorError } from './errors.ts';
import { packContext } from './pack-context.ts';

export const CURATOR_QUEUE = 'curator';

/** What the responder needs of a Curator: `Curator` itself, or `OffloopCurator` (off the event loop). */
export type Searcher = Pick<Curator, 'search' | 'index'>;

/** A request that does not match its schema: the failure reply, naming each bad field. */
function invalid(error: ZodError): { ok: false; code: string; error: string } {
  return {
    ok: false,
    code: 'INVALID_QUERY',
    error: error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
  };
}

export async function answerQuery(curator: Searcher, raw: unknown): Promise<CuratorReply> {
  const parsed = CuratorQuery.safeParse(raw);
  if (!parsed.success) return invalid(parsed.error);
  const q = parsed.data;
  try {
    const r = await curator.search({ repoPath: q.repoPath, commit: q.commit, query: q.query, topK: q.topK });
    const packed = packContext(r.chunks, { tokenBudget: q.tokenBudget });
    const score = new Map(r.chunks.map((c) => [`${c.path}:${c.startLine}`, c.score]));
    const fileAt = new Map(r.files.map((f, i) => [f.path, { rank: i + 1, why: f.why ?? '' }] as const));
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
        why: snippetWhy(fileAt.get(s.path)),
      })),
      ms: r.ms,
    };
  } catch (err) {
    if (err instanceof CuratorError) return { ok: false, code: err.code, error: err.message };
    return { ok: false, code: 'CURATOR_FAILED', error: (err as Error).message };
  }
}

/** Why a snippet was picked: its file's place in the ranking and the signals behind it. */
export function snippetWhy(file: { rank: number; why: string } | undefined): string {
  if (!file) return "a chunk whose code matches the issue's words";
  return `file #${file.rank} of the ranking${file.why ? `: ${file.why}` : ''}`;
}

/** Builds (or loads) an index on request: `POST /v1/repos/index` runs here, in the Curator's process. */
export async function answerIndex(curator: Searcher, raw: unknown): Promise<CuratorIndexReply> {
  const parsed = CuratorIndexRequest.safeParse(raw);
  if (!parsed.success) return invalid(parsed.error);
  try {
    const s = await curator.index(parsed.data);
    const { commit, files, chunks, symbols, source, ms } = s;
    // Each mode's counts are plain numbers (IndexModes), the record the reply schema describes.
    const modes: Record<string, Record<string, number>> = { ...s.modes };
    return { ok: true, commit, files, chunks, symbols, source, ms, modes };
  } catch (err) {
    if (err instanceof CuratorError) return { ok: false, code: err.code, error: err.message };
    return { ok: false, code: 'CURATOR_FAILED', error: (err as Error).message };
  }
}

/**
 * Answers queries (`cm.curator.query`) and index requests (`cm.curator.index`) in the queue group `curator`.
 * Returns both subscriptions; unsubscribe them to stop.
 */
export function startCuratorResponder(mesh: MeshConnection, curator: Searcher): Subscription[] {
  const serve = (subject: string, answer: (c: Searcher, body: unknown) => Promise<unknown>) =>
    mesh.nc.subscribe(subject, {
      queue: CURATOR_QUEUE,
      callback: (err, msg) => {
        if (err) return;
        let body: unknown;
        try {
          body = msg.json();
        } catch {
          msg.respond(JSON.stringify({ ok: false, code: 'INVALID_JSON', error: 'the request is not JSON' }));
          return;
        }
        void answer(curator, body).then((reply) => msg.respond(JSON.stringify(reply)));
      },
    });
  return [serve(subjects.curator(), answerQuery), serve(subjects.curatorIndex(), answerIndex)];
}
