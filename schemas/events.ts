// Task events on `cm.evt.<taskId>` (stream CODEMESH_EVENTS): the conductor's input and the SSE feed.
import { z } from 'zod';
import { StepKind, StepPart } from './ids.ts';

export const EventType = z.enum([
  'task.created',
  'plan.ready',
  /** The `post-plan` gate: the plan waits for a human (data: `{ subtasks }`). */
  'plan.approval_requested',
  /** data: `{ by, comment, edited }`; an edited plan is on `planapproval.<taskId>`. */
  'plan.approved',
  'plan.rejected',
  'step.announced',
  'step.awarded',
  'step.completed',
  'step.failed',
  'patch.proposed',
  /**
   * The first verdict of a test step run in two stages: the tests the issue names and the patch touches
   * passed; the related regression files run next (data: `{ passed, outcome, reason, counts, files, pending }`).
   */
  'test.primary',
  'test.completed',
  /** Tests whose outcome changed between runs of the same code; data: `{ tests, quarantine }`. */
  'test.flaky',
  /**
   * The test-writing step ran its test on the base commit: `kept` (it fails there: it reproduces the issue and
   * goes into the patch) or `rejected` (it passes there; sent back once with this evidence). Data:
   * `{ verdict, try, tests: [{ name, status }], files }`.
   */
  'reproduction.checked',
  'review.completed',
  /**
   * The Doc Writer documented a reviewed patch (data: `{ patchId, docsId, files, symbols, skipped? }`); the
   * documentation patch and the PR description are on `docs.<patchId>`.
   */
  'docs.proposed',
  /** data: `{ patchId, gate, approvable, revisionFailed? }` (`gate`: the task's arrivals at the gate). */
  'approval.requested',
  /**
   * A revision a human asked for failed: the task is back at the gate with the earlier patch
   * (data: `{ attempt, patchId, reason, gate }`).
   */
  'revision.failed',
  'approval.granted',
  'approval.changes_requested',
  'conflict.detected',
  /**
   * Two subtasks' patches of a fanned-out code step do not merge; data: `{ subtask, with, files, action }`
   * (`rebase`: the later subtask is re-awarded with the others' patches in view; `failed`: rebases used up).
   */
  'subtask.conflict',
  'lock.waiting',
  'integrate.committed',
  'rollback.requested',
  'rollback.committed',
  'task.completed',
  'task.failed',
  'task.rolled_back',
  /**
   * A patch and its outcome were stored in the experience memory (data: `{ outcome, patchId }`): integrated,
   * reverted, or rejected (by the Reviewer, or by a person's change request).
   */
  'memory.stored',
  /**
   * A Planner or Coder step got earlier patches in its prompt (data: `{ memories: [{ taskId, patchId, title,
   * outcome, score, via: ['vector'|'lexical'], from: 'record'|'board' }] }`).
   */
  'memory.recalled',
  /** No candidate earned selection (data: `{ reason, candidates }`): the task ends without a patch. */
  'task.abstained',
  /**
   * An attempt's candidates were judged (data: `{ chosen, patchId, candidates: [{ candidate, tier, votes,
   * reviewRank, place }] }`); the chosen patch is copied to the attempt's patch.
   */
  'candidate.selected',
  'cost.recorded',
  /** A chat message refined the task's scope or constraints; data: `{ changeId, kind, text, author }`. */
  'task.change_requested',
  /** A model call met a soft limit: the task waits at the `budget` gate (data: `{ version, reason, role }`). */
  'budget.paused',
  /** A human raised the soft limits (data: `{ version, by, soft, roles }`). */
  'budget.raised',
  /** A human stopped the task at the `budget` gate (data: `{ by, comment }`). */
  'budget.stopped',
  /** A hard limit: the task stops (data: `{ reason }`). */
  'budget.exceeded',
  /**
   * A model call would pass its org's daily quota: the task stops (data: `{ reason, org, quota, limit, used,
   * asked, day, resetsAt }`).
   */
  'quota.exceeded',
  /** A model call waits for its endpoint's circuit breaker (data: `{ endpoint, state, until }`). */
  'model.waiting',
  'breaker.opened',
  'breaker.closed',
  /** The Coder repeated the same tool call or edit: its step stops (data: `{ what, repeats }`). */
  'loop.detected',
  /** The task's GitHub pull request was opened or its body rewritten (data: `{ number, url, draft, head }`). */
  'pr.opened',
  /** The pull request left draft after the human gate (data: `{ number, url }`). */
  'pr.ready',
  /** A revert pull request after a rollback (data: `{ number, url, reverts: { number, url } }`). */
  'pr.revert_opened',
  /** GitHub says the pull request was merged or closed (webhook; data: `{ number, state, by }`). */
  'pr.state',
  /** A change request came from GitHub and could not be applied (webhook; data: `{ patchId, reason }`). */
  'pr.review_ignored',
  /**
   * Stop the task: it fails with `data.reason` unless its change is already integrated (data: `{ reason, by,
   * campaignId? }`; a cancelled campaign sends it to each task it started that has not ended).
   */
  'task.cancel_requested',
  // A campaign's events (FR-015), copied from its blackboard entry onto `cm.evt.<campaignId>`: `taskId` is the
  // campaign id, `id` is `<campaignId>:<seq>`, data: `{ campaignId, seq, title, repoId?, repo?, repoTaskId?,
  // state?, detail? }` (schemas/campaign.ts, campaignStreamEvent). No task role acts on them.
  'campaign.created',
  'campaign.planned',
  'campaign.paused',
  'campaign.resumed',
  'campaign.cancelled',
  'campaign.completed',
  'campaign.failed',
  'campaign.waiting',
  'campaign.repo.started',
  'campaign.repo.state',
  'campaign.repo.retried',
]);
export type EventType = z.infer<typeof EventType>;

export const TaskEvent = z.object({
  /** Also the JetStream message id, so a re-published event is de-duplicated by the server. */
  id: z.string().min(1).max(200),
  taskId: z.string(),
  type: EventType,
  at: z.string(),
  step: z
    .object({
      kind: StepKind,
      attempt: z.number().int(),
      round: z.number().int().optional(),
      part: StepPart.optional(),
    })
    .optional(),
  /** Small, typed-by-convention payload: keys of blackboard entries, counts, reasons. Never secrets. */
  data: z.record(z.string(), z.unknown()).default({}),
});
export type TaskEvent = z.infer<typeof TaskEvent>;
export type TaskEventInput = z.input<typeof TaskEvent>;
