// The system of record (Postgres, via drizzle): who may do what, and everything tasks leave behind.
// Vector tables live in vector-schema.ts with their own migrations, so a Postgres without pgvector still works.
import { type SQL, sql } from 'drizzle-orm';
import {
  bigserial,
  boolean,
  customType,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

/** Postgres full-text vectors (drizzle has no built-in column type for them). */
const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const createdAt = () => ts('created_at').notNull().defaultNow();

/** viewer < developer < approver < admin: each role can do what the ones before it can. */
export const ROLES = ['viewer', 'developer', 'approver', 'admin'] as const;
export type RoleName = (typeof ROLES)[number];

export const users = pgTable(
  'users',
  {
    id: text('id').primaryKey(),
    /** `<issuer>|<sub>` for OIDC users, `local|<name>` for users made by codemesh (dev admin, CI). */
    subject: text('subject').notNull(),
    email: text('email'),
    name: text('name'),
    /** Instance-wide administrator (the development admin): every org, every scope. */
    superuser: boolean('superuser').notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('users_subject_uq').on(t.subject)],
);

export const orgs = pgTable('orgs', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  createdAt: createdAt(),
});

export const memberships = pgTable(
  'memberships',
  {
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    orgId: text('org_id')
      .notNull()
      .references(() => orgs.id, { onDelete: 'cascade' }),
    role: text('role', { enum: ROLES }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.orgId] })],
);

export const repos = pgTable(
  'repos',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => orgs.id, { onDelete: 'cascade' }),
    /** Absolute path of the repository's top level on the codemesh host; one org owns a path. */
    path: text('path').notNull(),
    name: text('name').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('repos_path_uq').on(t.path), index('repos_org_idx').on(t.orgId)],
);

/** A per-repository role that overrides the org role for that repository (either way). */
export const repoRoles = pgTable(
  'repo_roles',
  {
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    repoId: text('repo_id')
      .notNull()
      .references(() => repos.id, { onDelete: 'cascade' }),
    role: text('role', { enum: ROLES }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.repoId] })],
);

export const tasks = pgTable(
  'tasks',
  {
    id: text('id').primaryKey(),
    repoId: text('repo_id').references(() => repos.id, { onDelete: 'set null' }),
    orgId: text('org_id').references(() => orgs.id, { onDelete: 'set null' }),
    repoPath: text('repo_path').notNull(),
    title: text('title').notNull(),
    status: text('status').notNull(),
    attempt: integer('attempt').notNull().default(0),
    approveMode: text('approve_mode').notNull(),
    baseCommit: text('base_commit').notNull(),
    branch: text('branch'),
    commit: text('commit'),
    reason: text('reason'),
    createdBy: text('created_by'),
    /** The blackboard's task record as last seen (workflow state included): what rebuildBlackboard restores. */
    record: jsonb('record').notNull(),
    /** Stream sequence of the last event projected onto this row. */
    lastSeq: integer('last_seq').notNull().default(0),
    createdAt: ts('created_at').notNull(),
    updatedAt: ts('updated_at').notNull(),
  },
  (t) => [
    index('tasks_org_created_idx').on(t.orgId, t.createdAt),
    index('tasks_status_idx').on(t.status),
    index('tasks_repo_idx').on(t.repoId),
  ],
);

export const plans = pgTable('plans', {
  taskId: text('task_id')
    .primaryKey()
    .references(() => tasks.id, { onDelete: 'cascade' }),
  summary: text('summary').notNull(),
  body: jsonb('body').notNull(),
  createdAt: createdAt(),
});

export const patches = pgTable(
  'patches',
  {
    id: text('id').primaryKey(),
    taskId: text('task_id')
      .notNull()
      .references(() => tasks.id, { onDelete: 'cascade' }),
    attempt: integer('attempt').notNull(),
    baseCommit: text('base_commit').notNull(),
    diff: text('diff').notNull(),
    files: jsonb('files').$type<string[]>().notNull(),
    summary: text('summary').notNull(),
    additions: integer('additions').notNull(),
    deletions: integer('deletions').notNull(),
    createdAt: ts('created_at').notNull(),
  },
  (t) => [index('patches_task_idx').on(t.taskId)],
);

export const testruns = pgTable(
  'testruns',
  {
    id: text('id').primaryKey(),
    taskId: text('task_id')
      .notNull()
      .references(() => tasks.id, { onDelete: 'cascade' }),
    attempt: integer('attempt').notNull(),
    patchId: text('patch_id').notNull(),
    runner: text('runner').notNull(),
    command: jsonb('command').$type<string[]>().notNull(),
    passed: boolean('passed').notNull(),
    exitCode: integer('exit_code'),
    timedOut: boolean('timed_out').notNull(),
    counts: jsonb('counts').notNull(),
    tests: jsonb('tests').notNull(),
    log: text('log').notNull(),
    durationMs: doublePrecision('duration_ms').notNull(),
    createdAt: ts('created_at').notNull(),
  },
  (t) => [index('testruns_task_idx').on(t.taskId)],
);

export const reviews = pgTable(
  'reviews',
  {
    id: text('id').primaryKey(),
    taskId: text('task_id')
      .notNull()
      .references(() => tasks.id, { onDelete: 'cascade' }),
    attempt: integer('attempt').notNull(),
    patchId: text('patch_id').notNull(),
    decision: text('decision').notNull(),
    confidence: doublePrecision('confidence').notNull(),
    critique: text('critique').notNull(),
    risks: jsonb('risks').notNull(),
    createdAt: ts('created_at').notNull(),
  },
  (t) => [index('reviews_task_idx').on(t.taskId)],
);

/**
 * The confidence of each reviewed patch (FR-016): the evidence it was computed from, the Reviewer model's own
 * number and the calibrated one, and — once known — its outcome as a label for refitting (`codemesh calibrate`):
 * the human decision (`approved`, `changes_requested`, then `rolled_back`) or an evaluation's grading.
 */
export const confidences = pgTable(
  'confidences',
  {
    patchId: text('patch_id').primaryKey(),
    taskId: text('task_id')
      .notNull()
      .references(() => tasks.id, { onDelete: 'cascade' }),
    attempt: integer('attempt').notNull(),
    /** The calibration weights' version. */
    model: text('model').notNull(),
    raw: doublePrecision('raw').notNull(),
    calibrated: doublePrecision('calibrated').notNull(),
    features: jsonb('features').notNull(),
    /** `approved` | `changes_requested` | `rolled_back` | `resolved` | `unresolved`; null: no outcome yet. */
    label: text('label'),
    /** `human` (the gate, a rollback) or `eval`. */
    labelSource: text('label_source'),
    labeledAt: ts('labeled_at'),
    createdAt: ts('created_at').notNull(),
  },
  (t) => [index('confidences_task_idx').on(t.taskId), index('confidences_label_idx').on(t.label)],
);

/** One awarded round of one step (`<stepId>#<round>`): who ran it and how it ended. */
export const agentRuns = pgTable(
  'agent_runs',
  {
    id: text('id').primaryKey(),
    taskId: text('task_id')
      .notNull()
      .references(() => tasks.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(),
    attempt: integer('attempt').notNull(),
    round: integer('round').notNull(),
    instanceId: text('instance_id'),
    state: text('state').notNull(),
    reason: text('reason'),
    startedAt: ts('started_at'),
    finishedAt: ts('finished_at'),
  },
  (t) => [index('agent_runs_task_idx').on(t.taskId)],
);

/** Model calls (from the cost ledger) and tool calls of agents, keyed by call id. */
export const toolCalls = pgTable(
  'tool_calls',
  {
    id: text('id').primaryKey(),
    taskId: text('task_id')
      .notNull()
      .references(() => tasks.id, { onDelete: 'cascade' }),
    /** `model` for a model call; a tool name otherwise. */
    kind: text('kind').notNull(),
    role: text('role').notNull(),
    model: text('model'),
    stepKind: text('step_kind'),
    attempt: integer('attempt'),
    promptTokens: integer('prompt_tokens').notNull().default(0),
    completionTokens: integer('completion_tokens').notNull().default(0),
    costUsd: doublePrecision('cost_usd').notNull().default(0),
    at: ts('at').notNull(),
  },
  (t) => [index('tool_calls_task_idx').on(t.taskId)],
);

/** Branches codemesh wrote (an integration, a rollback); `url` once a pull request exists. */
export const prRecords = pgTable(
  'pr_records',
  {
    id: text('id').primaryKey(),
    taskId: text('task_id')
      .notNull()
      .references(() => tasks.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['integrate', 'rollback'] }).notNull(),
    branch: text('branch').notNull(),
    commit: text('commit').notNull(),
    url: text('url'),
    createdAt: ts('created_at').notNull(),
  },
  (t) => [index('pr_records_task_idx').on(t.taskId)],
);

/** Repository indexes built by the Curator (`POST /v1/repos/index`). */
export const indices = pgTable(
  'indices',
  {
    id: text('id').primaryKey(),
    repoId: text('repo_id')
      .notNull()
      .references(() => repos.id, { onDelete: 'cascade' }),
    commit: text('commit').notNull(),
    files: integer('files').notNull(),
    chunks: integer('chunks').notNull(),
    symbols: integer('symbols').notNull(),
    source: text('source').notNull(),
    ms: doublePrecision('ms').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('indices_repo_commit_uq').on(t.repoId, t.commit)],
);

/** Org policies; `models` holds the per-role model settings (API keys included: never returned). */
export const policies = pgTable(
  'policies',
  {
    orgId: text('org_id')
      .notNull()
      .references(() => orgs.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(),
    body: jsonb('body').notNull(),
    updatedBy: text('updated_by').notNull(),
    updatedAt: ts('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.kind] })],
);

export const approvals = pgTable(
  'approvals',
  {
    patchId: text('patch_id').primaryKey(),
    taskId: text('task_id')
      .notNull()
      .references(() => tasks.id, { onDelete: 'cascade' }),
    decision: text('decision').notNull(),
    comment: text('comment').notNull(),
    by: text('by').notNull(),
    at: ts('at').notNull(),
  },
  (t) => [index('approvals_task_idx').on(t.taskId)],
);

/** The event log of every task, one row per event id (the projection's idempotence key). */
export const traces = pgTable(
  'traces',
  {
    eventId: text('event_id').primaryKey(),
    taskId: text('task_id').notNull(),
    seq: integer('seq').notNull(),
    type: text('type').notNull(),
    step: jsonb('step'),
    data: jsonb('data').notNull(),
    at: ts('at').notNull(),
  },
  (t) => [index('traces_task_seq_idx').on(t.taskId, t.seq), index('traces_type_idx').on(t.type)],
);

export const budgets = pgTable('budgets', {
  taskId: text('task_id')
    .primaryKey()
    .references(() => tasks.id, { onDelete: 'cascade' }),
  maxAttempts: integer('max_attempts').notNull(),
  maxCostUsd: doublePrecision('max_cost_usd').notNull(),
  maxTokens: integer('max_tokens').notNull(),
  promptTokens: integer('prompt_tokens').notNull().default(0),
  completionTokens: integer('completion_tokens').notNull().default(0),
  costUsd: doublePrecision('cost_usd').notNull().default(0),
  calls: integer('calls').notNull().default(0),
});

/** Personal access tokens `cmp_<id>_<secret>`: only sha256(secret) is kept. */
export const personalAccessTokens = pgTable(
  'personal_access_tokens',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    secretSha256: text('secret_sha256').notNull(),
    scopes: jsonb('scopes').$type<string[]>().notNull(),
    expiresAt: ts('expires_at').notNull(),
    revokedAt: ts('revoked_at'),
    lastUsedAt: ts('last_used_at'),
    createdAt: createdAt(),
  },
  (t) => [index('pats_user_idx').on(t.userId)],
);

export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: ts('at').notNull().default(sql`now()`),
    /** The user id (and how they authenticated: `jwt`, `pat:<id>`, `dev`). */
    actor: text('actor').notNull(),
    via: text('via').notNull(),
    action: text('action').notNull(),
    target: text('target').notNull(),
    orgId: text('org_id'),
    detail: jsonb('detail').notNull().default({}),
  },
  (t) => [index('audit_log_org_at_idx').on(t.orgId, t.at)],
);

/** Threaded conversations with a task's agents (`POST /v1/chat/{task_id}`). */
export const chatMessages = pgTable(
  'chat_messages',
  {
    id: text('id').primaryKey(),
    taskId: text('task_id').notNull(),
    threadId: text('thread_id').notNull(),
    author: text('author').notNull(),
    role: text('role', { enum: ['user', 'agent'] }).notNull(),
    content: text('content').notNull(),
    at: ts('at').notNull(),
  },
  (t) => [index('chat_thread_idx').on(t.taskId, t.threadId, t.at)],
);

/**
 * The experience memory (FR-013) as rows: one per stored patch (`memory.<repoKey>.<taskId>.<patchId>` on the
 * blackboard), written when the memory role says `memory.stored`. `body` is the whole `MemoryEntry` (its diff
 * as the patch holds it: secrets already redacted); `terms` the words recall matches (the Curator's tokenizer),
 * searched through a full-text index (`tsv`, GIN) so that a recall reads a repository's best matches, not all its entries.
 * Vectors, where pgvector exists, are in `memory_embeddings` (vector-schema.ts).
 */
export const memoryEntries = pgTable(
  'memory_entries',
  {
    patchId: text('patch_id').primaryKey(),
    taskId: text('task_id').notNull(),
    /** `hashKey(repoPath)`, as on the blackboard. */
    repoKey: text('repo_key').notNull(),
    orgId: text('org_id').notNull(),
    /** `integrated` | `rejected` | `reverted`. */
    outcome: text('outcome').notNull(),
    terms: text('terms').notNull(),
    /** `terms` parsed once at write: ranking a query needs no re-parse of each row. */
    tsv: tsvector('tsv').generatedAlwaysAs((): SQL => sql`to_tsvector('simple', ${memoryEntries.terms})`),
    body: jsonb('body').notNull(),
    createdAt: ts('created_at').notNull(),
    updatedAt: ts('updated_at').notNull(),
  },
  (t) => [
    index('memory_entries_repo_idx').on(t.repoKey, t.orgId),
    index('memory_entries_tsv_idx').using('gin', t.tsv),
  ],
);
