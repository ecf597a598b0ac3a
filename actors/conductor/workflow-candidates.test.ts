// The workflow of a task that asked for k candidate patches: every candidate's code and test step is recorded,
// the review step follows only when one earns selection, else the task ends abstained; duplicates change nothing.
import { describe, expect, it } from 'vitest';
import {
  applyWorkflowEvent,
  currentStep,
  initialWorkflow,
  type PersistedWorkflow,
  statusOf,
  type WorkflowEvent,
} from './workflow.ts';

const run = (w: PersistedWorkflow, ...events: WorkflowEvent[]) =>
  events.reduce((acc, e) => applyWorkflowEvent(acc, e).next, w);
const code = (c: number, diffHash = `h${c}`): WorkflowEvent => ({
  type: 'STEP_DONE',
  kind: 'code',
  attempt: 1,
  part: `c${c}`,
  data: { patchId: `t-x-p1-c${c}`, diffHash },
});
const codeFailed = (c: number): WorkflowEvent => ({
  type: 'STEP_FAILED',
  kind: 'code',
  attempt: 1,
  part: `c${c}`,
  reason: 'edits rejected 3 times',
});
const test = (
  c: number,
  outcome: string,
  fixed: number,
  regressions: number,
  baseFailed = 1,
): WorkflowEvent => ({
  type: 'STEP_DONE',
  kind: 'test',
  attempt: 1,
  part: `c${c}`,
  data: { outcome, passed: outcome === 'pass', envFault: false, baseFailed, verdict: { fixed, regressions } },
});
const plan: WorkflowEvent = { type: 'STEP_DONE', kind: 'plan', attempt: 1, data: {} };

describe('workflow with k candidates', () => {
  const start = initialWorkflow({ maxAttempts: 2, approveMode: 'auto', candidates: 3 });

  it('tests every candidate with a patch, then reviews; the review names the chosen patch', () => {
    let w = run(start, plan, code(1), codeFailed(2));
    expect(w.value).toBe('coding');
    w = run(w, code(3));
    expect(w.value).toBe('testing');
    expect(currentStep(w)).toEqual({ kind: 'test', attempt: 1 });
    // Candidate 2 has no patch: two test steps suffice.
    w = run(w, test(1, 'regression', 1, 1));
    expect(w.value).toBe('testing');
    w = run(w, test(3, 'pass', 1, 0));
    expect(w.value).toBe('reviewing');
    expect(w.context.candidates).toMatchObject({
      k: 3,
      code: {
        1: { patchId: 't-x-p1-c1' },
        2: { failed: 'edits rejected 3 times' },
        3: { patchId: 't-x-p1-c3' },
      },
      test: { 1: { outcome: 'regression', regressions: 1 }, 3: { outcome: 'pass', fixed: 1 } },
    });
    w = run(w, {
      type: 'STEP_DONE',
      kind: 'review',
      attempt: 1,
      data: { decision: 'approve', patchId: 't-x-p1' },
    });
    expect(w.value).toBe('integrating');
    expect(w.context.patchId).toBe('t-x-p1');
  });

  it('abstains when no candidate earns it (a wrong one, a regression, a timeout), with each one’s evidence', () => {
    const w = run(
      start,
      plan,
      code(1),
      code(2),
      code(3),
      test(1, 'pass', 0, 0),
      test(2, 'regression', 1, 2),
      test(3, 'timeout', 0, 0),
    );
    expect(w.value).toBe('abstained');
    expect(statusOf(w)).toBe('abstained');
    const reason = String(w.context.reason);
    expect(reason).toMatch(/^no candidate earned selection \(3 tried\)/);
    expect(reason).toContain('c1: fixes none of the 1 test(s) failing on the base commit');
    expect(reason).toContain('c2: tests regression (2 regression(s))');
    expect(reason).toContain('c3: tests timeout');
    // Ended: nothing moves it.
    expect(applyWorkflowEvent(w, { type: 'BUDGET_EXCEEDED', reason: 'x' }).changed).toBe(false);
    expect(currentStep(w)).toBeUndefined();
  });

  it('abstains at once when no candidate left a patch', () => {
    const w = run(start, plan, codeFailed(1), codeFailed(2), codeFailed(3));
    expect(w.value).toBe('abstained');
    expect(String(w.context.reason)).toContain('c2: no patch (edits rejected 3 times)');
  });

  it('takes each candidate event once, ignores other attempts and numbers above k', () => {
    const w = run(start, plan, code(1));
    expect(applyWorkflowEvent(w, code(1, 'other')).changed).toBe(false);
    expect(applyWorkflowEvent(w, code(4)).changed).toBe(false);
    expect(applyWorkflowEvent(w, { ...code(2), attempt: 2 } as WorkflowEvent).changed).toBe(false);
    // A whole-step code event (no part) does not end a candidate attempt.
    const whole: WorkflowEvent = { type: 'STEP_DONE', kind: 'code', attempt: 1, data: { patchId: 't-x-p1' } };
    expect(applyWorkflowEvent(w, whole).next.value).toBe('coding');
  });

  it('a repeated candidate test event does not skip the review', () => {
    const w = run(start, plan, code(1), code(2), code(3), test(1, 'pass', 1, 0), test(2, 'pass', 1, 0));
    expect(w.value).toBe('testing');
    expect(applyWorkflowEvent(w, test(2, 'pass', 1, 0)).changed).toBe(false);
  });

  it('fails, not abstains, when the tests cannot run for any candidate', () => {
    const envFault = (c: number): WorkflowEvent => ({
      type: 'STEP_DONE',
      kind: 'test',
      attempt: 1,
      part: `c${c}`,
      data: { outcome: 'env_error', envFault: true, reason: 'pytest: unknown option' },
    });
    const w = run(start, plan, code(1), code(2), code(3), envFault(1), envFault(2), envFault(3));
    expect(w.value).toBe('failed');
    expect(String(w.context.reason)).toBe('tests never ran: pytest: unknown option');
  });

  it('a revision after the choice is one Coder pass from the chosen patch (no candidates in attempt 2)', () => {
    let w = run(start, plan, code(1), code(2), code(3), test(1, 'pass', 1, 0), test(2, 'pass', 1, 0));
    w = run(w, test(3, 'pass', 1, 0), {
      type: 'STEP_DONE',
      kind: 'review',
      attempt: 1,
      data: { decision: 'revise', critique: 'name it better', patchId: 't-x-p1' },
    });
    expect(w.value).toBe('coding');
    // It starts from the chosen patch (the review step copied it to the attempt's patch id).
    expect(w.context).toMatchObject({ attempt: 2, critique: 'name it better', revisionOf: 't-x-p1' });
    w = run(w, { type: 'STEP_DONE', kind: 'code', attempt: 2, data: { patchId: 't-x-p2' } });
    expect(w.value).toBe('testing');
    expect(w.context.patchId).toBe('t-x-p2');
  });

  it('candidates that end while another one waits at the budget gate are kept; the raise goes on from there', () => {
    let w = run(start, plan, code(1), {
      type: 'BUDGET_PAUSED',
      kind: 'code',
      attempt: 1,
      reason: 'soft modelCalls limit',
    });
    expect(w.value).toBe('awaiting_budget');
    w = run(w, code(2), code(3));
    expect(w.value).toBe('awaiting_budget');
    w = run(w, { type: 'BUDGET_RAISED' });
    // Every candidate's code step had ended: the raise leads straight on to their tests.
    expect(w.value).toBe('testing');
  });

  it('an unreproduced candidate (its added tests pass without its fix) does not earn selection', () => {
    // Beside a passing candidate it is passed over; alone with failing ones the task abstains.
    const w = run(
      start,
      plan,
      code(1),
      code(2),
      code(3),
      test(1, 'unreproduced', 0, 0),
      test(2, 'regression', 0, 1),
    );
    expect(run(w, test(3, 'pass', 1, 0)).value).toBe('reviewing');
    const none = run(w, test(3, 'unreproduced', 1, 0));
    expect(none.value).toBe('abstained');
    expect(String(none.context.reason)).toContain('c1: tests unreproduced');
    expect(String(none.context.reason)).toContain('c3: tests unreproduced');
  });

  it('at a manual gate the chosen patch is kept through a change request; a failed revision returns with it', () => {
    const manual = initialWorkflow({ maxAttempts: 3, approveMode: 'manual', candidates: 3 });
    let w = run(manual, plan, code(1), code(2), code(3), test(1, 'pass', 0, 0), test(2, 'pass', 1, 0));
    w = run(w, test(3, 'regression', 0, 1), {
      type: 'STEP_DONE',
      kind: 'review',
      attempt: 1,
      data: { decision: 'approve', patchId: 't-x-p1' },
    });
    expect(w.value).toBe('awaiting_approval');
    expect(w.context.patchId).toBe('t-x-p1');
    w = run(w, { type: 'CHANGES_REQUESTED', patchId: 't-x-p1', comment: 'rename it' });
    expect(w.value).toBe('coding');
    expect(w.context).toMatchObject({ attempt: 2, keptPatchId: 't-x-p1', revisionOf: 't-x-p1' });
    // Attempt 2 has no candidates: a candidate-part event is no longer taken, the whole step's failure is.
    expect(applyWorkflowEvent(w, { ...code(1), attempt: 2 } as WorkflowEvent).changed).toBe(false);
    w = run(w, { type: 'STEP_FAILED', kind: 'code', attempt: 2, reason: 'edits rejected 3 times' });
    expect(w.value).toBe('awaiting_approval');
    expect(w.context).toMatchObject({
      patchId: 't-x-p1',
      revisionFailed: { attempt: 2, patchId: 't-x-p1', reason: 'edits rejected 3 times' },
    });
    expect(run(w, { type: 'APPROVED', patchId: 't-x-p1' }).value).toBe('integrating');
  });

  it('k = 1 is the one-pass workflow', () => {
    const one = initialWorkflow({ maxAttempts: 2, approveMode: 'auto', candidates: 1 });
    expect(one.context.candidates).toBeUndefined();
  });
});
