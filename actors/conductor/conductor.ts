// The conductor: applies task events to each task's workflow, announces and awards the next step, and
// re-announces steps whose winner went silent. Any number of conductors may run; CAS keeps them consistent.
import {
  consumeEvents,
  type DeadLettered,
  type MeshConnection,
  type RedeliveryPolicy,
} from '../../blackboard/index.ts';
import {
  Award,
  BudgetState,
  Consumers,
  CostLedger,
  keys,
  Plan,
  stepId,
  subjects,
  type TaskEvent,
  TaskRecord,
} from '../../schemas/index.ts';
import { hardBudgetReason } from '../runtime/budget.ts';
import { stepOutcomeEvent } from '../runtime/step-event.ts';
import { runAuction } from './auction.ts';
import { applyWorkflowEvent, currentStep, statusOf, type WorkflowEvent } from './workflow.ts';

export interface ConductorOptions {
  leaseMs?: number;
  /** How often stalled steps are looked for. */
  sweepMs?: number;
  /** A step with no award is announced again after this long. */
  reannounceMs?: number;
  graceMs?: number;
  now?: () => number;
  log?: (line: string) => void;
  /** The durable consumer's name (tests give each conductor its own) and its bounded redelivery. */
  consumer?: string;
  redelivery?: RedeliveryPolicy;
}

export class Conductor {
  private consumer?: { close(): Promise<void> };
  private sweeper?: NodeJS.Timeout;
  private readonly queues = new Map<string, Promise<void>>();
  private readonly rounds = new Map<string, { round: number; at: number; inFlight: boolean }>();
  private readonly active = new Set<string>();
  /** Instances whose lease lapsed recently, and until when they rank last in auctions. */
  private readonly suspects = new Map<string, number>();
  private readonly now: () => number;

  constructor(
    private readonly mesh: MeshConnection,
    private readonly opts: ConductorOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
  }

  async start(): Promise<void> {
    for (const k of await this.mesh.board.keys('task.>')) this.active.add(k.slice('task.'.length));
    this.consumer = await consumeEvents(
      this.mesh.js,
      this.mesh.jsm,
      this.opts.consumer ?? Consumers.conductor,
      (event, delivery) =>
        this.enqueue(event.taskId, async () => {
          try {
            await this.handle(event);
            delivery.ack();
          } catch (err) {
            // Bounded: retried with backoff, then dead-lettered with the reason (blackboard/bus.ts).
            await delivery.fail(err);
          }
        }),
      (l) => this.log(l),
      {
        nc: this.mesh.nc,
        policy: this.opts.redelivery,
        onDeadLetter: (letter) => {
          const taskId = letter.taskId;
          if (taskId) this.enqueue(taskId, () => this.deadLettered(taskId, letter));
        },
      },
    );
    const sweepMs = this.opts.sweepMs ?? 1000;
    this.sweeper = setInterval(
      () => void this.sweep().catch((e) => this.log(`sweep: ${String(e)}`)),
      sweepMs,
    );
  }

  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    await this.consumer?.close();
    await Promise.allSettled([...this.queues.values()]);
  }

  private log(line: string): void {
    this.opts.log?.(`[conductor] ${line}`);
  }

  /** Events of one task are handled in order; different tasks in parallel. */
  private enqueue(taskId: string, fn: () => Promise<void>): void {
    const prev = this.queues.get(taskId) ?? Promise.resolve();
    const run = () => fn().catch((err) => this.log(`task ${taskId}: ${String(err)}`));
    const next = prev.then(run, run);
    this.queues.set(taskId, next);
    void next.finally(() => {
      if (this.queues.get(taskId) === next) this.queues.delete(taskId);
    });
  }

  /** Idempotent: a redelivered event finds the workflow already past it and changes nothing. */
  async handle(event: TaskEvent): Promise<void> {
    this.active.add(event.taskId);
    let wfEvent = toWorkflowEvent(event);
    if (wfEvent?.type === 'BUDGET_PAUSED' && (await this.raisedSince(event))) wfEvent = undefined;
    if (wfEvent) await this.apply(event.taskId, wfEvent);
    if (event.type === 'task.created' || wfEvent) await this.advance(event.taskId);
  }

  /** A pause that a raise already answered (the raise was handled first): the call it names goes on. */
  private async raisedSince(event: TaskEvent): Promise<boolean> {
    const budget = (await this.mesh.board.get(keys.budget(event.taskId), BudgetState))?.value;
    return budget !== undefined && budget.version > Number(event.data.version ?? 0);
  }

  private async apply(taskId: string, wfEvent: WorkflowEvent): Promise<void> {
    await this.mesh.board.mutate(keys.task(taskId), TaskRecord, (task) => {
      if (!task) return undefined;
      const { next, changed } = applyWorkflowEvent(task.workflow, wfEvent);
      if (!changed) return undefined;
      const ctx = next.context as {
        attempt?: number;
        branch?: string;
        commit?: string;
        reason?: string;
        rollbackBranch?: string;
      };
      return {
        ...task,
        workflow: next,
        status: statusOf(next),
        attempt: Number(ctx.attempt ?? task.attempt),
        branch: ctx.branch || task.branch,
        commit: ctx.commit || task.commit,
        rollbackBranch: ctx.rollbackBranch || task.rollbackBranch,
        reason: ctx.reason ?? task.reason,
        updatedAt: new Date(this.now()).toISOString(),
      };
    });
  }

  /**
   * An event of the task was given up on: whatever the task waited for may never come, so it fails (a rollback
   * under way ends with the commit standing), with a reason that names the dead letter. Retried a few times:
   * a task left waiting is what this prevents.
   */
  private async deadLettered(taskId: string, l: DeadLettered): Promise<void> {
    const what = l.eventId ? `event ${l.eventId}${l.type ? ` (${l.type})` : ''}` : `message ${l.seq}`;
    const reason = `the conductor gave up on ${what} after ${l.deliveries} deliveries: dead letter ${l.dlqSeq} on ${subjects.dlq(l.consumer)} (${l.reason.slice(0, 500)})`;
    for (let i = 0; ; i++) {
      try {
        await this.apply(taskId, { type: 'DEAD_LETTER', reason });
        await this.advance(taskId);
        this.log(`task ${taskId}: ${reason}`);
        return;
      } catch (err) {
        if (i >= 4) throw err;
        await new Promise((r) => setTimeout(r, 500 * 2 ** i));
      }
    }
  }

  /** Publishes what the task's state implies and makes sure its current step is announced and awarded. */
  private async advance(taskId: string, opts: { sweep?: boolean } = {}): Promise<void> {
    const task = (await this.mesh.board.get(keys.task(taskId), TaskRecord))?.value;
    if (!task) return;
    // A sweep only re-announces stalled steps. The events a state implies are published when an event is
    // handled (a redelivery after a crash publishes them again); re-publishing them from every sweep would
    // repeat them once the stream's de-duplication window has passed.
    if (opts.sweep && !currentStep(task.workflow) && task.status !== 'awaiting_budget') {
      // Finished tasks leave the sweep; a later event (a rollback request) brings one back.
      if (task.status === 'completed' || task.status === 'failed' || task.status === 'rolled_back')
        this.active.delete(taskId);
      return;
    }
    const at = new Date(this.now()).toISOString();
    const ctx = task.workflow.context as { patchId?: string };
    switch (task.status) {
      case 'awaiting_plan_approval': {
        const plan = (await this.mesh.board.get(keys.plan(taskId), Plan))?.value;
        await this.mesh.bus.publish({
          id: `${taskId}:plan-approval-requested`,
          taskId,
          type: 'plan.approval_requested',
          at,
          data: { subtasks: plan?.subtasks.length ?? 0 },
        });
        return;
      }
      // The `budget` gate: the pause event was the notice; the decision comes over HTTP. A hard limit (the wall
      // time) still stops a task waiting there.
      case 'awaiting_budget':
        await this.overBudget(task);
        return;
      case 'awaiting_approval':
        await this.mesh.bus.publish({
          id: `${taskId}:approval-requested:${ctx.patchId}`,
          taskId,
          type: 'approval.requested',
          at,
          data: { patchId: ctx.patchId },
        });
        return;
      case 'completed':
        this.active.delete(taskId);
        await this.mesh.bus.publish({
          id: `${taskId}:completed`,
          taskId,
          type: 'task.completed',
          at,
          data: { branch: task.branch, commit: task.commit },
        });
        return;
      case 'rolled_back':
        this.active.delete(taskId);
        await this.mesh.bus.publish({
          id: `${taskId}:rolled-back`,
          taskId,
          type: 'task.rolled_back',
          at,
          data: { branch: task.rollbackBranch, of: task.commit },
        });
        return;
      case 'failed':
        this.active.delete(taskId);
        await this.mesh.bus.publish({
          id: `${taskId}:failed`,
          taskId,
          type: 'task.failed',
          at,
          data: { reason: task.reason },
        });
        return;
      default:
        break;
    }
    if (await this.overBudget(task)) return;
    await this.ensureStep(task);
  }

  /**
   * The hard limits, checked between steps on what was really spent (a call's reservation is an estimate): the
   * ledger, the budget entry's settled spending, the wall time since the task was created.
   */
  private async overBudget(task: TaskRecord): Promise<boolean> {
    const [ledger, budget] = await Promise.all([
      this.mesh.board.get(keys.cost(task.id), CostLedger),
      this.mesh.board.get(keys.budget(task.id), BudgetState),
    ]);
    const reason = hardBudgetReason(task, ledger?.value, budget?.value, this.now());
    if (!reason) return false;
    await this.apply(task.id, { type: 'BUDGET_EXCEEDED', reason });
    await this.advance(task.id);
    return true;
  }

  private async ensureStep(task: TaskRecord): Promise<void> {
    const step = currentStep(task.workflow);
    if (!step) return;
    const sid = stepId(task.id, step.kind, step.attempt);
    const award = (await this.mesh.board.get(keys.award(sid), Award))?.value;
    const mem = this.rounds.get(sid) ?? { round: 0, at: 0, inFlight: false };
    if (mem.inFlight) return;
    let round: number;
    if (award) {
      if (award.state === 'done' || award.state === 'failed') {
        await this.publishUnsentOutcome(award);
        return;
      }
      const live = award.state === 'awarded' || award.state === 'running';
      if (live && award.leaseUntil > this.now()) return;
      if (live) {
        // The winner went silent: expire its award (CAS) and announce the step again.
        const expired = await this.mesh.board.mutate(keys.award(sid), Award, (a) =>
          a &&
          a.round === award.round &&
          (a.state === 'awarded' || a.state === 'running') &&
          a.leaseUntil <= this.now()
            ? { ...a, state: 'expired' as const }
            : undefined,
        );
        if (expired?.value.state !== 'expired' || expired.value.round !== award.round) return;
        this.suspects.set(award.instanceId, this.now() + 10 * (this.opts.leaseMs ?? 15_000));
        this.log(`${sid} round ${award.round}: lease of ${award.instanceId} lapsed, re-announcing`);
      }
      round = Math.max(award.round, mem.round) + 1;
    } else {
      if (mem.round > 0 && this.now() - mem.at < (this.opts.reannounceMs ?? 1000)) return;
      round = mem.round + 1;
    }
    this.rounds.set(sid, { round, at: this.now(), inFlight: true });
    try {
      for (const [id, until] of this.suspects) if (until < this.now()) this.suspects.delete(id);
      const won = await runAuction(this.mesh, { taskId: task.id, ...step }, round, {
        suspects: new Set(this.suspects.keys()),
        leaseMs: this.opts.leaseMs,
        graceMs: this.opts.graceMs,
        now: this.now,
      });
      if (won) {
        await this.mesh.bus.publish({
          id: `${sid}#${won.round}:awarded`,
          taskId: task.id,
          type: 'step.awarded',
          at: new Date(this.now()).toISOString(),
          step: { kind: step.kind, attempt: step.attempt, round: won.round },
          data: { instanceId: won.instanceId },
        });
      }
    } finally {
      this.rounds.set(sid, { round, at: this.now(), inFlight: false });
    }
  }

  /**
   * The task still waits for a step whose award is closed: its winner closed the award but its event never
   * reached the stream (killed in between, or NATS went away). After a lease's time, the conductor publishes
   * the event from the award's outcome, under the same id (a late original is de-duplicated).
   */
  private async publishUnsentOutcome(award: Award): Promise<void> {
    if (!award.outcome || this.now() - award.leaseUntil < (this.opts.leaseMs ?? 15_000)) return;
    const event = stepOutcomeEvent(award, award.outcome);
    const { duplicate } = await this.mesh.bus.publish({ ...event, at: new Date(this.now()).toISOString() });
    if (!duplicate)
      this.log(`${award.stepId}: published ${event.type} for ${award.instanceId}, which did not`);
  }

  /** Looks at every active task: announces unawarded steps again and takes back lapsed leases. */
  async sweep(): Promise<void> {
    for (const taskId of [...this.active]) {
      if (this.queues.has(taskId)) continue;
      this.enqueue(taskId, () => this.advance(taskId, { sweep: true }));
    }
  }
}

export function toWorkflowEvent(e: TaskEvent): WorkflowEvent | undefined {
  switch (e.type) {
    case 'step.completed':
      return e.step
        ? { type: 'STEP_DONE', kind: e.step.kind, attempt: e.step.attempt, data: e.data }
        : undefined;
    case 'step.failed':
      return e.step
        ? {
            type: 'STEP_FAILED',
            kind: e.step.kind,
            attempt: e.step.attempt,
            reason: String(e.data.reason ?? ''),
          }
        : undefined;
    case 'approval.granted':
      return { type: 'APPROVED', patchId: String(e.data.patchId ?? '') };
    case 'plan.approved':
      return { type: 'PLAN_APPROVED' };
    case 'plan.rejected':
      return { type: 'PLAN_REJECTED', comment: String(e.data.comment ?? '') };
    case 'budget.paused':
      return e.step
        ? {
            type: 'BUDGET_PAUSED',
            kind: e.step.kind,
            attempt: e.step.attempt,
            reason: String(e.data.reason ?? ''),
          }
        : undefined;
    case 'budget.raised':
      return { type: 'BUDGET_RAISED' };
    case 'budget.stopped':
      return {
        type: 'BUDGET_STOPPED',
        reason: `stopped at the budget gate by ${String(e.data.by ?? '?')}${e.data.comment ? `: ${String(e.data.comment)}` : ''}`,
      };
    case 'budget.exceeded':
      return { type: 'BUDGET_EXCEEDED', reason: String(e.data.reason ?? 'hard budget') };
    case 'rollback.requested':
      return { type: 'ROLLBACK', by: String(e.data.by ?? '') };
    case 'approval.changes_requested':
      return {
        type: 'CHANGES_REQUESTED',
        patchId: String(e.data.patchId ?? ''),
        comment: String(e.data.comment ?? ''),
      };
    default:
      return undefined;
  }
}
