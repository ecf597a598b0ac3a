// Recalling the experience memory: earlier patches of the same repository (and org) like this task. Asked of
// the recorder, which holds the entries as rows (vector kNN where pgvector and an embedding model exist, and
// words); with no recorder on the mesh, by words over the blackboard's entries of the repository.
import type { Blackboard, MeshConnection } from '../../blackboard/index.ts';
// The Curator's BM25 and tokenizer by file: its public surface loads tree-sitter, which agents do not need.
import { Bm25Index } from '../curator/bm25.ts';
import { pathTerms, termFrequencies } from '../curator/tokenize.ts';
import {
  keys,
  MemoryEntry,
  type MemoryRecallQueryInput,
  MemoryRecallReply,
  type RecalledMemory,
  subjects,
  type TaskRecord,
} from '../../schemas/index.ts';
import { memoryRepoKey } from './store.ts';

export type Recalled = RecalledMemory;

/** How long a step waits for the recorder's answer before recalling from the blackboard instead. */
export const RECALL_TIMEOUT_MS = 5_000;
/** Entries read per blackboard recall at most (the fallback only: a repository's newest are not known from keys). */
const MAX_ENTRIES = 500;
/** Distinct terms an earlier task must share with this one to count as similar. */
const MIN_SHARED_TERMS = 3;

function entryTerms(e: MemoryEntry): Map<string, number> {
  const tf = termFrequencies(`${e.title}\n${e.title}\n${e.description}\n${e.planSummary ?? ''}`);
  for (const f of e.files) pathTerms(f, tf);
  return tf;
}

/**
 * Up to `k` earlier patches like `task` (never its own, never another org's), best first: the recorder's
 * answer, or — when no recorder answers (none on the mesh, or silent past `RECALL_TIMEOUT_MS`) — the
 * blackboard's, by words.
 */
export async function recallMemories(
  mesh: Pick<MeshConnection, 'nc' | 'board'>,
  task: TaskRecord,
  query: string,
  k = 3,
  opts: { timeoutMs?: number } = {},
): Promise<Recalled[]> {
  const q: MemoryRecallQueryInput = {
    repoPath: task.repoPath,
    ...(task.orgId ? { orgId: task.orgId } : {}),
    taskId: task.id,
    query: query.slice(0, 50_000),
    k,
  };
  const reply = await mesh.nc
    .request(subjects.memoryRecall(), JSON.stringify(q), { timeout: opts.timeoutMs ?? RECALL_TIMEOUT_MS })
    .then((m) => MemoryRecallReply.parse(m.json()))
    .catch(() => undefined);
  if (reply?.ok) return reply.memories.map((m) => ({ ...m, from: 'record' as const }));
  return recallFromBoard(mesh.board, task, query, k);
}

/** Recall by words over the blackboard's entries of the repository (at most 500 read). */
export async function recallFromBoard(
  board: Blackboard,
  task: TaskRecord,
  query: string,
  k = 3,
): Promise<Recalled[]> {
  const names = (await board.keys(keys.memoryOfRepo(memoryRepoKey(task.repoPath)))).slice(0, MAX_ENTRIES);
  const org = task.orgId ?? 'default';
  const entries = (await Promise.all(names.map((key) => board.get(key, MemoryEntry).catch(() => undefined))))
    .map((e) => e?.value)
    .filter((e): e is MemoryEntry => !!e && e.taskId !== task.id && (e.orgId ?? 'default') === org);
  if (entries.length === 0) return [];
  const index = new Bm25Index();
  const terms = new Map<string, Map<string, number>>();
  for (const e of entries) {
    const tf = entryTerms(e);
    terms.set(e.patchId, tf);
    index.put(e.patchId, tf);
  }
  const q = termFrequencies(query);
  const byId = new Map(entries.map((e) => [e.patchId, e]));
  return index
    .searchSync(q, k * 4)
    .filter((h) => [...q.keys()].filter((t) => terms.get(h.id)?.has(t)).length >= MIN_SHARED_TERMS)
    .slice(0, k)
    .map((h) => ({
      entry: byId.get(h.id)!,
      score: Math.round(h.score * 1000) / 1000,
      via: ['lexical' as const],
      from: 'board' as const,
    }));
}

const DIFF_SHOWN = 3_000;

/**
 * The prompt section: each earlier patch (its task and how it was found), how it ended and why, and the patch
 * (cut). A rejected or reverted approach comes with the rule that proposing it again must be said.
 */
export function memorySection(recalled: readonly Recalled[]): string {
  if (recalled.length === 0) return '';
  const parts = [
    'Earlier tasks on this repository like this one (experience memory: follow what was integrated, avoid what was rejected or reverted):',
  ];
  for (const { entry: e, via } of recalled) {
    const review = e.review ? `; review ${e.review.decision} ${e.review.confidence.toFixed(2)}` : '';
    const tests = e.tests
      ? `; tests ${e.tests.outcome ?? '?'}, ${e.tests.fixed} fixed, ${e.tests.regressions} regressions`
      : '';
    parts.push(
      `--- ${e.title} [${e.taskId}] — ${e.outcome.toUpperCase()}${e.note ? ` (${e.note})` : ''}${tests}${review}`,
      `source: task ${e.taskId}, patch ${e.patchId}, found by ${via.join(' and ')}; files: ${e.files.join(', ')}`,
      e.diff.length > DIFF_SHOWN ? `${e.diff.slice(0, DIFF_SHOWN)}\n... (cut)` : e.diff,
    );
  }
  if (recalled.some((r) => r.entry.outcome !== 'integrated'))
    parts.push(
      'An approach marked REJECTED or REVERTED above was turned down: do not propose it again; if you still do, ' +
        'say so explicitly ("this repeats the rejected approach of <task>") and why it is right this time.',
    );
  return parts.join('\n');
}
