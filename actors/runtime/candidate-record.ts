// The `candidate.<task>-<attempt>-c<i>` records: written by the Coder (owner, variant, patch), the Tester
// (evidence), the conductor (a failed step) and the review step (chosen or not), each a compare-and-set that
// never moves a record back to an earlier state.
import type { Blackboard } from '../../blackboard/index.ts';
import {
  CandidateRecord,
  type CandidateState,
  type CandidatesContext,
  type JudgedCandidate,
  keys,
  type Selection,
} from '../../schemas/index.ts';

const ORDER: Record<CandidateState, number> = {
  waiting: 0,
  coding: 1,
  patched: 2,
  no_patch: 2,
  tested: 3,
  test_failed: 3,
  chosen: 4,
  not_chosen: 4,
};

export type CandidateChange = Partial<
  Omit<CandidateRecord, 'taskId' | 'attempt' | 'candidate' | 'updatedAt'>
>;

/** Applies `change` unless the record is already past its state; creates the record if there is none. */
export async function markCandidate(
  board: Blackboard,
  ref: { taskId: string; attempt: number; candidate: number },
  change: CandidateChange,
  at: string,
): Promise<CandidateRecord | undefined> {
  const e = await board.mutate(
    keys.candidate(ref.taskId, ref.attempt, ref.candidate),
    CandidateRecord,
    (cur) => {
      const base: CandidateRecord = cur ?? { ...ref, state: 'waiting', owner: null, updatedAt: at };
      if (change.state && ORDER[change.state] < ORDER[base.state]) return undefined;
      const next = { ...base, ...change, updatedAt: at };
      const same =
        cur &&
        (Object.keys(change) as Array<keyof CandidateChange>).every(
          (k) => JSON.stringify(cur[k]) === JSON.stringify(next[k]),
        );
      return same ? undefined : next;
    },
  );
  return e?.value;
}

/** Every judged candidate with its patch, evidence, test run and settings, as `selection.<task>-<n>` keeps them. */
export async function selectionEntries(
  board: Blackboard,
  ref: { taskId: string; attempt: number },
  c: CandidatesContext,
  judged: readonly JudgedCandidate[],
): Promise<Selection['candidates']> {
  return Promise.all(
    judged.map(async (j) => {
      const r = (await board.get(keys.candidate(ref.taskId, ref.attempt, j.candidate), CandidateRecord))
        ?.value;
      const code = c.code[j.candidate];
      const test = c.test[j.candidate];
      const failed =
        code && 'failed' in code ? code.failed : test && 'failed' in test ? test.failed : undefined;
      return {
        ...j,
        ...(code && 'patchId' in code ? { patchId: code.patchId } : {}),
        ...(test && !('failed' in test) ? { evidence: test } : {}),
        ...(r?.testRunId ? { testRunId: r.testRunId } : {}),
        ...(r?.variant ? { variant: r.variant } : {}),
        ...(failed !== undefined ? { reason: failed } : {}),
      };
    }),
  );
}
