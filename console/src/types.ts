// The shapes of the gateway's responses the console reads (see schemas/ on the server; only what is shown).
import type { OrgQuota, QuotaUsage } from './lib/settings.ts';

export type TaskStatus =
  | 'planning'
  | 'awaiting_plan_approval'
  | 'awaiting_budget'
  | 'coding'
  | 'testing'
  | 'reviewing'
  | 'documenting'
  | 'awaiting_approval'
  | 'integrating'
  | 'completed'
  | 'failed'
  /** k candidates were tried and none earned selection: no patch. */
  | 'abstained'
  | 'rolling_back'
  | 'rolled_back';

/** The registered repository of a task. */
export interface RepoSummary {
  id: string;
  name: string;
  path: string;
}

/** A task's rollback (`rollback` of `GET /v1/tasks/{id}`): who asked, when, the revert branch and commit. */
export interface RollbackView {
  state: 'requested' | 'committed' | 'rolled_back';
  patchId: string;
  by: string;
  byName?: string | null;
  reason: string | null;
  requestedAt: string;
  branch: string | null;
  commit: string | null;
  reverts: string | null;
  committedAt: string | null;
  doneAt: string | null;
}

export interface TaskSummary {
  id: string;
  title: string;
  status: TaskStatus;
  repoId: string | null;
  repository?: RepoSummary | null;
  orgId: string | null;
  attempt: number;
  branch: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface TaskList {
  items: TaskSummary[];
  nextCursor: string | null;
}

export interface Subtask {
  id: string;
  title: string;
  description?: string;
  role?: string;
  dependsOn: string[];
  successCriteria?: string[];
  files?: string[];
}

export interface Plan {
  summary: string;
  subtasks: Subtask[];
  risks?: string[];
}

export interface Patch {
  id: string;
  attempt: number;
  diff: string;
  files: string[];
  summary: string;
  stats?: { additions: number; deletions: number };
  createdAt: string;
  /** The policy check's report (absent on patches from before it existed). */
  policy?: PolicyReport;
}

export interface TestCase {
  name: string;
  status: 'passed' | 'failed' | 'skipped';
  durationMs?: number;
  message?: string;
}

export interface TestRun {
  id: string;
  attempt: number;
  patchId: string;
  runner: string;
  command: string[];
  exitCode: number | null;
  timedOut: boolean;
  passed: boolean;
  counts: { passed: number; failed: number; skipped: number };
  tests: TestCase[];
  log: string;
  durationMs: number;
  /** The step's conclusion against the base commit (absent on runs from before baselines). */
  outcome?: 'pass' | 'regression' | 'timeout' | 'env_error' | 'no_tests' | 'unreproduced';
  reason?: string;
  envFault?: boolean;
  baseline?: { commit: string; cached: boolean; counts: TestRun['counts']; problem?: string };
  verdict?: TestVerdict;
  quarantine?: Array<{ name: string; runs: Array<'passed' | 'failed' | 'skipped' | 'absent'> }>;
}

/** Per-test comparison of the patched run with the base run (schemas/work.ts `TestVerdict`). */
export interface TestVerdict {
  fixed: string[];
  regressions: string[];
  stillFailing: string[];
  newTests: string[];
  missing: string[];
  flaky: string[];
  envErrors: Array<{ name: string; message: string; onBase: boolean }>;
  passing: number;
  reproduction?: { status: 'confirmed' | 'rejected' | 'none' | 'unchecked'; reproduced: string[] };
}

export interface Review {
  id: string;
  attempt: number;
  patchId: string;
  decision: 'approve' | 'revise';
  confidence: number;
  critique: string;
  risks: Array<{ level: 'low' | 'medium' | 'high'; note: string }>;
  /** `confidence` is the model's own; this the calibrated probability and its evidence. */
  calibration?: CalibratedConfidence;
}

/** schemas/calibration.ts `CalibratedConfidence` (the features the console shows). */
export interface CalibratedConfidence {
  raw: number;
  calibrated: number;
  model: string;
  features: {
    outcome: string;
    fixed: number;
    regressions: number;
    reproduction: string;
    addedCovered: number | null;
    files: number;
    lines: number;
  };
}

export interface TaskDetail {
  task: {
    id: string;
    status: TaskStatus;
    attempt: number;
    repoPath?: string;
    baseCommit?: string;
    branch?: string;
    commit?: string;
    reason?: string;
    /** The patches a human may approve now (at the gate; the kept one while its revision runs). */
    approvable?: string[];
    /** The revision a human asked for failed: back at the gate with the earlier patch. */
    revisionFailed?: { attempt: number; patchId: string; reason: string };
    request?: { title: string; description?: string; approve?: string; docs?: boolean };
    workflow?: { value: string; context: Record<string, unknown> };
    /** The campaign that started the task (FR-015). */
    campaignId?: string;
    createdAt?: string;
    updatedAt?: string;
  };
  plan: Plan | null;
  planApproval?: PlanApproval | null;
  patches: Patch[];
  testRuns: TestRun[];
  reviews: Review[];
  cost: { promptTokens: number; completionTokens: number; costUsd: number; calls: number };
  source?: 'record';
  repository?: RepoSummary | null;
  /** The GitHub issue the task came from. */
  issueUrl?: string | null;
  /** The task's GitHub pull request, when the repository publishes to GitHub. */
  pullRequest?: PullRequestView | null;
  rollback?: RollbackView | null;
}

export interface TaskEvent {
  id: string;
  taskId: string;
  type: string;
  at: string;
  step?: { kind: string; attempt: number; round?: number; part?: string };
  data: Record<string, unknown>;
}

/** `GET /v1/deadletters`: what a durable consumer gave up on after bounded redelivery. */
export interface DeadLetter {
  dlqSeq: number;
  consumer: string;
  stream: string;
  seq: number;
  deliveries: number;
  reason: string;
  at: string;
  eventId?: string;
  taskId?: string;
  type?: string;
  payload: string;
}
export interface DeadLetterList {
  items: DeadLetter[];
  nextCursor: number | null;
}

export interface PlanApproval {
  decision: 'approve' | 'reject';
  comment: string;
  plan?: Plan;
  by: string;
  /** The approver's name, else their token subject. */
  byName?: string;
  at: string;
}

/** `GET /v1/tasks/{id}/plan`: the plan, what it was made from, and the `post-plan` decision. */
export interface PlanGate {
  taskId: string;
  status: TaskStatus;
  gate: 'post-plan' | null;
  plan: Plan | null;
  proposed: Plan | null;
  context: {
    commit: string;
    snippets: Array<{
      path: string;
      startLine: number;
      endLine: number;
      symbol: string;
      why: string;
      score: number;
    }>;
  } | null;
  approval: PlanApproval | null;
}

/** `GET /v1/repos`: registered repositories the caller holds a role on. */
export interface RepoListItem extends RepoSummary {
  orgId: string;
  role: 'viewer' | 'developer' | 'approver' | 'admin';
}

/** `POST /v1/tasks` 201. */
export interface CreatedTask {
  task: { id: string; status: TaskStatus };
}

/** `POST /v1/chat/{task}`: the agent's answer in a thread. */
export interface ChatReply {
  threadId: string;
  answer: string;
  by: string;
  links: string[];
  changeRequest?: { id: string; kind: string; text: string };
}

/** `GET /v1/config/models`: an org's model settings per role (API keys never returned). */
export interface ModelSettingView {
  baseUrl?: string;
  model?: string;
  priceInPer1k?: number;
  priceOutPer1k?: number;
  provider?: 'openai' | 'local';
  apiKeySet?: boolean;
}
export interface ModelConfigView {
  org: string;
  roles: Partial<Record<string, ModelSettingView>>;
  /** The org's daily limits and today's use (UTC), when it has a quota. */
  quota?: OrgQuota;
  quotaUsage?: QuotaUsage;
}

/** `GET/PUT /v1/config/policy`: the org's policy bundle and the bundle its tasks are checked with. */
export interface OrgPolicyView {
  org: string;
  yaml: string | null;
  bundle: {
    version: string;
    rules: Array<{ id: string; kind: string; severity: string; enforcement: string; enabled: boolean }>;
    licenses: { allow: string[] | null; deny: string[] };
  };
  /** The stored file no longer parses (shown with the default bundle). */
  error?: string;
}

/** `pullRequest` of `GET /v1/tasks/{id}` (schemas/github.ts `PullRequestRecord`, the part shown). */
export interface PullRequestView {
  owner: string;
  repo: string;
  number: number;
  url: string;
  state: 'draft' | 'ready' | 'merged' | 'closed';
  revert?: { number: number; url: string };
}

/** schemas/policy.ts: one finding of the policy check. */
export interface PolicyFinding {
  kind: 'secret' | 'sast' | 'license' | 'vulnerability';
  ruleId: string;
  severity: 'low' | 'medium' | 'high' | 'critical';
  enforcement: 'block' | 'warn';
  file: string;
  line?: number;
  message: string;
  remediation: string;
  cwe?: string;
  package?: { ecosystem: string; name: string; version?: string };
  advisory?: string;
  fixed?: string;
}

/** schemas/policy.ts `PolicyReport` (without the SBOM). */
export interface PolicyReport {
  bundle: string;
  findings: PolicyFinding[];
  counts: Partial<Record<PolicyFinding['kind'], number>>;
  blocked: boolean;
  dependencies: Array<{ ecosystem: string; name: string; version?: string; file: string; license?: string }>;
  notes: string[];
  override?: { by: string; at: string; reason: string; ruleIds: string[] };
}

/** schemas/docs.ts `DocPatch`: the Doc Writer's documentation patch for a code patch. */
export interface DocPatch {
  id: string;
  patchId: string;
  diff: string;
  files: string[];
  stats: { additions: number; deletions: number };
  symbols: Array<{ name: string; file: string; before: string; after: string }>;
  skipped?: string;
  secrets?: unknown[];
}

/** `GET /v1/patches/{id}`. */
export interface PatchResource {
  patch: Patch;
  docs: DocPatch | null;
}

/** One reliability bin of `GET /v1/metrics/calibration`. */
export interface CalibrationBin {
  lo: number;
  hi: number;
  count: number;
  meanPredicted: number | null;
  observedRate: number | null;
}
export interface CalibrationScore {
  n: number;
  good: number;
  brier: number | null;
  ece: number | null;
  bins: CalibrationBin[];
}
/** `GET /v1/metrics/calibration`. */
export interface CalibrationMetrics {
  calibration: {
    n: number;
    unlabelled: number;
    labels: Record<string, number>;
    models: string[];
    raw: CalibrationScore;
    calibrated: CalibrationScore;
  };
}
