// Recalling the experience memory: earlier tasks of the same repository (and org) whose issue text is most
// like this one, lexically (BM25 over title, issue text, plan summary and file names).
import type { Blackboard } from '../../blackboard/index.ts';
// The Curator's BM25 and tokenizer by file: its public surface loads tree-sitter, which agents do not need.
import { Bm25Index } from '../curator/bm25.ts';
import { pathTerms, termFrequencies } from '../curator/tokenize.ts';
import { MemoryEntry, type TaskRecord } from '../../schemas/index.ts';
import { memoryRepoKey } from './store.ts';

export interface Recalled {
  entry: MemoryEntry;
  score: number;
}

/** Entries read per recall at most (a repository's newest are not known from keys; any 500 of them). */
const MAX_ENTRIES = 500;
/** Distinct terms an earlier task must share with this one to count as similar. */
const MIN_SHARED_TERMS = 3;

function entryTerms(e: MemoryEntry): Map<string, number> {
  const tf = termFrequencies(`${e.title}\n${e.title}\n${e.description}\n${e.planSummary ?? ''}`);
  for (const f of e.files) pathTerms(f, tf);
  return tf;
}

/** Up to `k` earlier tasks like `task` (never itself, never another org's), best first. */
export async function recallMemories(
  board: Blackboard,
  task: TaskRecord,
  query: string,
  k = 3,
): Promise<Recalled[]> {
  const names = (await board.keys(`memory.${memoryRepoKey(task.repoPath)}.>`)).slice(0, MAX_ENTRIES);
  const org = task.orgId ?? 'default';
  const entries = (await Promise.all(names.map((key) => board.get(key, MemoryEntry).catch(() => undefined))))
    .map((e) => e?.value)
    .filter((e): e is MemoryEntry => !!e && e.taskId !== task.id && (e.orgId ?? 'default') === org);
  if (entries.length === 0) return [];
  const index = new Bm25Index();
  const terms = new Map<string, Map<string, number>>();
  for (const e of entries) {
    const tf = entryTerms(e);
    terms.set(e.taskId, tf);
    index.put(e.taskId, tf);
  }
  const q = termFrequencies(query);
  const byId = new Map(entries.map((e) => [e.taskId, e]));
  return index
    .searchSync(q, k * 4)
    .filter((h) => [...q.keys()].filter((t) => terms.get(h.id)?.has(t)).length >= MIN_SHARED_TERMS)
    .slice(0, k)
    .map((h) => ({ entry: byId.get(h.id)!, score: Math.round(h.score * 1000) / 1000 }));
}

const DIFF_SHOWN = 3_000;

/** The prompt section: each earlier task, how it ended, and its patch (cut). */
export function memorySection(recalled: readonly Recalled[]): string {
  if (recalled.length === 0) return '';
  const parts = [
    'Earlier tasks on this repository like this one (experience memory: follow what was integrated, avoid what was rejected or reverted):',
  ];
  for (const { entry: e } of recalled) {
    const review = e.review ? `; review ${e.review.decision} ${e.review.confidence.toFixed(2)}` : '';
    const tests = e.tests
      ? `; tests ${e.tests.outcome ?? '?'}, ${e.tests.fixed} fixed, ${e.tests.regressions} regressions`
      : '';
    parts.push(
      `--- ${e.title} [${e.taskId}] — ${e.outcome.toUpperCase()}${e.note ? ` (${e.note})` : ''}${tests}${review}`,
      `files: ${e.files.join(', ')}`,
      e.diff.length > DIFF_SHOWN ? `${e.diff.slice(0, DIFF_SHOWN)}\n... (cut)` : e.diff,
    );
  }
  return parts.join('\n');
}
