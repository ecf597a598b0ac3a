import { describe, expect, it } from 'vitest';
import {
  applyWorkflowEvent,
  approvablePatches,
  currentStep,
  initialWorkflow,
  type PersistedWorkflow,
  reproducePending,
  type WorkflowEvent,
} from './workflow.ts';

const run = (w: PersistedWorkflow, ...events: WorkflowEvent[]) =>
  events.reduce((acc, e) => applyWorkflowEvent(acc, e).next, w);
const done = (
  kind: 'plan' | 'code' | 'test' | 'review' | 'integrate',
  attempt: number,
  data: Record<string, unknown> = {},
) => ({ type: 'STEP_DONE', kind, attempt, data }) as const;

describe('task workflow', () => {
  const start = initialWorkflow({ maxAttempts: 2, approveMode: 'manual' });

  it('walks plan → code → test → review → gate → integrate → completed', () => {
    let w = run(start, done('plan', 1), done('code', 1, { patchId: 't-x-p1' }), done('test', 1));
    expect(currentStep(w)).toEqual({ kind: 'review', attempt: 1 });
    w = run(w, done('review', 1, { decision: 'approve' }));
    expect(w.value).toBe('awaiting_approval');
    expect(currentStep(w)).toBeUndefined();
    w = run(w, { type: 'APPROVED', patchId: 't-x-p1' });
    expect(w.value).toBe('integrating');
    w = run(w, done('integrate', 1, { branch: 'codemesh/t-x', commit: 'abc' }));
    expect(w.value).toBe('completed');
    expect(w.context).toMatchObject({ branch: 'codemesh/t-x', commit: 'abc' });
  });

  it('sends a revision back to coding with the critique, and fails when attempts run out', () => {
    let w = run(start, done('plan', 1), done('code', 1, { patchId: 'p1' }), done('test', 1));
    w = run(w, done('review', 1, { decision: 'revise', critique: 'wrong sign' }));
    expect(w.value).toBe('coding');
    expect(w.context).toMatchObject({ attempt: 2, critique: 'wrong sign' });
    w = run(
      w,
      done('code', 2, { patchId: 'p2' }),
      done('test', 2),
      done('review', 2, { decision: 'revise', critique: 'still' }),
    );
    expect(w.value).toBe('failed');
    expect(String(w.context.reason)).toMatch(/attempt budget/);
  });

  it('a patch blocked by the policy alone waits at the gate once its revisions are used up (auto mode too)', () => {
    const blocked = {
      decision: 'revise',
      critique: 'The policy check blocks',
      policyBlocked: ['py-eval-exec'],
    };
    for (const approveMode of ['manual', 'auto'] as const) {
      let w = run(
        initialWorkflow({ maxAttempts: 2, approveMode }),
        done('plan', 1),
        done('code', 1, { patchId: 'p1' }),
        done('test', 1),
        done('review', 1, blocked),
      );
      // An attempt left: the Coder gets the remediation first.
      expect(w.value).toBe('coding');
      w = run(w, done('code', 2, { patchId: 'p2' }), done('test', 2), done('review', 2, blocked));
      expect(w.value).toBe('awaiting_approval');
      expect(w.context).toMatchObject({ patchId: 'p2', policyBlocked: ['py-eval-exec'], gate: 1 });
      expect(approvablePatches(w).approve).toEqual(['p2']);
      expect(run(w, { type: 'APPROVED', patchId: 'p2' }).value).toBe('integrating');
    }
    // Any other refusal with no attempt left still fails the task.
    const w = run(
      initialWorkflow({ maxAttempts: 1, approveMode: 'manual' }),
      done('plan', 1),
      done('code', 1, { patchId: 'p1' }),
      done('test', 1),
      done('review', 1, { decision: 'revise', critique: 'wrong', policyBlocked: [] }),
    );
    expect(w.value).toBe('failed');
  });

  it('with docs on, an approved review goes to the Doc Writer, whose end (done or failed) goes on to the gate', () => {
    const docs = initialWorkflow({ maxAttempts: 2, approveMode: 'manual', docs: true });
    let w = run(docs, done('plan', 1), done('code', 1, { patchId: 'p1' }), done('test', 1));
    w = run(w, done('review', 1, { decision: 'approve' }));
    expect(w.value).toBe('documenting');
    expect(currentStep(w)).toEqual({ kind: 'docs', attempt: 1 });
    expect(applyWorkflowEvent(w, { type: 'APPROVED', patchId: 'p1' }).changed).toBe(false);
    const ok = run(w, { type: 'STEP_DONE', kind: 'docs', attempt: 1, data: { docsId: 'p1-docs' } });
    expect(ok.value).toBe('awaiting_approval');
    expect(ok.context).toMatchObject({ docsAttempt: 1, gate: 1 });
    const failed = run(w, { type: 'STEP_FAILED', kind: 'docs', attempt: 1, reason: 'no answer' });
    expect(failed.value).toBe('awaiting_approval');
    expect(failed.context).toMatchObject({ docsAttempt: 1, docsFailed: 'no answer' });
    // Auto mode: documented, then integrated; without docs, no documenting state at all.
    const auto = run(
      initialWorkflow({ maxAttempts: 1, approveMode: 'auto', docs: true }),
      done('plan', 1),
      done('code', 1, { patchId: 'p1' }),
      done('test', 1),
      done('review', 1, { decision: 'approve' }),
    );
    expect(auto.value).toBe('documenting');
    expect(run(auto, { type: 'STEP_DONE', kind: 'docs', attempt: 1, data: {} }).value).toBe('integrating');
    expect(
      run(
        start,
        done('plan', 1),
        done('code', 1, { patchId: 'p1' }),
        done('test', 1),
        done('review', 1, { decision: 'approve' }),
      ).value,
    ).toBe('awaiting_approval');
  });

  it('ignores duplicate and stale events (idempotent under redelivery)', () => {
    const w = run(start, done('plan', 1), done('code', 1, { patchId: 'p1' }));
    expect(applyWorkflowEvent(w, done('code', 1, { patchId: 'p1' })).changed).toBe(false);
    expect(applyWorkflowEvent(w, done('plan', 1)).changed).toBe(false);
    expect(applyWorkflowEvent(w, done('test', 2)).changed).toBe(false);
  });

  it('approves only the patch that is waiting, and auto mode skips the gate', () => {
    const w = run(
      start,
      done('plan', 1),
      done('code', 1, { patchId: 'p1' }),
      done('test', 1),
      done('review', 1, { decision: 'approve' }),
    );
    expect(applyWorkflowEvent(w, { type: 'APPROVED', patchId: 'p0' }).changed).toBe(false);
    const auto = run(
      initialWorkflow({ maxAttempts: 2, approveMode: 'auto' }),
      done('plan', 1),
      done('code', 1, { patchId: 'p1' }),
      done('test', 1),
      done('review', 1, { decision: 'approve' }),
    );
    expect(auto.value).toBe('integrating');
  });

  it('a failed step or an exceeded budget fails the task with the reason', () => {
    expect(
      run(start, { type: 'STEP_FAILED', kind: 'plan', attempt: 1, reason: 'no JSON' }).context.reason,
    ).toBe('no JSON');
    const w = run(start, done('plan', 1), { type: 'BUDGET_EXCEEDED', reason: 'budget: $6 of $5' });
    expect(w.value).toBe('failed');
  });

  it('a dead-lettered event fails a task under way; after its commit only a rollback under way stops', () => {
    const reason = 'the conductor gave up on event t-x:created: dead letter 3';
    const planning = run(start, { type: 'DEAD_LETTER', reason });
    expect(planning.value).toBe('failed');
    expect(planning.context.reason).toBe(reason);
    const gate = run(start, done('plan', 1), done('code', 1, { patchId: 'p1' }), done('test', 1));
    expect(run(gate, done('review', 1, { decision: 'approve' }), { type: 'DEAD_LETTER', reason }).value).toBe(
      'failed',
    );
    const completed = run(
      gate,
      done('review', 1, { decision: 'approve' }),
      { type: 'APPROVED', patchId: 'p1' },
      done('integrate', 1, { branch: 'codemesh/t-x', commit: 'abc' }),
    );
    expect(applyWorkflowEvent(completed, { type: 'DEAD_LETTER', reason }).changed).toBe(false);
    const rollingBack = run(completed, { type: 'ROLLBACK', by: 'u' }, { type: 'DEAD_LETTER', reason });
    expect(rollingBack.value).toBe('completed');
    expect(rollingBack.context.reason).toBe(reason);
    expect(applyWorkflowEvent(planning, { type: 'DEAD_LETTER', reason: 'again' }).changed).toBe(false);
  });

  it('a cancel (a cancelled campaign) fails a task under way or at a gate, never one already integrated', () => {
    const reason = 'campaign cancelled (cancelled by u-boss)';
    const cancelled = run(start, { type: 'CANCEL', reason });
    expect(cancelled.value).toBe('failed');
    expect(cancelled.context.reason).toBe(reason);
    const gate = run(
      start,
      done('plan', 1),
      done('code', 1, { patchId: 'p1' }),
      done('test', 1),
      done('review', 1, { decision: 'approve' }),
    );
    expect(gate.value).toBe('awaiting_approval');
    expect(run(gate, { type: 'CANCEL', reason }).value).toBe('failed');
    const completed = run(
      gate,
      { type: 'APPROVED', patchId: 'p1' },
      done('integrate', 1, { branch: 'codemesh/t-x', commit: 'abc' }),
    );
    expect(applyWorkflowEvent(completed, { type: 'CANCEL', reason }).changed).toBe(false);
  });

  it('tests that cannot run (the base commit fails the same way) end the task saying so, without a review', () => {
    const w = run(
      start,
      done('plan', 1),
      done('code', 1, { patchId: 'p1' }),
      done('test', 1, {
        outcome: 'env_error',
        envFault: true,
        reason: 'tests never ran: command not found: pytest',
      }),
    );
    expect(w.value).toBe('failed');
    expect(w.context.reason).toBe('tests never ran: command not found: pytest');
  });

  it('a suite that times out on the base commit too ends the task as a timeout', () => {
    const w = run(
      start,
      done('plan', 1),
      done('code', 1, { patchId: 'p1' }),
      done('test', 1, {
        outcome: 'timeout',
        envFault: true,
        reason: 'timed out after 300s (on the base commit too)',
      }),
    );
    expect(w.value).toBe('failed');
    expect(w.context.reason).toBe('the tests never finished: timed out after 300s (on the base commit too)');
  });

  it('a regression or a timeout caused by the patch still goes to review', () => {
    const w = run(
      start,
      done('plan', 1),
      done('code', 1, { patchId: 'p1' }),
      done('test', 1, { outcome: 'timeout', envFault: false, reason: 'timed out after 300s' }),
    );
    expect(w.value).toBe('reviewing');
    // A stale test event of another attempt cannot end the task.
    const stale = applyWorkflowEvent(w, done('test', 3, { outcome: 'env_error', envFault: true }));
    expect(stale.changed).toBe(false);
  });

  it('the post-plan gate holds the plan until a human decides: approve → coding, reject → failed', () => {
    const gated = initialWorkflow({ maxAttempts: 2, approveMode: 'manual', planGate: true });
    const w = run(gated, done('plan', 1));
    expect(w.value).toBe('awaiting_plan_approval');
    expect(currentStep(w)).toBeUndefined();
    // Nothing but the plan decision moves it: a stray code result or a patch approval changes nothing.
    expect(applyWorkflowEvent(w, done('code', 1, { patchId: 'p1' })).changed).toBe(false);
    expect(applyWorkflowEvent(w, { type: 'APPROVED', patchId: 'p1' }).changed).toBe(false);
    const approved = run(w, { type: 'PLAN_APPROVED' });
    expect(approved.value).toBe('coding');
    expect(currentStep(approved)).toEqual({ kind: 'code', attempt: 1 });
    // A redelivered decision after the gate is a no-op.
    expect(applyWorkflowEvent(approved, { type: 'PLAN_APPROVED' }).changed).toBe(false);
    const rejected = run(w, { type: 'PLAN_REJECTED', comment: 'touches the wrong module' });
    expect(rejected.value).toBe('failed');
    expect(rejected.context.reason).toBe('plan rejected: touches the wrong module');
    // Without the gate a plan decision is ignored, and tasks from before the gate (no planGate) go on.
    expect(
      applyWorkflowEvent(run(start, done('plan', 1)), { type: 'PLAN_REJECTED', comment: '' }).changed,
    ).toBe(false);
    expect(run(start, done('plan', 1)).value).toBe('coding');
  });

  it('the budget gate: a soft-limit pause of the current step waits, a raise resumes it, a stop fails', () => {
    const coding = run(start, done('plan', 1));
    const pause = { type: 'BUDGET_PAUSED', kind: 'code', attempt: 1, reason: 'soft budget: ...' } as const;
    const paused = run(coding, pause);
    expect(paused.value).toBe('awaiting_budget');
    expect(currentStep(paused)).toBeUndefined();
    // A step outcome arriving at the gate changes nothing; a raise goes back to the step, same attempt.
    expect(applyWorkflowEvent(paused, done('code', 1, { patchId: 'p1' })).changed).toBe(false);
    const resumed = run(paused, { type: 'BUDGET_RAISED' });
    expect(resumed.value).toBe('coding');
    expect(currentStep(resumed)).toEqual({ kind: 'code', attempt: 1 });
    const stopped = run(paused, { type: 'BUDGET_STOPPED', reason: 'stopped at the budget gate by ann' });
    expect(stopped.value).toBe('failed');
    expect(stopped.context.reason).toBe('stopped at the budget gate by ann');
    // A pause of a step the task no longer waits for (stale, another attempt) is dropped.
    expect(applyWorkflowEvent(coding, { ...pause, kind: 'review' }).changed).toBe(false);
    expect(applyWorkflowEvent(coding, { ...pause, attempt: 2 }).changed).toBe(false);
    // A raise off the gate does nothing; a hard limit at the gate fails the task.
    expect(applyWorkflowEvent(coding, { type: 'BUDGET_RAISED' }).changed).toBe(false);
    expect(run(paused, { type: 'BUDGET_EXCEEDED', reason: 'budget: ran 9 s of 5 s wall time' }).value).toBe(
      'failed',
    );
    // The planner's pause resumes planning.
    const planPaused = run(start, { ...pause, kind: 'plan' });
    expect(run(planPaused, { type: 'BUDGET_RAISED' }).value).toBe('planning');
  });
});

describe('never losing an approved patch (a change request at the gate)', () => {
  const start = initialWorkflow({ maxAttempts: 3, approveMode: 'manual' });
  const atGate = run(
    start,
    done('plan', 1),
    done('code', 1, { patchId: 'p1' }),
    done('test', 1),
    done('review', 1, { decision: 'approve' }),
  );
  const changes = { type: 'CHANGES_REQUESTED', patchId: 'p1', comment: 'also handle NaN' } as const;
  const revising = run(atGate, changes);

  it('keeps the patch a human asked changes on approvable while its revision runs', () => {
    expect(atGate.context.gate).toBe(1);
    expect(revising.value).toBe('coding');
    expect(revising.context).toMatchObject({
      attempt: 2,
      keptPatchId: 'p1',
      revisionOf: 'p1',
      critique: 'A human reviewer requested changes: also handle NaN',
    });
    expect(approvablePatches(revising)).toEqual({ approve: ['p1'], requestChanges: [] });
    // Approving it during the revision integrates it; the revision's late results change nothing.
    const approved = run(revising, { type: 'APPROVED', patchId: 'p1' });
    expect(approved.value).toBe('integrating');
    expect(approved.context.patchId).toBe('p1');
    expect(applyWorkflowEvent(approved, done('code', 2, { patchId: 'p2' })).changed).toBe(false);
    expect(applyWorkflowEvent(revising, { type: 'APPROVED', patchId: 'p0' }).changed).toBe(false);
  });

  it.each([
    ['the Coder fails', [{ type: 'STEP_FAILED', kind: 'code', attempt: 2, reason: 'no edit applied' }]],
    [
      'the tests cannot run',
      [
        done('code', 2, { patchId: 'p2' }),
        { type: 'STEP_FAILED', kind: 'test', attempt: 2, reason: 'bwrap' },
      ],
    ],
    [
      'the Reviewer keeps asking for revisions',
      [
        done('code', 2, { patchId: 'p2' }),
        done('test', 2),
        done('review', 2, { decision: 'revise', critique: 'no' }),
        done('code', 3, { patchId: 'p3' }),
        done('test', 3),
        done('review', 3, { decision: 'revise', critique: 'still no' }),
      ],
    ],
    ['a hard limit is reached', [{ type: 'BUDGET_EXCEEDED', reason: 'budget: $6 of $5' }]],
  ] as Array<[string, WorkflowEvent[]]>)(
    'when %s, the task is back at the gate with the earlier patch',
    (_, events) => {
      const back = run(revising, ...events);
      expect(back.value).toBe('awaiting_approval');
      expect(back.context.patchId).toBe('p1');
      expect(back.context.gate).toBe(2);
      expect(back.context.revisionFailed).toMatchObject({ patchId: 'p1', reason: expect.any(String) });
      expect(String((back.context.revisionFailed as { reason: string }).reason)).not.toBe('');
      expect(back.context.reason).toBeUndefined();
      expect(approvablePatches(back).approve).toEqual(['p1']);
      // ... and approving it integrates that patch.
      const approved = run(back, { type: 'APPROVED', patchId: 'p1' });
      expect(approved.value).toBe('integrating');
      expect(approved.context.patchId).toBe('p1');
    },
  );

  it('a revision that passes comes to the gate with both patches approvable; a dead letter still fails', () => {
    const both = run(
      revising,
      done('code', 2, { patchId: 'p2' }),
      done('test', 2),
      done('review', 2, { decision: 'approve' }),
    );
    expect(both.value).toBe('awaiting_approval');
    expect(both.context.revisionFailed).toBeUndefined();
    expect(approvablePatches(both).approve).toEqual(['p2', 'p1']);
    expect(run(both, { type: 'APPROVED', patchId: 'p1' }).context.patchId).toBe('p1');
    expect(run(revising, { type: 'DEAD_LETTER', reason: 'gave up' }).value).toBe('failed');
  });

  it('a change request with no attempt left keeps the task at the gate, saying so', () => {
    const one = initialWorkflow({ maxAttempts: 1, approveMode: 'manual' });
    const gate = run(
      one,
      done('plan', 1),
      done('code', 1, { patchId: 'p1' }),
      done('test', 1),
      done('review', 1, { decision: 'approve' }),
    );
    const after = run(gate, changes);
    expect(after.value).toBe('awaiting_approval');
    expect(after.context.gate).toBe(2);
    expect(after.context.revisionFailed).toMatchObject({ patchId: 'p1', reason: /attempt budget/ });
    expect(run(after, { type: 'APPROVED', patchId: 'p1' }).value).toBe('integrating');
  });

  it('a Reviewer revision starts from the reviewed patch', () => {
    const w = run(
      start,
      done('plan', 1),
      done('code', 1, { patchId: 'p1' }),
      done('test', 1),
      done('review', 1, { decision: 'revise', critique: 'x' }),
    );
    expect(w.context.revisionOf).toBe('p1');
    expect(w.context.keptPatchId).toBeUndefined();
    expect(run(w, { type: 'STEP_FAILED', kind: 'code', attempt: 2, reason: 'x' }).value).toBe('failed');
  });
});

describe('a fanned-out code step', () => {
  const start = initialWorkflow({ maxAttempts: 2, approveMode: 'auto' });
  const part = (p: string, data: Record<string, unknown> = {}): WorkflowEvent => ({
    type: 'STEP_DONE',
    kind: 'code',
    attempt: 1,
    part: p,
    data,
  });
  const conflict = (merge: number, subtask: string, w: string[]) =>
    part(`m${merge}`, { conflict: { subtask, with: w, files: ['a.py'] } });

  it('records each subtask once, stays in coding, and moves on with the merge part’s patch', () => {
    let w = run(start, done('plan', 1), part('s0-a'), part('s0-b'));
    expect(w.value).toBe('coding');
    expect(w.context.fanout).toEqual({ done: { a: 0, b: 0 }, rebase: {}, onto: {}, merges: 0 });
    // A redelivered subtask event changes nothing.
    expect(applyWorkflowEvent(w, part('s0-a')).changed).toBe(false);
    // A subtask's event is never taken for the whole code step.
    expect(w.context.patchId).toBeUndefined();
    w = run(w, part('m0', { patchId: 't-x-p1', subtasks: ['a', 'b'] }));
    expect(w.value).toBe('testing');
    expect(w.context.patchId).toBe('t-x-p1');
  });

  it('re-awards the later subtask as a rebase onto the earlier ones, bounded', () => {
    let w = run(start, done('plan', 1), part('s0-a'), part('s0-b'), conflict(0, 'b', ['a']));
    expect(w.value).toBe('coding');
    expect(w.context.fanout).toEqual({ done: { a: 0 }, rebase: { b: 1 }, onto: { b: ['a'] }, merges: 1 });
    // The old part finishing late, or the old merge again, is stale.
    expect(applyWorkflowEvent(w, part('s0-b')).changed).toBe(false);
    expect(applyWorkflowEvent(w, conflict(0, 'b', ['a'])).changed).toBe(false);
    w = run(w, part('s1-b'), conflict(1, 'b', ['a']), part('s2-b'));
    expect(w.context.fanout).toMatchObject({ done: { a: 0, b: 2 }, rebase: { b: 2 }, merges: 2 });
    w = run(w, conflict(2, 'b', ['a']));
    expect(w.value).toBe('failed');
    expect(String(w.context.reason)).toMatch(/subtask b still conflicts with a after 2 rebases \(a\.py\)/);
  });

  it('fails the task when a current subtask part fails, naming the subtask; a stale failure is ignored', () => {
    const w = run(start, done('plan', 1), part('s0-a'), part('s0-b'), conflict(0, 'b', ['a']));
    const stale: WorkflowEvent = { type: 'STEP_FAILED', kind: 'code', attempt: 1, part: 's0-b', reason: 'x' };
    expect(applyWorkflowEvent(w, stale).changed).toBe(false);
    const failed = run(w, { ...stale, part: 's1-b', reason: 'edits rejected' });
    expect(failed.value).toBe('failed');
    expect(failed.context.reason).toBe('subtask b: edits rejected');
  });
});

describe('the test-writing part (r1) of the first code step', () => {
  const start = initialWorkflow({ maxAttempts: 2, approveMode: 'auto', reproduce: true });
  const part = (e: WorkflowEvent, p: string) => ({ ...e, part: p }) as WorkflowEvent;

  it('is pending at the first code step; its end is recorded once and the code step goes on', () => {
    expect(initialWorkflow({ maxAttempts: 2, approveMode: 'auto' }).context.reproduce).toBeUndefined();
    let w = run(start, done('plan', 1));
    expect(w.value).toBe('coding');
    expect(reproducePending(w.context)).toBe(true);
    w = run(w, part(done('code', 1, { state: 'kept', reason: 'test_x fails on the base commit' }), 'r1'));
    expect(w.value).toBe('coding');
    expect(w.context.reproduce).toEqual({ state: 'kept', reason: 'test_x fails on the base commit' });
    expect(reproducePending(w.context)).toBe(false);
    // A redelivered end changes nothing; the code step itself then moves the task on.
    expect(applyWorkflowEvent(w, part(done('code', 1, { state: 'rejected' }), 'r1')).changed).toBe(false);
    w = run(w, done('code', 1, { patchId: 'p1' }));
    expect(w.value).toBe('testing');
  });

  it('a failed test-writing part does not fail the task', () => {
    const w = run(start, done('plan', 1), {
      type: 'STEP_FAILED',
      kind: 'code',
      attempt: 1,
      part: 'r1',
      reason: 'the model is down',
    });
    expect(w.value).toBe('coding');
    expect(w.context.reproduce).toEqual({ state: 'failed', reason: 'the model is down' });
    expect(reproducePending(w.context)).toBe(false);
  });

  it('is not pending after the first attempt', () => {
    expect(reproducePending({ attempt: 2, reproduce: { state: 'pending' } })).toBe(false);
  });
});
