// Hosts one agent role on the mesh: bids on announced steps, runs awarded ones as XState actors under a lease.
import type { Subscription } from '@nats-io/transport-node';
import { createActor, toPromise } from 'xstate';
import { type MeshConnection, RevisionConflictError } from '../../blackboard/index.ts';
import {
  Announce,
  Award,
  AwardNotice,
  type Bid,
  keys,
  newId,
  subjects,
  TaskRecord,
} from '../../schemas/index.ts';
import { stepOutcomeEvent } from './step-event.ts';
import type { AgentDefinition, AgentDeps, StepInput, StepOutput } from './types.ts';

export interface AgentHostOptions {
  definition: AgentDefinition;
  deps: AgentDeps;
  instanceId?: string;
  /** Steps run at once by this instance; no bid is made beyond it. */
  concurrency?: number;
  /** Lease length; renewed every third of it while the step runs. */
  leaseMs?: number;
  log?: (line: string) => void;
}

interface Running {
  stop(): void;
}

export class AgentHost {
  readonly instanceId: string;
  private readonly running = new Map<string, Running>();
  private subs: Subscription[] = [];
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private stopped = false;
  /** Tasks this instance ran a step of lately (newest last): it bids `warm` on their other steps. */
  private readonly recentTasks: string[] = [];

  constructor(
    private readonly mesh: MeshConnection,
    private readonly opts: AgentHostOptions,
  ) {
    this.instanceId = opts.instanceId ?? newId(opts.definition.capability);
    this.concurrency = opts.concurrency ?? 4;
    this.leaseMs = opts.leaseMs ?? 15_000;
  }

  /** Accepted steps beyond this are not bid for. */
  private get maxQueued(): number {
    return this.concurrency * 8;
  }

  private active = 0;
  private readonly waiting: Array<() => void> = [];

  private acquireSlot(): Promise<void> {
    if (this.active < this.concurrency) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private releaseSlot(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }

  get load(): number {
    return this.running.size;
  }

  start(): void {
    const { nc } = this.mesh;
    const cap = this.opts.definition.capability;
    this.subs.push(
      nc.subscribe(subjects.announce(cap), {
        callback: (err, msg) => {
          if (err || this.stopped) return;
          const a = Announce.safeParse(msg.json());
          if (!a.success || this.running.size >= this.maxQueued || this.running.has(a.data.stepId)) return;
          const bid: Bid = {
            stepId: a.data.stepId,
            round: a.data.round,
            instanceId: this.instanceId,
            load: this.running.size,
            estCostUsd: this.opts.definition.estimateCostUsd?.(a.data.kind) ?? 0,
            ...(this.recentTasks.includes(a.data.taskId) ? { warm: true } : {}),
          };
          nc.publish(a.data.replyTo, JSON.stringify(bid));
        },
      }),
      nc.subscribe(subjects.award(this.instanceId), {
        callback: (err, msg) => {
          if (err || this.stopped) return;
          const n = AwardNotice.safeParse(msg.json());
          if (n.success)
            void this.onAward(n.data).catch((e) => this.log(`award ${n.data.stepId}: ${String(e)}`));
        },
      }),
    );
  }

  /** Stops bidding and aborts running steps (their leases lapse and the steps are re-announced). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const s of this.subs) s.unsubscribe();
    for (const r of this.running.values()) r.stop();
    this.running.clear();
  }

  private log(line: string): void {
    this.opts.log?.(`[${this.instanceId}] ${line}`);
  }

  private async onAward(notice: AwardNotice): Promise<void> {
    if (this.running.has(notice.stepId)) return;
    const { board } = this.mesh;
    const key = keys.award(notice.stepId);
    const cur = await board.get(key, Award);
    if (!cur || cur.value.instanceId !== this.instanceId || cur.value.round !== notice.round) return;
    if (cur.value.state !== 'awarded') return;
    // Accepting is a compare-and-set: a conductor that expired this award meanwhile wins.
    let rev = (
      await board.update(
        key,
        Award,
        { ...cur.value, state: 'running', leaseUntil: this.opts.deps.now() + this.leaseMs },
        cur.revision,
      )
    ).revision;
    const award = cur.value;
    const task = await board.get(keys.task(award.taskId), TaskRecord);
    if (!task) return;
    if (!this.recentTasks.includes(award.taskId)) this.recentTasks.push(award.taskId);
    if (this.recentTasks.length > 64) this.recentTasks.shift();

    const input: StepInput = {
      mesh: this.mesh,
      task: task.value,
      kind: award.kind,
      attempt: award.attempt,
      ...(award.part ? { part: award.part } : {}),
      round: award.round,
      stepId: award.stepId,
      instanceId: this.instanceId,
      deps: this.opts.deps,
    };
    let lost = false;
    // A step that fails across a drop of the NATS connection failed because of it, not because of the task.
    const disconnectsAtStart = this.mesh.disconnects;
    let actor: ReturnType<typeof createActor> | undefined;
    const renew = setInterval(
      () => {
        void board
          .update(
            key,
            Award,
            { ...award, state: 'running', leaseUntil: this.opts.deps.now() + this.leaseMs },
            rev,
          )
          .then((e) => {
            rev = e.revision;
          })
          .catch((err) => {
            // A NATS outage is not a lost lease: the next renewal tries again, and if the lease lapsed
            // meanwhile the conductor's expiry changes the revision and that renewal sees the conflict.
            if (!(err instanceof RevisionConflictError)) return;
            // The lease was taken over (expired and re-awarded): stop, the new holder finishes the step.
            lost = true;
            actor?.stop();
          });
      },
      Math.max(50, Math.floor(this.leaseMs / 3)),
    );
    this.running.set(award.stepId, {
      stop: () => {
        lost = true;
        actor?.stop();
      },
    });
    let out: StepOutput | undefined;
    // Accepted steps wait for a free slot with their lease renewed, so a busy agent still bids and wins
    // work (its reported load ranks it) instead of leaving steps unawarded until the next sweep.
    await this.acquireSlot();
    try {
      if (!lost && !this.stopped) {
        actor = createActor(this.opts.definition.machine, { input });
        actor.start();
        out = (await toPromise(actor)) as StepOutput;
      }
    } catch (err) {
      out = { ok: false, reason: err instanceof Error ? err.message : String(err) };
    } finally {
      this.releaseSlot();
      clearInterval(renew);
      this.running.delete(award.stepId);
    }
    if (!out || !actor) return;
    if (lost || this.stopped) return;
    if (actor.getSnapshot().status === 'stopped') return;
    if (!out.ok && (this.mesh.disconnects !== disconnectsAtStart || this.mesh.nc.isClosed())) {
      // Failed while NATS was away (a timeout, a closed request): infrastructure, not the task. The award is
      // left to lapse and the conductor announces the step again.
      this.log(`${award.stepId} failed during a NATS outage (${out.reason}): left for a later round`);
      return;
    }
    const finalState: Award['state'] = out.ok ? 'done' : 'failed';
    const outcome = out.ok
      ? { ok: true as const, data: out.data }
      : { ok: false as const, reason: out.reason };
    // Fenced by instance and round, not by revision: a renewal may still have been in flight.
    const mine = (a: Award | undefined) =>
      a?.instanceId === this.instanceId && a.round === award.round && a.state === 'running';
    const closed = await board.mutate(key, Award, (a) =>
      mine(a) ? { ...award, state: finalState, leaseUntil: this.opts.deps.now(), outcome } : undefined,
    );
    if (closed?.value.state !== finalState || closed.value.round !== award.round) return;
    await this.publishOutcome(stepOutcomeEvent(award, outcome));
    this.log(`${award.stepId} ${finalState}`);
  }

  /**
   * Publishes the event that ends a step, retrying through a NATS outage (the id de-duplicates). Given up only
   * when the host stops: the closed award still holds the outcome, and a conductor publishes it.
   */
  private async publishOutcome(event: Parameters<AgentDeps['emit']>[0]): Promise<void> {
    for (let i = 0; ; i++) {
      try {
        await this.opts.deps.emit(event);
        return;
      } catch (err) {
        if (this.stopped || this.mesh.nc.isClosed()) throw err;
        this.log(`${event.id} not published (${String(err)}), retrying`);
        await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** Math.min(i, 5))));
      }
    }
  }
}
