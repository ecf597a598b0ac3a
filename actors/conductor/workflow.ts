// The task workflow as an XState machine. Its snapshot (value + context) is persisted in the task record,
// and every event is applied with the pure `transition` function, so any conductor can resume any task.
import { and, assign, setup, transition } from 'xstate';
import {
  type FanoutContext,
  fanoutOf,
  parsePart,
  type StepKind,
  type TaskStatus,
} from '../../schemas/index.ts';

export { type FanoutContext, fanoutOf };

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
  | { type: 'ROLLBACK'; by: string };

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
      (params.kind === 'plan' ||
        params.kind === 'integrate' ||
        params.kind === 'rollback' ||
        event.attempt === context.attempt),
    testsCannotRun: ({ context, event }) =>
      isStepDone(context, event, 'test') && event.type === 'STEP_DONE' && event.data.envFault === true,
    approvedReview: ({ event }) => event.type === 'STEP_DONE' && event.data.decision === 'approve',
    autoApprove: ({ context }) => context.approveMode === 'auto',
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
      isStepDone(context, event, 'code') &&
      (event.type === 'STEP_DONE' && event.part === undefined ? true : isCurrentMerge(context, event)),
    codeStepFailed: ({ context, event }) =>
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
        BUDGET_RAISED: (['planning', 'coding', 'testing', 'reviewing', 'integrating'] as const).map((to) => ({
          guard: ({ context }: { context: WorkflowContext }) => context.budgetResume === to,
          target: to,
        })),
        BUDGET_STOPPED: { target: 'failed', actions: 'failWith' },
        BUDGET_EXCEEDED: BACK_TO_GATE,
      },
    },
    // One Coder pass, or (fanned out) a part per subtask and then merges until one yields the patch.
    coding: {
      on: {
        STEP_DONE: [
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
          { ...BACK_TO_GATE, guard: and(['codeStepFailed', 'hasKeptPatch']) },
          { guard: 'codeStepFailed', target: 'failed', actions: 'failWith' },
        ],
        ...WHILE_REVISING,
      },
    },
    testing: {
      on: {
        STEP_DONE: [
          // The tests cannot run here (the base commit fails the same way): no revision can fix that.
          { ...BACK_TO_GATE, guard: and(['testsCannotRun', 'hasKeptPatch']) },
          { guard: 'testsCannotRun', target: 'failed', actions: 'failWith' },
          { guard: isStep('test'), target: 'reviewing' },
        ],
        STEP_FAILED: [
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
          { guard: 'approvedReview', target: 'approved' },
          { guard: 'attemptsLeft', target: 'coding', actions: 'nextAttempt' },
          BACK_TO_GATE,
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
      always: [{ guard: 'autoApprove', target: 'integrating' }, { target: 'awaiting_approval' }],
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
  if (event.type === 'BUDGET_EXCEEDED' || event.type === 'DEAD_LETTER' || event.type === 'BUDGET_STOPPED')
    return event.reason;
  if (event.type === 'STEP_DONE' && event.kind === 'test') return testsCannotRunReason(event.data);
  return 'the reviewer kept asking for revisions and the attempt budget is used up';
}

export interface WorkflowInput {
  maxAttempts: number;
  approveMode: 'auto' | 'manual';
  planGate?: boolean;
}

function initialContext(input: WorkflowInput): WorkflowContext {
  return {
    attempt: 0,
    maxAttempts: input.maxAttempts,
    approveMode: input.approveMode,
    ...(input.planGate ? { planGate: true } : {}),
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
  if (current.value === 'failed' || current.value === 'rolled_back') return { next: current, changed: false };
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
