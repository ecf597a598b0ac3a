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
  /** After the first bid, wait this long for better ones. */
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
   * ago, before the winner took them up): a bid's load is at least this.
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
  const now = opts.now ?? Date.now;
  const sid = makeStepId(step.taskId, step.kind, step.attempt, step.part);
  const inbox = createInbox();
  const bids: Bid[] = [];
  const sub = mesh.nc.subscribe(inbox);
  const graceMs = opts.graceMs ?? 5;
  const maxWaitMs = opts.maxWaitMs ?? 500;
  const collected = (async () => {
    let firstAt = 0;
    const timer = setTimeout(() => sub.unsubscribe(), maxWaitMs);
    for await (const m of sub) {
      const b = Bid.safeParse(m.json());
      if (!b.success || b.data.stepId !== sid || b.data.round !== round) continue;
      const known = opts.knownLoad?.get(b.data.instanceId) ?? 0;
      bids.push({ ...b.data, load: Math.max(b.data.load, known) });
      if (!firstAt) {
        firstAt = now();
        clearTimeout(timer);
        setTimeout(() => sub.unsubscribe(), graceMs);
      }
    }
  })();
  const announce: Announce = {
    stepId: sid,
    taskId: step.taskId,
    kind: step.kind,
    attempt: step.attempt,
    ...(step.part ? { part: step.part } : {}),
    round,
    replyTo: inbox,
    at: new Date(now()).toISOString(),
  };
  await mesh.js.publish(subjects.announce(capabilityFor[step.kind]), JSON.stringify(announce), {
    msgID: `${sid}#${round}#${inbox}`,
  });
  await collected;
  const suspect = (b: Bid) => (opts.suspects?.has(b.instanceId) ? 1 : 0);
  const best = bids.sort((a, b) => suspect(a) - suspect(b) || compareBids(a, b))[0];
  if (!best) return undefined;

  const award: Award = {
    stepId: sid,
    taskId: step.taskId,
    kind: step.kind,
    attempt: step.attempt,
    ...(step.part ? { part: step.part } : {}),
    round,
    instanceId: best.instanceId,
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
  mesh.nc.publish(subjects.award(best.instanceId), JSON.stringify(notice));
  return award;
}
