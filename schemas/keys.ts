// Blackboard keys, one builder per entry kind, with how writes to that key merge.
import { createHash } from 'node:crypto';

/**
 * Merge rules:
 * - `task`: last-writer-wins, every write a compare-and-set on the revision read.
 * - `plan`, `patch`, `testrun`, `review`, `approval`, `planapproval`, `context`, `result`, `selection`, `docs`:
 *   written once (create); a second write is refused. One exception: an approver's override of the policy
 *   check is set once on `patch.<id>` (`policy.override`, compare-and-set, by the gateway).
 * - `repro`: written once per task by the test-writing step (first writer wins).
 * - `baseline`: written once per base commit + test plan (a cache: equal keys mean equal runs, first wins).
 * - `award`: created once per step; then compare-and-set by the winner (lease renewals, state).
 * - `cost`: append-only list under compare-and-set, de-duplicated by call id.
 * - `lock`: compare-and-set lease records.
 * - `subtask`: last-writer-wins under compare-and-set (conductor: owner, state; Coder: state, patch); the
 *   patch of one part is written once (the first Coder to finish that part wins).
 * - `candidate`: last-writer-wins under compare-and-set (Coder: owner, variant, patch; Tester: test evidence),
 *   never moved backwards from an ended state.
 * - `models`: last-writer-wins under compare-and-set; written by the gateway only (API keys sealed).
 * - `changes`: append-only list under compare-and-set, de-duplicated by change id (the chat agent writes it).
 * - `budget`: last-writer-wins under compare-and-set (reservations, settlements, raises at the gate).
 * - `breaker`: last-writer-wins under compare-and-set, one per model endpoint, shared by every agent.
 * - `quota`: last-writer-wins under compare-and-set, one per org and UTC day (reservations, settlements).
 * - `memory`: last-writer-wins, one per stored patch of a task (integrated, rejected by the Reviewer or by a
 *   person's change request; written by the memory role only).
 * - `pr`: created once by the Integrator's GitHub publisher, then last-writer-wins under compare-and-set.
 * - `ghdelivery`: created once per GitHub webhook delivery (a redelivery finds it and does nothing).
 * - `bridge`: last-writer-wins, one per chat bridge consumer (only that bridge writes it).
 * - `campaign`: created once by the gateway, then last-writer-wins under compare-and-set (the gateway pauses,
 *   resumes, cancels; the campaign driver plans, starts repositories' tasks and follows them).
 */
export const keys = {
  task: (taskId: string) => `task.${taskId}`,
  plan: (taskId: string) => `plan.${taskId}`,
  patch: (patchId: string) => `patch.${patchId}`,
  /** A candidate's test run is `testrun.<taskId>-<attempt>-c<i>`. */
  testrun: (taskId: string, attempt: number, candidate?: number) =>
    candidate ? `testrun.${taskId}-${attempt}-c${candidate}` : `testrun.${taskId}-${attempt}`,
  review: (taskId: string, attempt: number) => `review.${taskId}-${attempt}`,
  approval: (patchId: string) => `approval.${patchId}`,
  /** The `post-plan` gate's decision (and the edited plan, if any). */
  planapproval: (taskId: string) => `planapproval.${taskId}`,
  /** The retrieved context the Planner got from the Curator (snippets with path, lines and why). */
  context: (taskId: string) => `context.${taskId}`,
  cost: (taskId: string) => `cost.${taskId}`,
  award: (stepId: string) => `award.${stepId}`,
  /** One subtask of a fanned-out code step: owner, state and patch (see schemas/subtask.ts). */
  subtask: (taskId: string, attempt: number, subtaskId: string) =>
    `subtask.${taskId}-${attempt}-${subtaskId}`,
  /** One of k candidate patches of an attempt: owner, model settings, patch and test evidence (schemas/candidate.ts). */
  candidate: (taskId: string, attempt: number, candidate: number) =>
    `candidate.${taskId}-${attempt}-c${candidate}`,
  /** How an attempt's candidates were judged and which one was chosen (or why none was). */
  selection: (taskId: string, attempt: number) => `selection.${taskId}-${attempt}`,
  /** The reproduction test the test-writing step kept (written once per task, first writer wins). */
  repro: (taskId: string) => `repro.${taskId}`,
  /** Test results of the base commit (no patch) for one test plan; `hash` = hashKey of repo, commit, plan. */
  baseline: (hash: string) => `baseline.${hash}`,
  /** Free-form result of a step (for steps whose output is not one of the typed entries above). */
  result: (stepId: string) => `result.${stepId}`,
  lock: (repoKey: string, path: string) => `lock.${repoKey}.${hashKey(path)}`,
  /** An org's policy bundle as the API last installed it (schemas/policy.ts `OrgPolicyEntry`). */
  orgPolicy: (org: string) => `orgpolicy.${org}`,
  /** Model settings of an org, per role (`POST /v1/config/models`); what actors resolve each call from. */
  models: (org: string) => `models.${org}`,
  /** Change requests from chat (scope, constraints) the task's next Coder and Reviewer steps honour. */
  changes: (taskId: string) => `changes.${taskId}`,
  /** Limits, spending and reservations of a task's model calls (schemas/budget.ts). */
  budget: (taskId: string) => `budget.${taskId}`,
  /** The circuit breaker of one model endpoint (its base URL without credentials). */
  breaker: (endpoint: string) => `breaker.${hashKey(endpoint)}`,
  /** An org's model spending of one UTC day (`YYYY-MM-DD`), against its daily quota (schemas/quota.ts). */
  quota: (org: string, day: string) => `quota.${org}.${day}`,
  /** A task's patch and how it ended, per repository (`repoKey` = hashKey of its path). */
  memory: (repoKey: string, taskId: string, patchId: string) => `memory.${repoKey}.${taskId}.${patchId}`,
  /** Every stored patch of one task (a filter for `keys()`). */
  memoryOfTask: (repoKey: string, taskId: string) => `memory.${repoKey}.${taskId}.>`,
  /** Every stored patch of one repository (a filter for `keys()`). */
  memoryOfRepo: (repoKey: string) => `memory.${repoKey}.>`,
  /** The task's GitHub pull request (and revert pull request), schemas/github.ts. */
  pr: (taskId: string) => `pr.${taskId}`,
  /** The Doc Writer's documentation patch and PR description for a reviewed code patch (schemas/docs.ts). */
  docs: (patchId: string) => `docs.${patchId}`,
  /** A GitHub webhook delivery already handled (`X-GitHub-Delivery`, hashed: any string may arrive). */
  ghdelivery: (deliveryId: string) => `ghdelivery.${hashKey(deliveryId)}`,
  /** A chat bridge's command-polling position (schemas/bridge.ts), by its consumer name (`bridge-matrix`). */
  bridge: (consumer: string) => `bridge.${consumer}`,
  /** A multi-repo campaign: request, dependency graph, per-repository state and events (schemas/campaign.ts). */
  campaign: (campaignId: string) => `campaign.${campaignId}`,
} as const;
export type KeyKind = keyof typeof keys;

/** A short stable key segment for an arbitrary string (paths, repo locations). */
export function hashKey(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 24);
}
