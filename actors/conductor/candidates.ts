// The conductor's side of k candidates: which candidate steps still need an award, the records of candidates
// whose step failed, and the evidence an abstained task leaves (`selection.<task>-1`).
import type { Blackboard } from '../../blackboard/index.ts';
import {
  abstainReason,
  type CandidatesContext,
  candidateInputs,
  candidateOf,
  candidatePart,
  judgeCandidates,
  keys,
  Selection,
  type TaskEvent,
  type TaskRecord,
} from '../../schemas/index.ts';
import { markCandidate, selectionEntries } from '../runtime/candidate-record.ts';

/** The candidate parts of the step still waiting for their end: every code step, then the tests of those with a patch. */
export function pendingCandidateParts(c: CandidatesContext, kind: 'code' | 'test'): string[] {
  return Array.from({ length: c.k }, (_, i) => i + 1)
    .filter((n) =>
      kind === 'code' ? c.code[n] === undefined : 'patchId' in (c.code[n] ?? {}) && c.test[n] === undefined,
    )
    .map(candidatePart);
}

/** A candidate's code or test step failed: its record says so (the task goes on with the others). */
export async function candidateStepFailed(board: Blackboard, event: TaskEvent, at: string): Promise<void> {
  const n = candidateOf(event.step?.part);
  if (n === undefined || event.type !== 'step.failed' || !event.step) return;
  const kind = event.step.kind;
  if (kind !== 'code' && kind !== 'test') return;
  await markCandidate(
    board,
    { taskId: event.taskId, attempt: event.step.attempt, candidate: n },
    { state: kind === 'code' ? 'no_patch' : 'test_failed', reason: String(event.data.reason ?? '') },
    at,
  );
}

/** What an abstained task leaves: every candidate's evidence and the reason none was chosen (write-once). */
export async function recordAbstention(
  board: Blackboard,
  task: TaskRecord,
  c: CandidatesContext,
  at: string,
): Promise<Selection> {
  const { judged } = judgeCandidates(candidateInputs(c));
  const selection: Selection = {
    taskId: task.id,
    attempt: 1,
    k: c.k,
    candidates: await selectionEntries(board, { taskId: task.id, attempt: 1 }, c, judged),
    abstained: true,
    reason: task.reason ?? abstainReason(c),
    at,
  };
  const stored = await board.putOnce(
    keys.selection(task.id, 1),
    Selection,
    selection,
    (a, b) => a.taskId === b.taskId,
  );
  await Promise.all(
    selection.candidates.map((x) =>
      x.patchId
        ? markCandidate(
            board,
            { taskId: task.id, attempt: 1, candidate: x.candidate },
            { state: 'not_chosen' },
            at,
          )
        : undefined,
    ),
  );
  return stored.entry.value;
}
