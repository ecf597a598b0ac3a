// Writing the experience memory: an ended task's patch, plan, review and tests with how it ended.
import type { Blackboard } from '../../blackboard/index.ts';
import { redactText } from '../policy/secrets.ts';
import {
  hashKey,
  keys,
  MemoryEntry,
  type MemoryOutcome,
  Patch,
  Plan,
  Review,
  TaskRecord,
  type TaskEvent,
  TestRun,
} from '../../schemas/index.ts';

const DESCRIPTION_MAX = 4_000;
/**
 * Every text of an entry goes through the secret scanner again: the patch on the blackboard is already
 * redacted, but an issue text, a critique or a person's comment may hold a token, and entries reach prompts,
 * the record and an embedding endpoint.
 */
const clean = (text: string): string => redactText(text).text;
const DIFF_MAX = 20_000;
const NOTE_MAX = 1_000;

/** The key segment of a repository's memories. */
export const memoryRepoKey = (repoPath: string): string => hashKey(repoPath);

/**
 * What an event means for the memory: a commit (`integrate.committed`, its patch) → integrated; a rollback →
 * reverted; a person's change request at the gate (its patch and comment) → rejected; a task that failed after
 * its Reviewer asked for a revision (its last patch) → rejected. Anything else: nothing to store.
 */
export function memoryCause(
  e: TaskEvent,
):
  | { kind: 'integrated'; patchId: string }
  | { kind: 'reverted' }
  | { kind: 'failed' }
  | { kind: 'changes'; patchId: string; note: string }
  | undefined {
  if (e.type === 'integrate.committed' && typeof e.data.patchId === 'string')
    return { kind: 'integrated', patchId: e.data.patchId };
  if (e.type === 'task.rolled_back') return { kind: 'reverted' };
  if (e.type === 'task.failed') return { kind: 'failed' };
  if (e.type === 'approval.changes_requested' && typeof e.data.patchId === 'string') {
    const who =
      typeof e.data.byName === 'string' ? e.data.byName : typeof e.data.by === 'string' ? e.data.by : '';
    const comment = typeof e.data.comment === 'string' ? e.data.comment.trim() : '';
    return {
      kind: 'changes',
      patchId: e.data.patchId,
      note: `changes requested${who ? ` by ${who}` : ''}${comment ? `: ${comment}` : ' (no comment)'}`,
    };
  }
  return undefined;
}

/** The entry for `patchId` of a task, read from the blackboard; undefined when its patch is gone. */
export async function memoryEntry(
  board: Blackboard,
  task: TaskRecord,
  patchId: string,
  outcome: MemoryOutcome,
  now: string,
  note?: string,
): Promise<MemoryEntry | undefined> {
  const patch = (await board.get(keys.patch(patchId), Patch))?.value;
  if (!patch) return undefined;
  const [plan, review, run] = await Promise.all([
    board.get(keys.plan(task.id), Plan),
    board.get(keys.review(task.id, patch.attempt), Review),
    board.get(keys.testrun(task.id, patch.attempt), TestRun),
  ]);
  const v = run?.value.verdict;
  return MemoryEntry.parse({
    taskId: task.id,
    repoPath: task.repoPath,
    ...(task.orgId ? { orgId: task.orgId } : {}),
    title: clean(task.request.title),
    description: clean(task.request.description.slice(0, DESCRIPTION_MAX)),
    ...(plan ? { planSummary: clean(plan.value.summary) } : {}),
    patchId,
    files: patch.files,
    diff: clean(patch.diff.slice(0, DIFF_MAX)),
    ...(review
      ? {
          review: {
            decision: review.value.decision,
            confidence: review.value.confidence,
            critique: clean(review.value.critique.slice(0, 1000)),
          },
        }
      : {}),
    ...(run
      ? {
          tests: {
            ...(run.value.outcome ? { outcome: run.value.outcome } : {}),
            fixed: v?.fixed.length ?? 0,
            regressions: v?.regressions.length ?? 0,
          },
        }
      : {}),
    outcome,
    ...(note ? { note: clean(note.slice(0, NOTE_MAX)) } : {}),
    createdAt: now,
    updatedAt: now,
  });
}

/**
 * Applies one event to the memory; returns what was stored (for the `memory.stored` event), or undefined.
 * Idempotent: a redelivered event writes the same entry again. A rejection never overwrites an integrated or
 * reverted entry of the same patch (a change request may be followed by an approval of that very patch).
 */
export async function rememberEvent(
  board: Blackboard,
  e: TaskEvent,
  now: string,
): Promise<MemoryEntry | undefined> {
  const cause = memoryCause(e);
  if (!cause) return undefined;
  const task = (await board.get(keys.task(e.taskId), TaskRecord))?.value;
  if (!task) return undefined;
  const repoKey = memoryRepoKey(task.repoPath);
  const key = (patchId: string) => keys.memory(repoKey, task.id, patchId);
  if (cause.kind === 'integrated') {
    const entry = await memoryEntry(board, task, cause.patchId, 'integrated', now);
    return entry && store(board, key(cause.patchId), entry, false);
  }
  if (cause.kind === 'changes') {
    const entry = await memoryEntry(board, task, cause.patchId, 'rejected', now, cause.note);
    return entry && store(board, key(cause.patchId), entry, true);
  }
  if (cause.kind === 'reverted') {
    const note = `rolled back${task.rollbackBranch ? ` on ${task.rollbackBranch}` : ''}`;
    let last: MemoryEntry | undefined;
    for (const k of await board.keys(keys.memoryOfTask(repoKey, task.id))) {
      const stored = await board.mutate(k, MemoryEntry, (was) =>
        was && was.outcome !== 'rejected'
          ? { ...was, outcome: 'reverted' as const, note, updatedAt: now }
          : undefined,
      );
      last = stored?.value.outcome === 'reverted' ? stored.value : last;
    }
    return last;
  }
  // Failed: worth remembering only when a patch was reviewed and sent back (not an outage or a budget stop).
  for (let attempt = task.attempt; attempt >= 1; attempt--) {
    const review = (await board.get(keys.review(task.id, attempt), Review))?.value;
    if (!review) continue;
    if (review.decision !== 'revise') return undefined;
    const entry = await memoryEntry(board, task, review.patchId, 'rejected', now, task.reason);
    return entry && store(board, key(review.patchId), entry, true);
  }
  return undefined;
}

/**
 * Writes an entry, keeping the first `createdAt` of the key (a redelivery rewrites the same entry). A
 * rejection leaves an integrated or reverted entry as it is (and returns undefined: nothing new stored).
 */
async function store(
  board: Blackboard,
  key: string,
  entry: MemoryEntry,
  rejection: boolean,
): Promise<MemoryEntry | undefined> {
  let kept = false;
  const stored = await board.mutate(key, MemoryEntry, (was) => {
    if (rejection && was && was.outcome !== 'rejected') {
      kept = true;
      return undefined;
    }
    return { ...entry, createdAt: was?.createdAt ?? entry.createdAt };
  });
  return kept ? undefined : stored?.value;
}
