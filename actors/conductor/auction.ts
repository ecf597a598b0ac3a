// Contract-net for one step: announce, collect bids, award by compare-and-set, notify the winner.
import { createInbox } from '@nats-io/transport-node';
import { type MeshConnection, RevisionConflictError } from '../../blackboard/index.ts';
import {
  type Announce,
  Award,
  type AwardNotice,
  Bid,
  capabilityFor,
  keys,
  type StepKind,
  stepId as makeStepId,
  subjects,
} from '../../schemas/index.ts';

export interface AuctionOptions {
  /** After the first bid, wait this long for better ones (not once every step has an idle bidder). */
  graceMs?: number;
  /** Give up (no award) when no bid arrived in this time. */
  maxWaitMs?: number;
  /** Time the winner has to accept and start renewing. */
  leaseMs?: number;
  now?: () => number;
  /** Instances that recently let a lease lapse: their bids rank after everyone else's. */
  suspects?: ReadonlySet<string>;
  /**
   * Work the conductor knows an instance holds that its bid may not count yet (sibling subtasks awarded a moment
   * ago, before the winner took them up): a bid's load is at least this. Steps of one `runAuctions` round count
   * what the round gave out on top.
   */
  knownLoad?: ReadonlyMap<string, number>;
}

export interface AuctionStep {
  taskId: string;
  kind: StepKind;
  attempt: number;
  /** One part of a fanned-out code step (`s<n>-<subtask>`, `m<n>`). */
  part?: string;
}

/** Lower is better: least loaded, then warm (it ran a step of this task), then cheapest, then the instance id. */
export function compareBids(a: Bid, b: Bid): number {
  return (
    a.load - b.load ||
    Number(!a.warm) - Number(!b.warm) ||
    a.estCostUsd - b.estCostUsd ||
    a.instanceId.localeCompare(b.instanceId)
  );
}

/**
 * Runs one round. Returns the award that holds for this step after the round (possibly another
 * coordinator's, when two raced), or undefined when nobody bid.
 */
export async function runAuction(
  mesh: MeshConnection,
  step: AuctionStep,
  round: number,
  opts: AuctionOptions = {},
): Promise<Award | undefined> {
  return (await runAuctions(mesh, [{ step, round }], opts))[0];
}

/** Whether every step can go to its own idle bidder (load 0, not suspect): no later bid could rank better. */
function everyStepHasAnIdleBidder(
  sids: readonly string[],
  bids: ReadonlyMap<string, Bid[]>,
  suspects: ReadonlySet<string> | undefined,
): boolean {
  const used = new Set<string>();
  for (const sid of sids) {
    const idle = (bids.get(sid) ?? []).find(
      (b) => b.load === 0 && !used.has(b.instanceId) && !suspects?.has(b.instanceId),
    );
    if (!idle) return false;
    used.add(idle.instanceId);
  }
  return true;
}

/**
 * One round for several steps at once (the parts of a fanned-out code step, k candidates): every announce goes
 * out together and the bids are collected in one window, so the last part is not awarded a grace period per
 * earlier part later. The window closes `graceMs` after the first bid, or as soon as every step has its own idle
 * bidder (a warm instance's bid, which would only break a tie among idle ones, is then not waited for). Steps are then given out in order, each to its best bidder counting what this round already gave it
 * as load, so the work spreads. Returns each step's award after the round, as `runAuction` does.
 */
export async function runAuctions(
  mesh: MeshConnection,
  steps: ReadonlyArray<{ step: AuctionStep; round: number }>,
  opts: AuctionOptions = {},
): Promise<Array<Award | undefined>> {
  const now = opts.now ?? Date.now;
  const sids = steps.map(({ step }) => makeStepId(step.taskId, step.kind, step.attempt, step.part));
  const roundOf = new Map(sids.map((sid, i) => [sid, steps[i]!.round]));
  const inbox = createInbox();
  const bids = new Map<string, Bid[]>(sids.map((sid) => [sid, []]));
  const sub = mesh.nc.subscribe(inbox);
  const graceMs = opts.graceMs ?? 5;
  const maxWaitMs = opts.maxWaitMs ?? 500;
  const collected = (async () => {
    let first = true;
    let timer = setTimeout(() => sub.unsubscribe(), maxWaitMs);
    for await (const m of sub) {
      const b = Bid.safeParse(m.json());
      if (!b.success || roundOf.get(b.data.stepId) !== b.data.round) continue;
      const known = opts.knownLoad?.get(b.data.instanceId) ?? 0;
      bids.get(b.data.stepId)!.push({ ...b.data, load: Math.max(b.data.load, known) });
      if (first) {
        first = false;
        clearTimeout(timer);
        timer = setTimeout(() => sub.unsubscribe(), graceMs);
      }
      if (everyStepHasAnIdleBidder(sids, bids, opts.suspects)) {
        clearTimeout(timer);
        sub.unsubscribe();
      }
    }
    clearTimeout(timer);
  })();
  await Promise.all(
    steps.map(({ step, round }, i) => {
      const announce: Announce = {
        stepId: sids[i]!,
        taskId: step.taskId,
        kind: step.kind,
        attempt: step.attempt,
        ...(step.part ? { part: step.part } : {}),
        round,
        replyTo: inbox,
        at: new Date(now()).toISOString(),
      };
      return mesh.js.publish(subjects.announce(capabilityFor[step.kind]), JSON.stringify(announce), {
        msgID: `${sids[i]}#${round}#${inbox}`,
      });
    }),
  );
  await collected;
  const suspect = (b: Bid) => (opts.suspects?.has(b.instanceId) ? 1 : 0);
  const given = new Map<string, number>();
  const winners = sids.map((sid) => {
    const ranked = (bids.get(sid) ?? [])
      .map((b) => ({ ...b, load: b.load + (given.get(b.instanceId) ?? 0) }))
      .sort((a, b) => suspect(a) - suspect(b) || compareBids(a, b));
    const best = ranked[0];
    if (best) given.set(best.instanceId, (given.get(best.instanceId) ?? 0) + 1);
    return best;
  });
  return Promise.all(
    steps.map(({ step, round }, i) => {
      const best = winners[i];
      return best ? award(mesh, step, sids[i]!, round, best.instanceId, opts) : undefined;
    }),
  );
}

/** Awards the step to the instance by compare-and-set and notifies it; another coordinator's award stands. */
async function award(
  mesh: MeshConnection,
  step: AuctionStep,
  sid: string,
  round: number,
  instanceId: string,
  opts: AuctionOptions,
): Promise<Award | undefined> {
  const now = opts.now ?? Date.now;
  const award: Award = {
    stepId: sid,
    taskId: step.taskId,
    kind: step.kind,
    attempt: step.attempt,
    ...(step.part ? { part: step.part } : {}),
    round,
    instanceId,
    state: 'awarded',
    leaseUntil: now() + (opts.leaseMs ?? 15_000),
    awardedAt: now(),
  };
  const key = keys.award(sid);
  let revision: number;
  try {
    const cur = await mesh.board.get(key, Award);
    if (!cur) revision = (await mesh.board.create(key, Award, award)).revision;
    else if (cur.value.round < round && (cur.value.state === 'expired' || cur.value.state === 'failed'))
      revision = (await mesh.board.update(key, Award, award, cur.revision)).revision;
    else return cur.value;
  } catch (err) {
    if (!(err instanceof RevisionConflictError)) throw err;
    // Another coordinator awarded this step first: its award stands.
    return (await mesh.board.get(key, Award))?.value;
  }
  const notice: AwardNotice = { stepId: sid, round, revision };
  mesh.nc.publish(subjects.award(instanceId), JSON.stringify(notice));
  return award;
}
