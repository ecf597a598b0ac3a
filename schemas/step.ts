// Contract-net records: step announcements, bids, awards (with leases) and path locks.
import { z } from 'zod';
import { StepKind, StepPart } from './ids.ts';

export const Capability = z.enum(['planner', 'coder', 'tester', 'reviewer', 'docwriter', 'integrator']);
export type Capability = z.infer<typeof Capability>;

export const capabilityFor: Record<StepKind, Capability> = {
  plan: 'planner',
  code: 'coder',
  test: 'tester',
  review: 'reviewer',
  docs: 'docwriter',
  integrate: 'integrator',
  rollback: 'integrator',
};

/** Published on `cm.work.announce.<capability>`; bids go to `replyTo` (a core NATS inbox). */
export const Announce = z.object({
  stepId: z.string(),
  taskId: z.string(),
  kind: StepKind,
  attempt: z.number().int().min(1),
  /** One part of a fanned-out code step (a subtask, or the merge of their patches); absent for whole steps. */
  part: StepPart.optional(),
  /** Re-announcements of the same step count up; an award is for one round. */
  round: z.number().int().min(1),
  replyTo: z.string(),
  at: z.string(),
});
export type Announce = z.infer<typeof Announce>;

export const Bid = z.object({
  stepId: z.string(),
  round: z.number().int(),
  instanceId: z.string(),
  /** Steps the bidder is running now. */
  load: z.number().int().min(0),
  estCostUsd: z.number().min(0),
  /** The bidder already ran a step of this task (its repository and context are warm): preferred on a tie. */
  warm: z.boolean().optional(),
});
export type Bid = z.infer<typeof Bid>;

/** `award.<stepId>`: created once per round by compare-and-set; the winner renews `leaseUntil`. */
export const Award = z.object({
  stepId: z.string(),
  taskId: z.string(),
  kind: StepKind,
  attempt: z.number().int(),
  part: StepPart.optional(),
  round: z.number().int(),
  instanceId: z.string(),
  state: z.enum(['awarded', 'running', 'done', 'failed', 'expired']),
  leaseUntil: z.number(),
  awardedAt: z.number(),
  /**
   * How the step ended (set with state `done` / `failed`): the winner closes the award first and publishes
   * `step.completed` / `step.failed` after, so a winner killed in between (or a publication lost to a NATS
   * outage) leaves what a conductor needs to publish that event itself.
   */
  outcome: z
    .union([
      z.object({ ok: z.literal(true), data: z.record(z.string(), z.unknown()) }),
      z.object({ ok: z.literal(false), reason: z.string() }),
    ])
    .optional(),
});
export type Award = z.infer<typeof Award>;

/** Sent to `cm.work.award.<instanceId>` after the award is on the blackboard. */
export const AwardNotice = z.object({
  stepId: z.string(),
  round: z.number().int(),
  revision: z.number().int(),
});
export type AwardNotice = z.infer<typeof AwardNotice>;

/** `lock.<repoKey>.<pathKey>`: who holds a path of a repository, and the last commit that changed it. */
export const PathLock = z.object({
  repoKey: z.string(),
  path: z.string(),
  holder: z.string().nullable(),
  leaseUntil: z.number(),
  /** The last codemesh commit (on a codemesh/* branch) that changed this path, if any. */
  lastCommit: z.string().nullable(),
  lastTask: z.string().nullable(),
});
export type PathLock = z.infer<typeof PathLock>;
