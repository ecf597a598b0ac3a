// The task workflow as an XState machine. Its snapshot (value + context) is persisted in the task record,
// and every event is applied with the pure `transition` function, so any conductor can resume any task.
import { and, assign, setup, transition } from 'xstate';
import {
  abstainReason,
  type CandidateEvidence,
  type CandidatesContext,
  candidateInputs,
  candidateOf,
  candidatesOf,
  eligibleCandidates,
  type FanoutContext,
  fanoutOf,
  parsePart,
  type StepKind,
  type TaskStatus,
  TestOutcome,
} from '../../schemas/index.ts';

export { type CandidatesContext, candidatesOf, type FanoutContext, fanoutOf };

/** How often one subtask may be re-awarded as a rebase after its patch conflicted with earlier ones. */
export const MAX_REBASES = 2;

export interface WorkflowContext {
  attempt: number;
  maxAttempts: number;
  approveMode: 'auto' | 'manual';
  /** The `post-plan` gate: halt after planning until a human decides (absent in tasks from before it). */
  planGate?: boolean;
  patchId?: string;
  critique?: string;
  reason?: string;
  branch?: string;
  commit?: string;
  rollbackBranch?: string;
  fanout?: FanoutContext;
  /** The `budget` gate: the step state a paused task goes back to when a human raises its limits. */
  budgetResume?: BudgetResume;
  /** k candidate patches of the first attempt (absent or k = 1: one Coder pass). */
  candidates?: CandidatesContext;
  /** Arrivals at the patch gate (each one asks for a decision anew; event ids and approvals carry it). */
  gate?: number;
  /**
   * The patch a human last asked changes on (tests green, reviewer approved): it stays approvable while its
   * revision runs and at the gate, and the task returns to the gate with it if the revision fails.
   */
  keptPatchId?: string;
  /** The patch the current attempt's Coder starts from (absent: the previous attempt's). */
  revisionOf?: string;
  /** Why the revision of `keptPatchId` ended without a patch of its own (set while back at the gate with it). */
  revisionFailed?: RevisionFailed;
  /** The test-writing part (`r1`) of the first code step: pending until it ends, then what it did. */
  reproduce?: ReproduceState;
  /**
   * The rules of the policy check that block the patch at the gate (its attempts used up on them): it is
   * integrated only after an approver overrides them (gateway/routes/policy-override.ts).
   */
  policyBlocked?: string[];
  /** The Doc Writer runs on each approved review (task request `docs: true`). */
  docs?: boolean;
  /** The attempt whose reviewed patch the Doc Writer has documented (or failed on: `docsFailed` says why). */
  docsAttempt?: number;
  docsFailed?: string;
}

/**
 * `kept`: a test that fails on the base commit is on `repro.<taskId>` and goes into the patch; `rejected`: what it
 * wrote passed on the base (twice); `skipped`: a selected test already fails on the base, or settings turned it
 * off; `failed`: the part failed (the task goes on without a written test).
 */
export interface ReproduceState {
  state: 'pending' | 'kept' | 'rejected' | 'skipped' | 'failed';
  reason?: string;
}

/** The test-writing part is still to run (it comes before the first code step's other parts). */
export function reproducePending(ctx: Record<string, unknown>): boolean {
  const r = ctx.reproduce as ReproduceState | undefined;
  return r?.state === 'pending' && Number(ctx.attempt ?? 0) === 1;
}

export interface RevisionFailed {
  /** The attempt the revision failed in, the patch the task is back at the gate with, and why. */
  attempt: number;
  patchId: string;
  reason: string;
}

/** The states a model call can pause in, by the kind of their step. */
const RESUME_BY_KIND = {
  plan: 'planning',
  code: 'coding',
  test: 'testing',
  review: 'reviewing',
  docs: 'documenting',
  integrate: 'integrating',
} as const satisfies Partial<Record<StepKind, string>>;
export type BudgetResume = (typeof RESUME_BY_KIND)[keyof typeof RESUME_BY_KIND];

export type WorkflowEvent =
  | { type: 'STEP_DONE'; kind: StepKind; attempt: number; part?: string; data: Record<string, unknown> }
  | { type: 'STEP_FAILED'; kind: StepKind; attempt: number; part?: string; reason: string }
  | { type: 'APPROVED'; patchId: string }
  | { type: 'PLAN_APPROVED' }
  | { type: 'PLAN_REJECTED'; comment: string }
  | { type: 'CHANGES_REQUESTED'; patchId: string; comment: string }
  | { type: 'BUDGET_EXCEEDED'; reason: string }
  /** A model call of the current step met a soft limit (stale pauses are dropped by `applyWorkflowEvent`). */
  | { type: 'BUDGET_PAUSED'; kind: StepKind; attempt: number; reason: string }
  | { type: 'BUDGET_RAISED' }
  | { type: 'BUDGET_STOPPED'; reason: string }
  /** The conductor gave up on one of the task's events (it went to the dead-letter stream). */
  | { type: 'DEAD_LETTER'; reason: string }
  /** Stopped from outside (a cancelled campaign): fails like a hard budget, unless already integrated. */
  | { type: 'CANCEL'; reason: string }
  | { type: 'ROLLBACK'; by: string };

/** Ended states: they take no more events. */
const ENDED = new Set(['failed', 'rolled_back', 'abstained']);

const isStep = (kind: StepKind) => ({
  type: 'isStep' as const,
  params: { kind },
});

/** A revision a human asked for failed: back to the gate with the patch kept from the change request. */
const BACK_TO_GATE = { guard: 'hasKeptPatch', target: 'awaiting_approval', actions: 'fallBack' } as const;

/** While a revision runs, the kept patch may still be approved (the revision's results are then ignored). */
const WHILE_REVISING = {
  APPROVED: { guard: 'isKeptPatch', target: 'integrating', actions: 'takeApproved' },
  BUDGET_EXCEEDED: BACK_TO_GATE,
} as const;

export const workflowMachine = setup({
  types: {
    context: {} as WorkflowContext,
    events: {} as WorkflowEvent,
    input: {} as WorkflowInput,
  },
  guards: {
    /** The event is about the step the task is waiting for (stale or duplicate events are ignored). */
    isStep: ({ context, event }, params: { kind: StepKind }) =>
      (event.type === 'STEP_DONE' || event.type === 'STEP_FAILED') &&
      event.kind === params.kind &&
      event.part === undefined &&
      (params.kind === 'plan' ||
        params.kind === 'integrate' ||
        params.kind === 'rollback' ||
        event.attempt === context.attempt),
    testsCannotRun: ({ context, event }) =>
      isStepDone(context, event, 'test') &&
      event.type === 'STEP_DONE' &&
      event.part === undefined &&
      event.data.envFault === true,
    /** The test-writing part ended (first time). */
    reproEnded: ({ context, event }) => {
      if ((event.type !== 'STEP_DONE' && event.type !== 'STEP_FAILED') || event.kind !== 'code') return false;
      const p = parsePart(event.part);
      return (
        p !== undefined &&
        'repro' in p &&
        event.attempt === context.attempt &&
        reproducePending({ ...context })
      );
    },
    /** A candidate's code step ended (first time). */
    candidateCoded: ({ context, event }) => {
      const n = pendingCandidate(context, event, 'code');
      return n !== undefined && context.candidates!.code[n] === undefined;
    },
    /** A candidate's test step ended (first time; only candidates with a patch are tested). */
    candidateTested: ({ context, event }) => {
      const n = pendingCandidate(context, event, 'test');
      const code = n === undefined ? undefined : context.candidates!.code[n];
      return code !== undefined && 'patchId' in code && context.candidates!.test[n!] === undefined;
    },
    /** Every candidate's code step ended. */
    allCoded: ({ context }) => {
      const c = activeCandidates(context);
      return c !== undefined && numbers(c).every((n) => c.code[n] !== undefined);
    },
    nonePatched: ({ context }) => {
      const c = activeCandidates(context)!;
      return numbers(c).every((n) => !('patchId' in (c.code[n] ?? {})));
    },
    /** Every candidate with a patch has its test evidence (or its test step failed). */
    allTested: ({ context }) => {
      const c = activeCandidates(context);
      return c !== undefined && patched(c).every((n) => c.test[n] !== undefined);
    },
    noTestEvidence: ({ context }) => evidenced(context.candidates!).length === 0,
    /** The tests cannot run for any candidate (the base commit fails the same way). */
    candidatesCannotTest: ({ context }) => evidenced(context.candidates!).every(([, e]) => e.envFault),
    noneEligible: ({ context }) => eligibleCandidates(candidateInputs(context.candidates!)).length === 0,
    approvedReview: ({ event }) => event.type === 'STEP_DONE' && event.data.decision === 'approve',
    /** The review refused the patch for its policy findings alone (no secret, no failing test). */
    policyBlockedReview: ({ event }) =>
      event.type === 'STEP_DONE' &&
      Array.isArray(event.data.policyBlocked) &&
      event.data.policyBlocked.length > 0,
    autoApprove: ({ context }) => context.approveMode === 'auto',
    /** The approved patch of this attempt still needs its documentation step. */
    docsPending: ({ context }) => context.docs === true && context.docsAttempt !== context.attempt,
    planGate: ({ context }) => context.planGate === true,
    attemptsLeft: ({ context }) => context.attempt < context.maxAttempts,
    /** A subtask part of this attempt finished (its current rebase, not yet counted). */
    subtaskDone: ({ context, event }) => {
      const p = currentSubtaskPart(context, event);
      return event.type === 'STEP_DONE' && p !== undefined && context.fanout?.done[p.subtask] === undefined;
    },
    /** The current merge part found two subtasks' patches in conflict. */
    mergeConflict: ({ context, event }) =>
      event.type === 'STEP_DONE' && isCurrentMerge(context, event) && conflictOf(event) !== undefined,
    rebasesLeft: ({ context, event }) => {
      const c = conflictOf(event);
      return c !== undefined && (context.fanout?.rebase[c.subtask] ?? 0) < MAX_REBASES;
    },
    /** The whole code step (one pass), or the merge that produced the attempt's patch. */
    codeStepDone: ({ context, event }) =>
      activeCandidates(context) === undefined &&
      isStepDone(context, event, 'code') &&
      (event.type === 'STEP_DONE' && event.part === undefined ? true : isCurrentMerge(context, event)),
    codeStepFailed: ({ context, event }) =>
      activeCandidates(context) === undefined &&
      event.type === 'STEP_FAILED' &&
      event.kind === 'code' &&
      event.attempt === context.attempt &&
      (event.part === undefined ||
        isCurrentMerge(context, event) ||
        currentSubtaskPart(context, event) !== undefined),
    /** The patch at the gate, or the one kept from an earlier change request. */
    isApprovable: ({ context, event }) =>
      (event.type === 'APPROVED' || event.type === 'CHANGES_REQUESTED') &&
      (event.patchId === context.patchId || event.patchId === context.keptPatchId),
    isKeptPatch: ({ context, event }) =>
      event.type === 'APPROVED' && context.keptPatchId !== undefined && event.patchId === context.keptPatchId,
    /** A revision a human asked for is under way: its failure returns the task to the gate. */
    hasKeptPatch: ({ context }) => context.keptPatchId !== undefined && !context.commit,
  },
  actions: {
    recordRepro: assign({
      reproduce: ({ event }): ReproduceState => {
        if (event.type === 'STEP_FAILED') return { state: 'failed', reason: event.reason.slice(0, 500) };
        const d = event.type === 'STEP_DONE' ? event.data : {};
        const state = ['kept', 'rejected', 'skipped'].includes(String(d.state))
          ? (d.state as ReproduceState['state'])
          : 'failed';
        return { state, ...(typeof d.reason === 'string' ? { reason: d.reason.slice(0, 500) } : {}) };
      },
    }),
    recordCandidateCode: assign({
      candidates: ({ context, event }) => {
        const c = context.candidates!;
        const n = pendingCandidate(context, event, 'code')!;
        const end =
          event.type === 'STEP_DONE'
            ? {
                patchId: String(event.data.patchId ?? ''),
                ...(typeof event.data.diffHash === 'string' ? { diffHash: event.data.diffHash } : {}),
              }
            : { failed: event.type === 'STEP_FAILED' ? event.reason : 'failed' };
        return { ...c, code: { ...c.code, [n]: end } };
      },
    }),
    recordCandidateTest: assign({
      candidates: ({ context, event }) => {
        const c = context.candidates!;
        const n = pendingCandidate(context, event, 'test')!;
        const end =
          event.type === 'STEP_DONE'
            ? evidenceOf(event.data)
            : { failed: event.type === 'STEP_FAILED' ? event.reason : 'failed' };
        return { ...c, test: { ...c.test, [n]: end } };
      },
    }),
    reviewedPatch: assign({
      patchId: ({ context, event }) =>
        event.type === 'STEP_DONE' && typeof event.data.patchId === 'string'
          ? event.data.patchId
          : context.patchId,
    }),
    abstain: assign({ reason: ({ context }) => abstainReason(context.candidates!) }),
    failNoCandidateTests: assign({
      reason: ({ context }) => {
        const c = context.candidates!;
        const why = patched(c).map((n) => {
          const t = c.test[n];
          return `c${n}: ${t && 'failed' in t ? t.failed : '?'}`;
        });
        return `the test step failed for every candidate: ${why.join('; ')}`;
      },
    }),
    failCandidatesCannotTest: assign({
      reason: ({ context }) => {
        const [, e] = evidenced(context.candidates!)[0]!;
        return testsCannotRunReason({ reason: e.reason, outcome: e.outcome });
      },
    }),
    recordSubtask: assign({
      fanout: ({ context, event }) => {
        const f = fanoutOf(context);
        const p = currentSubtaskPart(context, event)!;
        return { ...f, done: { ...f.done, [p.subtask]: p.rebase } };
      },
    }),
    /** The later subtask goes back to a Coder, on top of the patches merged before it. */
    rebaseSubtask: assign({
      fanout: ({ context, event }) => {
        const f = fanoutOf(context);
        const c = conflictOf(event)!;
        const { [c.subtask]: _, ...done } = f.done;
        return {
          done,
          rebase: { ...f.rebase, [c.subtask]: (f.rebase[c.subtask] ?? 0) + 1 },
          onto: { ...f.onto, [c.subtask]: c.with },
          merges: f.merges + 1,
        };
      },
    }),
    failConflict: assign({ reason: ({ event }) => conflictReason(event) }),
    /** The Reviewer sent the patch back: the next attempt starts from it, with the critique. */
    nextAttempt: assign(({ context, event }) => ({
      attempt: context.attempt + 1,
      critique: event.type === 'STEP_DONE' ? String(event.data.critique ?? '') : context.critique,
      revisionOf: context.patchId,
    })),
    failWith: assign(({ event }) => ({ reason: failureReason(event) })),
    /** The revision failed: back to the gate with the patch the human asked changes on, saying why. */
    fallBack: assign(({ context, event }) => ({
      patchId: context.keptPatchId,
      revisionFailed: {
        attempt: context.attempt,
        patchId: context.keptPatchId!,
        reason: isCurrentMerge(context, event) ? conflictReason(event) : failureReason(event),
      },
    })),
    /** A human asked changes on an approvable patch: it is kept, and the revision starts from it. */
    changesRequested: assign(({ context, event }) => {
      if (event.type !== 'CHANGES_REQUESTED') return {};
      const { revisionFailed: _, ...rest } = context;
      return {
        ...rest,
        attempt: context.attempt + 1,
        critique: `A human reviewer requested changes: ${event.comment}`,
        keptPatchId: event.patchId,
        revisionOf: event.patchId,
      };
    }),
    /** The approved patch is the one integrated (the kept one may be approved instead of a newer one). */
    takeApproved: assign({
      patchId: ({ context, event }) => (event.type === 'APPROVED' ? event.patchId : context.patchId),
    }),
    /** A change request with no attempt left (the gateway refuses it; a late one lands here): ask again. */
    noAttemptLeft: assign(({ context, event }) => {
      const pid = event.type === 'CHANGES_REQUESTED' ? event.patchId : String(context.patchId);
      return {
        patchId: pid,
        revisionFailed: {
          attempt: context.attempt,
          patchId: pid,
          reason: 'changes requested and the attempt budget is used up',
        },
      };
    }),
    enterGate: assign({ gate: ({ context }) => (context.gate ?? 0) + 1 }),
    /** The policy blocks the last attempt's patch: it waits at the gate for an approver's override. */
    policyGate: assign({
      policyBlocked: ({ event }) =>
        event.type === 'STEP_DONE' && Array.isArray(event.data.policyBlocked)
          ? event.data.policyBlocked.map(String)
          : [],
    }),
    clearRevisionFailed: assign(({ context }) => {
      const { revisionFailed: _, ...rest } = context;
      return rest;
    }),
  },
}).createMachine({
  id: 'task',
  context: ({ input }) => initialContext(input),
  initial: 'planning',
  // A budget only stops work that is still under way: a completed task may still be rolled back. So does an
  // event the conductor could not process: whatever the task waited for may never come.
  on: {
    BUDGET_EXCEEDED: { guard: ({ context }) => !context.commit, target: '.failed', actions: 'failWith' },
    DEAD_LETTER: { guard: ({ context }) => !context.commit, target: '.failed', actions: 'failWith' },
    CANCEL: { guard: ({ context }) => !context.commit, target: '.failed', actions: 'failWith' },
    BUDGET_PAUSED: {
      guard: ({ context, event }) => !context.commit && event.kind in RESUME_BY_KIND,
      target: '.awaiting_budget',
      actions: assign({
        budgetResume: ({ event }) => RESUME_BY_KIND[event.kind as keyof typeof RESUME_BY_KIND],
      }),
    },
  },
  states: {
    planning: {
      on: {
        STEP_DONE: [
          { guard: and([isStep('plan'), 'planGate']), target: 'awaiting_plan_approval' },
          { guard: isStep('plan'), target: 'coding', actions: assign({ attempt: 1 }) },
        ],
        STEP_FAILED: { guard: isStep('plan'), target: 'failed', actions: 'failWith' },
      },
    },
    // The `post-plan` gate. The decision (and an edited plan) is on the blackboard before its event arrives.
    awaiting_plan_approval: {
      on: {
        PLAN_APPROVED: { target: 'coding', actions: assign({ attempt: 1 }) },
        PLAN_REJECTED: {
          target: 'failed',
          actions: assign({
            reason: ({ event }) => `plan rejected${event.comment ? `: ${event.comment}` : ''}`,
          }),
        },
      },
    },
    // The `budget` gate: a soft limit was reached. The step's call waits for the decision on the blackboard;
    // a raise sends the task back to the step's state (a step whose holder died meanwhile is announced again).
    awaiting_budget: {
      on: {
        BUDGET_RAISED: (
          ['planning', 'coding', 'testing', 'reviewing', 'documenting', 'integrating'] as const
        ).map((to) => ({
          guard: ({ context }: { context: WorkflowContext }) => context.budgetResume === to,
          target: to,
        })),
        BUDGET_STOPPED: { target: 'failed', actions: 'failWith' },
        BUDGET_EXCEEDED: BACK_TO_GATE,
        // Candidates that were not paused go on and may end meanwhile: their ends are kept for the way back.
        STEP_DONE: [
          { guard: 'candidateCoded', actions: 'recordCandidateCode' },
          { guard: 'candidateTested', actions: 'recordCandidateTest' },
        ],
        STEP_FAILED: [
          { guard: 'candidateCoded', actions: 'recordCandidateCode' },
          { guard: 'candidateTested', actions: 'recordCandidateTest' },
        ],
      },
    },
    // One Coder pass, or (fanned out) a part per subtask and then merges until one yields the patch.
    coding: {
      // k candidates: each candidate's code step is recorded; when all ended, their patches go to the Tester.
      always: [
        { guard: and(['allCoded', 'nonePatched']), target: 'abstained', actions: 'abstain' },
        { guard: 'allCoded', target: 'testing' },
      ],
      on: {
        STEP_DONE: [
          // The test-writing part comes first; the conductor then announces the code step itself.
          { guard: 'reproEnded', actions: 'recordRepro' },
          { guard: 'candidateCoded', actions: 'recordCandidateCode' },
          { guard: 'subtaskDone', actions: 'recordSubtask' },
          { guard: and(['mergeConflict', 'rebasesLeft']), actions: 'rebaseSubtask' },
          { ...BACK_TO_GATE, guard: and(['mergeConflict', 'hasKeptPatch']) },
          { guard: 'mergeConflict', target: 'failed', actions: 'failConflict' },
          {
            guard: 'codeStepDone',
            target: 'testing',
            actions: assign({ patchId: ({ event }) => String(dataOf(event).patchId) }),
          },
        ],
        STEP_FAILED: [
          { guard: 'reproEnded', actions: 'recordRepro' },
          { guard: 'candidateCoded', actions: 'recordCandidateCode' },
          { ...BACK_TO_GATE, guard: and(['codeStepFailed', 'hasKeptPatch']) },
          { guard: 'codeStepFailed', target: 'failed', actions: 'failWith' },
        ],
        ...WHILE_REVISING,
      },
    },
    testing: {
      // k candidates: each test step's evidence is recorded; when all are in, the choice needs a candidate that
      // earns it (schemas/candidate.ts), else the task abstains.
      always: [
        { guard: and(['allTested', 'noTestEvidence']), target: 'failed', actions: 'failNoCandidateTests' },
        {
          guard: and(['allTested', 'candidatesCannotTest']),
          target: 'failed',
          actions: 'failCandidatesCannotTest',
        },
        { guard: and(['allTested', 'noneEligible']), target: 'abstained', actions: 'abstain' },
        { guard: 'allTested', target: 'reviewing' },
      ],
      on: {
        STEP_DONE: [
          { guard: 'candidateTested', actions: 'recordCandidateTest' },
          // The tests cannot run here (the base commit fails the same way): no revision can fix that.
          { ...BACK_TO_GATE, guard: and(['testsCannotRun', 'hasKeptPatch']) },
          { guard: 'testsCannotRun', target: 'failed', actions: 'failWith' },
          { guard: isStep('test'), target: 'reviewing' },
        ],
        STEP_FAILED: [
          { guard: 'candidateTested', actions: 'recordCandidateTest' },
          { ...BACK_TO_GATE, guard: and([isStep('test'), 'hasKeptPatch']) },
          { guard: isStep('test'), target: 'failed', actions: 'failWith' },
        ],
        ...WHILE_REVISING,
      },
    },
    reviewing: {
      on: {
        STEP_DONE: [
          { guard: ({ context, event }) => !isStepDone(context, event, 'review') },
          // With candidates the review step chose one and names its patch (copied to the attempt's patch id).
          { guard: 'approvedReview', target: 'approved', actions: 'reviewedPatch' },
          { guard: 'attemptsLeft', target: 'coding', actions: ['reviewedPatch', 'nextAttempt'] },
          BACK_TO_GATE,
          // Only the policy stands in the way and the revisions could not clear it: a human decides (an
          // approver's audited override, in auto mode too), rather than the task failing with a usable patch.
          {
            guard: 'policyBlockedReview',
            target: 'awaiting_approval',
            actions: ['reviewedPatch', 'clearRevisionFailed', 'policyGate'],
          },
          { target: 'failed', actions: 'failWith' },
        ],
        STEP_FAILED: [
          { ...BACK_TO_GATE, guard: and([isStep('review'), 'hasKeptPatch']) },
          { guard: isStep('review'), target: 'failed', actions: 'failWith' },
        ],
        ...WHILE_REVISING,
      },
    },
    approved: {
      entry: 'clearRevisionFailed',
      always: [
        { guard: 'docsPending', target: 'documenting' },
        { guard: 'autoApprove', target: 'integrating' },
        { target: 'awaiting_approval' },
      ],
    },
    // The Doc Writer documents the approved patch (a separate patch, shown at the gate and committed after the
    // code). Its failure costs the task nothing but the documentation: the reason is kept and the task goes on.
    documenting: {
      on: {
        STEP_DONE: {
          guard: isStep('docs'),
          target: 'approved',
          actions: assign({ docsAttempt: ({ context }) => context.attempt }),
        },
        STEP_FAILED: {
          guard: isStep('docs'),
          target: 'approved',
          actions: assign({
            docsAttempt: ({ context }) => context.attempt,
            docsFailed: ({ event }) => (event.type === 'STEP_FAILED' ? event.reason : 'failed'),
          }),
        },
        ...WHILE_REVISING,
      },
    },
    // The patch gate. Approvable: the patch that arrived here and the one kept from a change request. A change
    // request needs attempts left (the gateway refuses it otherwise; a late one finds the task back here).
    awaiting_approval: {
      entry: 'enterGate',
      on: {
        APPROVED: { guard: 'isApprovable', target: 'integrating', actions: 'takeApproved' },
        CHANGES_REQUESTED: [
          { guard: ({ context, event }) => !approvable(context, event) },
          { guard: 'attemptsLeft', target: 'coding', actions: 'changesRequested' },
          { target: 'awaiting_approval', reenter: true, actions: 'noAttemptLeft' },
        ],
      },
    },
    integrating: {
      on: {
        STEP_DONE: {
          guard: isStep('integrate'),
          target: 'completed',
          actions: assign({
            branch: ({ event }) => String(dataOf(event).branch ?? ''),
            commit: ({ event }) => String(dataOf(event).commit ?? ''),
          }),
        },
        STEP_FAILED: { guard: isStep('integrate'), target: 'failed', actions: 'failWith' },
      },
    },
    completed: { on: { ROLLBACK: 'rolling_back' } },
    rolling_back: {
      on: {
        STEP_DONE: {
          guard: isStep('rollback'),
          target: 'rolled_back',
          actions: assign({ rollbackBranch: ({ event }) => String(dataOf(event).branch ?? '') }),
        },
        STEP_FAILED: { guard: isStep('rollback'), target: 'completed', actions: 'failWith' },
        // The integrated commit stands; the reason says why it was not rolled back.
        DEAD_LETTER: { target: 'completed', actions: 'failWith' },
      },
    },
    rolled_back: { type: 'final' },
    failed: { type: 'final' },
    abstained: { type: 'final' },
  },
});

function testsCannotRunReason(data: Record<string, unknown>): string {
  const reason = String(data.reason ?? 'the tests could not run');
  if (data.outcome === 'timeout') return `the tests never finished: ${reason}`;
  return reason.startsWith('tests never ran') ? reason : `tests never ran: ${reason}`;
}

function failedPartReason(part: string | undefined, reason: string): string {
  const p = parsePart(part);
  return p && 'subtask' in p ? `subtask ${p.subtask}: ${reason}` : reason;
}

/** The subtask part the event is about, if it is that subtask's current part in this attempt. */
function currentSubtaskPart(
  ctx: WorkflowContext,
  e: WorkflowEvent,
): { subtask: string; rebase: number } | undefined {
  if ((e.type !== 'STEP_DONE' && e.type !== 'STEP_FAILED') || e.kind !== 'code' || e.attempt !== ctx.attempt)
    return undefined;
  const p = parsePart(e.part);
  if (!p || !('subtask' in p)) return undefined;
  return p.rebase === (ctx.fanout?.rebase[p.subtask] ?? 0) ? p : undefined;
}

function isCurrentMerge(ctx: WorkflowContext, e: WorkflowEvent): boolean {
  if ((e.type !== 'STEP_DONE' && e.type !== 'STEP_FAILED') || e.kind !== 'code' || e.attempt !== ctx.attempt)
    return false;
  const p = parsePart(e.part);
  return p !== undefined && 'merge' in p && p.merge === (ctx.fanout?.merges ?? 0);
}

/** What a merge part reports when two subtasks' patches conflict. */
export interface MergeConflict {
  subtask: string;
  with: string[];
  files: string[];
}

function conflictReason(e: WorkflowEvent): string {
  const c = conflictOf(e);
  if (!c) return 'merge conflict';
  return `subtask ${c.subtask} still conflicts with ${c.with.join(', ') || 'the others'} after ${MAX_REBASES} rebases${c.files.length ? ` (${c.files.join(', ')})` : ''}`;
}

function conflictOf(e: WorkflowEvent): MergeConflict | undefined {
  if (e.type !== 'STEP_DONE') return undefined;
  const c = e.data.conflict as Partial<MergeConflict> | undefined;
  if (!c || typeof c.subtask !== 'string') return undefined;
  return {
    subtask: c.subtask,
    with: Array.isArray(c.with) ? c.with.map(String) : [],
    files: Array.isArray(c.files) ? c.files.map(String) : [],
  };
}

function dataOf(e: WorkflowEvent): Record<string, unknown> {
  return e.type === 'STEP_DONE' ? e.data : {};
}
function isStepDone(ctx: WorkflowContext, e: WorkflowEvent, kind: StepKind): boolean {
  return e.type === 'STEP_DONE' && e.kind === kind && e.attempt === ctx.attempt;
}
function approvable(ctx: WorkflowContext, e: WorkflowEvent): boolean {
  return (
    (e.type === 'APPROVED' || e.type === 'CHANGES_REQUESTED') &&
    (e.patchId === ctx.patchId || e.patchId === ctx.keptPatchId)
  );
}

/** Why a task fails on this event (or, with a kept patch, why its revision failed). */
function failureReason(event: WorkflowEvent): string {
  if (event.type === 'STEP_FAILED') return failedPartReason(event.part, event.reason);
  if (
    event.type === 'BUDGET_EXCEEDED' ||
    event.type === 'DEAD_LETTER' ||
    event.type === 'BUDGET_STOPPED' ||
    event.type === 'CANCEL'
  )
    return event.reason;
  if (event.type === 'STEP_DONE' && event.kind === 'test') return testsCannotRunReason(event.data);
  return 'the reviewer kept asking for revisions and the attempt budget is used up';
}

export interface WorkflowInput {
  maxAttempts: number;
  approveMode: 'auto' | 'manual';
  planGate?: boolean;
  /** k candidate patches for the first attempt (1 or absent: one Coder pass). */
  candidates?: number;
  /** A test-writing part before the first code step (`test.reproduce`). */
  reproduce?: boolean;
  /** Run the Doc Writer after an approving review. */
  docs?: boolean;
}

function initialContext(input: WorkflowInput): WorkflowContext {
  return {
    attempt: 0,
    maxAttempts: input.maxAttempts,
    approveMode: input.approveMode,
    ...(input.planGate ? { planGate: true } : {}),
    ...(input.docs ? { docs: true } : {}),
    ...((input.candidates ?? 1) > 1 ? { candidates: { k: input.candidates!, code: {}, test: {} } } : {}),
    ...(input.reproduce ? { reproduce: { state: 'pending' as const } } : {}),
  };
}

/** The candidates of the current attempt, when it is one with candidates (the first). */
function activeCandidates(ctx: WorkflowContext): CandidatesContext | undefined {
  return ctx.attempt === 1 ? candidatesOf(ctx) : undefined;
}

/** The candidate a code or test step event of the current attempt is about (number within 1..k). */
function pendingCandidate(ctx: WorkflowContext, e: WorkflowEvent, kind: 'code' | 'test'): number | undefined {
  const c = activeCandidates(ctx);
  if (!c || (e.type !== 'STEP_DONE' && e.type !== 'STEP_FAILED') || e.kind !== kind) return undefined;
  if (e.attempt !== ctx.attempt) return undefined;
  const n = candidateOf(e.part);
  return n !== undefined && n >= 1 && n <= c.k ? n : undefined;
}

const numbers = (c: CandidatesContext) => Array.from({ length: c.k }, (_, i) => i + 1);
/** Candidates whose code step left a patch. */
const patched = (c: CandidatesContext) => numbers(c).filter((n) => 'patchId' in (c.code[n] ?? {}));
function evidenced(c: CandidatesContext): Array<[number, CandidateEvidence]> {
  return patched(c).flatMap((n) => {
    const t = c.test[n];
    return t && !('failed' in t) ? [[n, t] as [number, CandidateEvidence]] : [];
  });
}

/** The test evidence a candidate's `test.completed` / `step.completed` data carries (tester/machine.ts). */
function evidenceOf(data: Record<string, unknown>): CandidateEvidence {
  const v = (data.verdict ?? {}) as Record<string, unknown>;
  const n = (x: unknown) => (typeof x === 'number' && x >= 0 ? Math.floor(x) : 0);
  const outcome = TestOutcome.safeParse(data.outcome);
  return {
    outcome: outcome.success ? outcome.data : data.passed === true ? 'pass' : 'regression',
    fixed: n(v.fixed),
    regressions: n(v.regressions),
    baseFailed: n(data.baseFailed),
    envFault: data.envFault === true,
    ...(typeof data.reason === 'string' ? { reason: data.reason.slice(0, 500) } : {}),
  };
}

export interface PersistedWorkflow {
  value: string;
  context: Record<string, unknown>;
}

export function initialWorkflow(input: WorkflowInput): PersistedWorkflow {
  const s = workflowMachine.resolveState({ value: 'planning', context: initialContext(input) });
  return { value: String(s.value), context: { ...s.context } };
}

/** Applies one event; returns the next persisted state and whether anything changed. */
export function applyWorkflowEvent(
  current: PersistedWorkflow,
  event: WorkflowEvent,
): { next: PersistedWorkflow; changed: boolean } {
  // A resolved snapshot of a final state still takes the root's events (a budget, a dead letter): an ended
  // task takes none.
  if (ENDED.has(current.value)) return { next: current, changed: false };
  // A pause is about one step: one the task no longer waits for (a stale or late event) changes nothing.
  if (event.type === 'BUDGET_PAUSED') {
    const step = currentStep(current);
    if (!step || step.kind !== event.kind || step.attempt !== event.attempt)
      return { next: current, changed: false };
  }
  const snap = workflowMachine.resolveState({
    value: current.value,
    context: current.context as unknown as WorkflowContext,
  });
  const [after] = transition(workflowMachine, snap, event);
  const next = { value: String(after.value), context: { ...after.context } as Record<string, unknown> };
  const changed =
    next.value !== current.value || JSON.stringify(next.context) !== JSON.stringify(current.context);
  return { next, changed };
}

/** The step a task in this workflow state waits for, if any. */
export function currentStep(w: PersistedWorkflow): { kind: StepKind; attempt: number } | undefined {
  const attempt = Number(w.context.attempt ?? 0);
  switch (w.value) {
    case 'planning':
      return { kind: 'plan', attempt: 1 };
    case 'coding':
      return { kind: 'code', attempt };
    case 'testing':
      return { kind: 'test', attempt };
    case 'reviewing':
      return { kind: 'review', attempt };
    case 'documenting':
      return { kind: 'docs', attempt };
    case 'integrating':
      return { kind: 'integrate', attempt: 1 };
    case 'rolling_back':
      return { kind: 'rollback', attempt: 1 };
    default:
      return undefined;
  }
}

export function statusOf(w: PersistedWorkflow): TaskStatus {
  if (w.value === 'approved') return 'awaiting_approval';
  return w.value as TaskStatus;
}

/** The states of a revision under way (its kept patch stays approvable; its failure returns to the gate). */
const REVISING = new Set(['coding', 'testing', 'reviewing']);

/**
 * What a human may decide on now: at the gate, approve or ask changes on the patch that arrived there or the
 * one kept from an earlier change request; while a revision asked at the gate runs, approve the kept patch.
 */
export function approvablePatches(w: PersistedWorkflow): { approve: string[]; requestChanges: string[] } {
  const ctx = w.context as Partial<WorkflowContext>;
  const kept = typeof ctx.keptPatchId === 'string' ? ctx.keptPatchId : undefined;
  if (w.value === 'awaiting_approval' || w.value === 'approved') {
    const ids = [ctx.patchId, kept].filter((p): p is string => typeof p === 'string');
    const unique = [...new Set(ids)];
    return { approve: unique, requestChanges: unique };
  }
  if (REVISING.has(w.value) && kept && !ctx.commit) return { approve: [kept], requestChanges: [] };
  return { approve: [], requestChanges: [] };
}

/** Whether a change request at the gate can still start a revision. */
export function attemptsLeft(w: PersistedWorkflow): boolean {
  return Number(w.context.attempt ?? 0) < Number(w.context.maxAttempts ?? 0);
}
