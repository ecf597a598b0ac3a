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
  fanoutSubtasks,
  isCampaignEvent,
  keys,
  mergePart,
  Plan,
  parsePart,
  REPRO_PART,
  type StepKind,
  type Subtask,
  stepId,
  subjects,
  subtaskPart,
  type TaskEvent,
  TaskRecord,
} from '../../schemas/index.ts';
import { effectivePlan } from '../runtime/effective-plan.ts';
import { hardBudgetReason } from '../runtime/budget.ts';
import { stepOutcomeEvent } from '../runtime/step-event.ts';
import { runAuctions } from './auction.ts';
import { candidateStepFailed, pendingCandidateParts, recordAbstention } from './candidates.ts';
import { ensureSubtaskRecords, markAwarded, markSubtask } from './fanout.ts';
import {
  applyWorkflowEvent,
  approvablePatches,
  candidatesOf,
  currentStep,
  fanoutOf,
  type MergeConflict,
  reproducePending,
  type RevisionFailed,
  statusOf,
  type WorkflowEvent,
} from './workflow.ts';

/** How long an auction of a fanned-out part collects bids after the first one. */
const PART_GRACE_MS = 200;

interface StepRef {
  kind: StepKind;
  attempt: number;
  part?: string;
}

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
  /** How often the parts of large blackboard entries nobody points to are removed (default 10 min; 0 = never). */
  blobGcMs?: number;
}

export class Conductor {
  private consumer?: { close(): Promise<void> };
  private sweeper?: NodeJS.Timeout;
  private blobGc?: NodeJS.Timeout;
  private readonly queues = new Map<string, Promise<void>>();
  /** Tasks being failed for a dead letter (outside the queues). */
  private readonly failing = new Set<Promise<void>>();
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
        // Not queued behind the task's other events: the handling that was given up on may still hang in
        // that queue (a letter of the server's max-deliveries), and the task would then never fail. The task
        // record changes by CAS, as with several conductors at once.
        onDeadLetter: (letter) => {
          const taskId = letter.taskId;
          if (!taskId) return;
          const run = this.deadLettered(taskId, letter)
            .catch((err) => this.log(`task ${taskId}: ${String(err)}`))
            .finally(() => this.failing.delete(run));
          this.failing.add(run);
        },
      },
    );
    const sweepMs = this.opts.sweepMs ?? 1000;
    this.sweeper = setInterval(
      () => void this.sweep().catch((e) => this.log(`sweep: ${String(e)}`)),
      sweepMs,
    );
    const blobGcMs = this.opts.blobGcMs ?? 600_000;
    if (blobGcMs > 0) {
      // Every conductor may run it: a part is purged only at the revision it was seen unreferenced with.
      this.blobGc = setInterval(
        () =>
          void this.mesh.board
            .collectBlobParts()
            .then((r) => r.removed && this.log(`blob gc: removed ${r.removed} of ${r.parts} part(s)`))
            .catch((e) => this.log(`blob gc: ${String(e)}`)),
        blobGcMs,
      );
      this.blobGc.unref();
    }
  }

  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.blobGc) clearInterval(this.blobGc);
    await this.consumer?.close();
    await Promise.allSettled([...this.queues.values(), ...this.failing]);
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
    // A campaign's events share the stream (cm.evt.<campaignId>); they are no task's.
    if (isCampaignEvent(event)) return;
    this.active.add(event.taskId);
    let wfEvent = toWorkflowEvent(event);
    if (wfEvent?.type === 'BUDGET_PAUSED' && (await this.raisedSince(event))) wfEvent = undefined;
    if (wfEvent) await this.apply(event.taskId, wfEvent);
    if (event.step?.part && (event.type === 'step.completed' || event.type === 'step.failed'))
      await this.partEnded(event);
    if (event.type === 'task.created' || wfEvent) await this.advance(event.taskId);
  }

  /**
   * A part of a fanned-out code step ended (after the workflow took it in): the subtask records follow, and a
   * merge conflict is published as `subtask.conflict` (re-awarded as a rebase, or the task failed).
   */
  private async partEnded(event: TaskEvent): Promise<void> {
    const { taskId } = event;
    const { attempt, part } = event.step!;
    const p = parsePart(part);
    const at = new Date(this.now()).toISOString();
    if (!p || 'repro' in p) return;
    if ('candidate' in p) return candidateStepFailed(this.mesh.board, event, at);
    if ('subtask' in p) {
      if (event.type === 'step.failed')
        await markSubtask(
          this.mesh.board,
          taskId,
          attempt,
          p.subtask,
          { state: 'failed', reason: String(event.data.reason ?? '') },
          at,
          part,
        );
      return;
    }
    if (event.type !== 'step.completed') return;
    const conflict = event.data.conflict as MergeConflict | undefined;
    const task = (await this.mesh.board.get(keys.task(taskId), TaskRecord))?.value;
    if (!task) return;
    if (!conflict) {
      const merged = Array.isArray(event.data.subtasks) ? event.data.subtasks.map(String) : [];
      for (const id of merged)
        await markSubtask(this.mesh.board, taskId, attempt, id, { state: 'merged' }, at);
      return;
    }
    const f = fanoutOf(task.workflow.context);
    const rebased = task.status !== 'failed';
    const rebase = f.rebase[conflict.subtask] ?? 0;
    await markSubtask(
      this.mesh.board,
      taskId,
      attempt,
      conflict.subtask,
      rebased
        ? {
            state: 'rebasing',
            rebase,
            part: subtaskPart(conflict.subtask, rebase),
            onto: conflict.with,
            owner: null,
            reason: `conflicted with ${conflict.with.join(', ')} in ${conflict.files.join(', ')}`,
          }
        : { state: 'conflict', reason: task.reason ?? 'merge conflict' },
      at,
    );
    await this.mesh.bus.publish({
      id: `${taskId}:subtask-conflict:${attempt}:${part}`,
      taskId,
      type: 'subtask.conflict',
      at,
      step: { kind: 'code', attempt, part },
      data: { ...conflict, action: rebased ? 'rebase' : 'failed', rebase },
    });
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
        revisionFailed?: RevisionFailed;
      };
      const approvable = approvablePatches(next).approve;
      return {
        ...task,
        workflow: next,
        status: statusOf(next),
        approvable: approvable.length ? approvable : undefined,
        revisionFailed: ctx.revisionFailed,
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
      if (['completed', 'failed', 'rolled_back', 'abstained'].includes(task.status))
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
      // The patch gate. Each arrival is its own request (a task back from a failed revision asks again).
      case 'awaiting_approval': {
        const {
          gate = 1,
          revisionFailed,
          policyBlocked,
        } = task.workflow.context as {
          gate?: number;
          revisionFailed?: RevisionFailed;
          policyBlocked?: string[];
        };
        if (revisionFailed)
          await this.mesh.bus.publish({
            id: `${taskId}:revision-failed:${gate}`,
            taskId,
            type: 'revision.failed',
            at,
            data: { ...revisionFailed, gate },
          });
        await this.mesh.bus.publish({
          id: `${taskId}:approval-requested:${ctx.patchId}:${gate}`,
          taskId,
          type: 'approval.requested',
          at,
          data: {
            patchId: ctx.patchId,
            gate,
            approvable: approvablePatches(task.workflow).approve,
            ...(revisionFailed ? { revisionFailed } : {}),
            // Approvable only with an approver's override of these rules (POST /v1/patches/{id}/approve).
            ...(policyBlocked?.length ? { policyBlocked } : {}),
          },
        });
        return;
      }
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
      // k candidates and none earned selection: the evidence is recorded, no patch is proposed.
      case 'abstained': {
        this.active.delete(taskId);
        const c = candidatesOf(task.workflow.context);
        const sel = c ? await recordAbstention(this.mesh.board, task, c, at) : undefined;
        await this.mesh.bus.publish({
          id: `${taskId}:abstained`,
          taskId,
          type: 'task.abstained',
          at,
          data: {
            reason: task.reason,
            candidates: (sel?.candidates ?? []).map(({ candidate, tier, why, votes, patchId }) => ({
              candidate,
              tier,
              why,
              votes,
              ...(patchId ? { patchId } : {}),
            })),
          },
        });
        return;
      }
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
    // The test-writing part runs first, alone: the Coders then start with its test in the working tree.
    if (step.kind === 'code' && reproducePending(task.workflow.context)) {
      await this.ensurePart(task, { ...step, part: REPRO_PART });
      return;
    }
    // k candidates: the first attempt's code and test steps are one part per candidate, all announced at once.
    const cands = step.attempt === 1 ? candidatesOf(task.workflow.context) : undefined;
    if (cands && (step.kind === 'code' || step.kind === 'test'))
      return this.ensureParallel(task, step.kind, pendingCandidateParts(cands, step.kind));
    // The first attempt of a plan with two or more file-changing subtasks is fanned out over the Coders.
    if (step.kind === 'code' && step.attempt === 1) {
      const subs = fanoutSubtasks(await effectivePlan(this.mesh.board, task.id));
      if (subs) return this.ensureFanout(task, subs);
    }
    await this.ensurePart(task, step);
  }

  /**
   * Every subtask whose dependencies are done is announced as its own part of the code step, at once (each
   * auction knows which Coders just won a sibling, so the work spreads); when all are done, the merge part.
   */
  private async ensureFanout(task: TaskRecord, subs: Subtask[]): Promise<void> {
    const f = fanoutOf(task.workflow.context);
    const at = () => new Date(this.now()).toISOString();
    await ensureSubtaskRecords(this.mesh.board, task.id, 1, subs, f, at());
    const pending = subs.filter((s) => f.done[s.id] === undefined);
    if (pending.length === 0) {
      await this.ensurePart(task, { kind: 'code', attempt: 1, part: mergePart(f.merges) });
      return;
    }
    const partOf = (s: Subtask) => subtaskPart(s.id, f.rebase[s.id] ?? 0);
    const held = await this.heldLoad(task.id, 'code', pending.map(partOf));
    const ready = pending.filter((s) => s.dependsOn.every((d) => f.done[d] !== undefined));
    const won = await this.ensureParts(
      task,
      ready.map((s) => ({ kind: 'code' as const, attempt: 1, part: partOf(s) })),
      held,
    );
    for (const w of won) await markAwarded(this.mesh.board, w, at());
  }

  /** Instances holding a live award of one of these parts, and how many each holds. */
  private async heldLoad(taskId: string, kind: StepKind, parts: string[]): Promise<Map<string, number>> {
    const held = new Map<string, number>();
    await Promise.all(
      parts.map(async (part) => {
        const a = (await this.mesh.board.get(keys.award(stepId(taskId, kind, 1, part)), Award))?.value;
        if (a && (a.state === 'awarded' || a.state === 'running') && a.leaseUntil > this.now())
          held.set(a.instanceId, (held.get(a.instanceId) ?? 0) + 1);
      }),
    );
    return held;
  }

  /**
   * Independent parts of one step (candidates), announced at once; each auction knows which instances just won
   * a sibling, so the work spreads over idle ones.
   */
  private async ensureParallel(task: TaskRecord, kind: 'code' | 'test', parts: string[]): Promise<void> {
    const held = await this.heldLoad(task.id, kind, parts);
    await this.ensureParts(
      task,
      parts.map((part) => ({ kind, attempt: 1, part })),
      held,
    );
  }

  /** Announces and awards one step (or one part of a fanned-out code step); returns a new award. */
  private async ensurePart(task: TaskRecord, step: StepRef): Promise<Award | undefined> {
    return (await this.ensureParts(task, [step]))[0];
  }

  /**
   * Announces the steps that need it (never announced, or their winner went silent) in one auction round and
   * awards them; returns the new awards.
   */
  private async ensureParts(
    task: TaskRecord,
    steps: StepRef[],
    knownLoad?: ReadonlyMap<string, number>,
  ): Promise<Award[]> {
    const open: Array<{ step: StepRef; sid: string; round: number }> = [];
    for (const step of steps) {
      const sid = stepId(task.id, step.kind, step.attempt, step.part);
      const round = await this.nextRound(sid);
      if (round !== undefined) open.push({ step, sid, round });
    }
    if (open.length === 0) return [];
    try {
      for (const [id, until] of this.suspects) if (until < this.now()) this.suspects.delete(id);
      const anyPart = open.some((o) => o.step.part);
      const won = await runAuctions(
        this.mesh,
        open.map(({ step, round }) => ({ step: { taskId: task.id, ...step }, round })),
        {
          suspects: new Set(this.suspects.keys()),
          leaseMs: this.opts.leaseMs,
          // Parts wait longer for bids: an idle Coder heard late would leave the work on a busy one (the round
          // closes at once when every part has an idle bidder).
          graceMs: anyPart ? Math.max(this.opts.graceMs ?? 5, PART_GRACE_MS) : this.opts.graceMs,
          now: this.now,
          knownLoad,
        },
      );
      const awarded: Award[] = [];
      for (const [i, w] of won.entries()) {
        const { step, sid } = open[i]!;
        if (!w) continue;
        awarded.push(w);
        await this.mesh.bus.publish({
          id: `${sid}#${w.round}:awarded`,
          taskId: task.id,
          type: 'step.awarded',
          at: new Date(this.now()).toISOString(),
          step: {
            kind: step.kind,
            attempt: step.attempt,
            round: w.round,
            ...(step.part ? { part: step.part } : {}),
          },
          data: { instanceId: w.instanceId },
        });
      }
      return awarded;
    } finally {
      for (const { sid, round } of open) this.rounds.set(sid, { round, at: this.now(), inFlight: false });
    }
  }

  /**
   * The round a step is announced in now, or undefined when it needs none (awarded and live, closed, or being
   * auctioned); a silent winner's award is expired first. Marks the step in flight.
   */
  private async nextRound(sid: string): Promise<number | undefined> {
    const award = (await this.mesh.board.get(keys.award(sid), Award))?.value;
    const mem = this.rounds.get(sid) ?? { round: 0, at: 0, inFlight: false };
    if (mem.inFlight) return undefined;
    let round: number;
    if (award) {
      if (award.state === 'done' || award.state === 'failed') {
        await this.publishUnsentOutcome(award);
        return undefined;
      }
      const live = award.state === 'awarded' || award.state === 'running';
      if (live && award.leaseUntil > this.now()) return undefined;
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
        if (expired?.value.state !== 'expired' || expired.value.round !== award.round) return undefined;
        this.suspects.set(award.instanceId, this.now() + 10 * (this.opts.leaseMs ?? 15_000));
        this.log(`${sid} round ${award.round}: lease of ${award.instanceId} lapsed, re-announcing`);
      }
      round = Math.max(award.round, mem.round) + 1;
    } else {
      if (mem.round > 0 && this.now() - mem.at < (this.opts.reannounceMs ?? 1000)) return undefined;
      round = mem.round + 1;
    }
    this.rounds.set(sid, { round, at: this.now(), inFlight: true });
    return round;
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
        ? { type: 'STEP_DONE', kind: e.step.kind, attempt: e.step.attempt, part: e.step.part, data: e.data }
        : undefined;
    case 'step.failed':
      return e.step
        ? {
            type: 'STEP_FAILED',
            kind: e.step.kind,
            attempt: e.step.attempt,
            part: e.step.part,
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
        reason: `stopped at the budget gate by ${String(e.data.byName ?? e.data.by ?? '?')}${e.data.comment ? `: ${String(e.data.comment)}` : ''}`,
      };
    case 'budget.exceeded':
      return { type: 'BUDGET_EXCEEDED', reason: String(e.data.reason ?? 'hard budget') };
    case 'quota.exceeded':
      return { type: 'BUDGET_EXCEEDED', reason: String(e.data.reason ?? "the org's daily quota") };
    case 'task.cancel_requested':
      return { type: 'CANCEL', reason: String(e.data.reason ?? 'cancelled') };
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
