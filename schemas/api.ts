// REST API contract of the gateway: request bodies, query strings and responses, zod-validated.
// `/openapi.json` is generated from these schemas (gateway/openapi.ts).
import { z } from 'zod';
import { CandidateDefaults } from './candidate.ts';
import { Approval } from './work.ts';
import { RepoConfig } from './repo-config.ts';
import { OrgQuota } from './quota.ts';
import { subjects } from './subjects.ts';
import { ChangeRequest, TaskRequest } from './task.ts';

export const Scope = z.enum([
  'tasks:read',
  'tasks:write',
  'patches:approve',
  'repos:index',
  'metrics:read',
  'traces:read',
  'config:write',
]);
export type Scope = z.infer<typeof Scope>;
export const ALL_SCOPES: readonly Scope[] = Scope.options;

export const Role = z.enum(['viewer', 'developer', 'approver', 'admin']);
export type Role = z.infer<typeof Role>;

/** Error body of every non-2xx answer; `code` is stable, `message` is for people. */
export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    fields: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    details: z.unknown().optional(),
  }),
});

const Slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes');

/** `POST /v1/tasks`: a task request, plus the org to register an unregistered repository in (admins only). */
export const CreateTaskBody = TaskRequest.safeExtend({ org: Slug.optional() }).strict();
export type CreateTaskBody = z.infer<typeof CreateTaskBody>;

export const Limit = z.coerce.number().int().min(1).max(100).default(20);

/** `GET /v1/tasks`: newest first; `cursor` is the `nextCursor` of the previous page. */
export const ListTasksQuery = z
  .object({
    limit: Limit,
    cursor: z.string().max(200).optional(),
    status: z.string().max(40).optional(),
    repo: z.string().max(100).optional(),
    /** Only the tasks a campaign started (`cp-…`). */
    campaign: z.string().max(40).optional(),
  })
  .strict();

/** `GET /v1/deadletters`: newest first; `before` is the `nextCursor` of the previous page. */
export const ListDeadLettersQuery = z
  .object({ limit: Limit, before: z.coerce.number().int().min(1).optional() })
  .strict();

/** `GET /v1/metrics/calibration?bins=N`: reliability bins (2–50, default 10). */
export const CalibrationQuery = z
  .object({ bins: z.coerce.number().int().min(2).max(50).default(10) })
  .strict();

/** The registered repository a task runs on (`null`: a path nobody registered, from before tasks registered it). */
export const RepoSummary = z.object({ id: z.string(), name: z.string(), path: z.string() });
export type RepoSummary = z.infer<typeof RepoSummary>;
/** `GET /v1/repos`: the registered repositories the caller holds a role on (the console's repo picker). */
export const RepoList = z.object({
  items: z.array(RepoSummary.extend({ orgId: z.string(), role: Role })),
});

export const TaskSummary = z.object({
  id: z.string(),
  title: z.string(),
  status: z.string(),
  repoId: z.string().nullable(),
  repository: RepoSummary.nullable(),
  orgId: z.string().nullable(),
  attempt: z.number(),
  branch: z.string().nullable(),
  /** Who asked for it (a campaign's task: the campaign's creator), when known. */
  createdBy: z.string().nullable(),
  /** The campaign that started it (FR-015), else null. */
  campaignId: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const TaskList = z.object({ items: z.array(TaskSummary), nextCursor: z.string().nullable() });

/** `201` of `POST /v1/tasks` (with `Location: /v1/tasks/{id}`). `repo` is the repository's path. */
export const CreatedTask = z.object({
  task: z.object({
    id: z.string(),
    status: z.string(),
    baseCommit: z.string(),
    repo: z.string(),
    repoId: z.string(),
    repository: RepoSummary,
    /** The GitHub issue the task was read from (`issue_url`), else null. */
    issueUrl: z.string().nullable(),
  }),
});
export type CreatedTask = z.infer<typeof CreatedTask>;

export const RegisterRepoBody = z
  .object({
    org: Slug,
    path: z.string().min(1).max(4096),
    name: z.string().max(200).optional(),
    /** Test and push settings for every task on this repository (the `.codemesh.yml` keys; they win over it). */
    config: RepoConfig.optional(),
  })
  .strict();
/** `PUT /v1/repos/{id}/config`: replaces the registered settings (`{}` clears them). */
export const RepoConfigBody = RepoConfig;
/** Parts of an index to report: AST chunks, symbols (definitions, references, imports), docs (text files). */
export const IndexMode = z.enum(['ast', 'symbols', 'docs']);
export type IndexMode = z.infer<typeof IndexMode>;
export const IndexRepoBody = z
  .object({
    repo: z.string().min(1).max(4096),
    commit: z.string().min(1).max(200).optional(),
    /** Defaults to all three. The index itself is always whole: ranking uses every part. */
    modes: z.array(IndexMode).min(1).max(3).optional(),
  })
  .strict();

export const CreateOrgBody = z.object({ name: Slug }).strict();
export const SetMemberBody = z.object({ role: Role, repo: z.string().max(100).optional() }).strict();

export const CreatePatBody = z
  .object({
    name: z.string().min(1).max(100),
    scopes: z.array(Scope).min(1),
    /** Lifetime in days, at most a year. */
    expiresInDays: z.number().int().min(1).max(365).default(30),
  })
  .strict();

const ModelSetting = z
  .object({
    baseUrl: z.url().max(500).optional(),
    model: z.string().min(1).max(200).optional(),
    /** Stored, never returned: answers say `apiKeySet: true`. */
    apiKey: z.string().min(1).max(500).optional(),
    priceInPer1k: z.number().min(0).max(1000).optional(),
    priceOutPer1k: z.number().min(0).max(1000).optional(),
    /** `local`: the embedded model (node-llama-cpp) on the GGUF file `path`; `openai`: back to an endpoint. */
    provider: z.enum(['openai', 'local']).optional(),
    /** Absolute path of a GGUF file under one of the operator's CODEMESH_LOCAL_MODEL_DIRS. */
    path: z
      .string()
      .max(1000)
      .regex(/^\/.*\.gguf$/i, 'an absolute path of a .gguf file')
      .optional(),
  })
  .strict();
export const ModelRoleName = z.enum([
  'default',
  'planner',
  'coder',
  'tester',
  'reviewer',
  'integrator',
  'chat',
]);
export const ModelConfigBody = z
  .object({
    org: Slug,
    roles: z.partialRecord(ModelRoleName, ModelSetting).default({}),
    /** The org's default k for tasks that name no `candidates`, and each candidate's Coder model/temperature. */
    candidates: CandidateDefaults.optional(),
    /** The org's daily limits on model spending (UTC days); `null` removes them, absent keeps them. */
    quota: OrgQuota.nullable().optional(),
  })
  .strict();
export type ModelConfigBody = z.infer<typeof ModelConfigBody>;

/**
 * `PUT /v1/config/policy`: an org's policy bundle as YAML (`schemas/policy.ts` `PolicyBundleFile`), checked on top
 * of the default bundle before it is stored; `yaml: null` removes it (the default applies again).
 */
export const OrgPolicyBody = z
  .object({ org: Slug, yaml: z.string().min(1).max(200_000).nullable() })
  .strict();
export type OrgPolicyBody = z.infer<typeof OrgPolicyBody>;

/** One stored version of an org's policy bundle (`yaml: null`: the bundle was removed). */
export const OrgPolicyVersion = z.object({
  /** 1, 2, ... per org. */
  revision: z.number().int().min(1),
  yaml: z.string().nullable(),
  /** The bundle's own `version:` (absent for a removal). */
  bundleVersion: z.string().optional(),
  /** sha256 of `yaml` (hex), what the state dir's file is compared with. */
  sha256: z.string().optional(),
  by: z.string(),
  at: z.string(),
  /** The revision this one restored. */
  restoredFrom: z.number().int().min(1).optional(),
});
export type OrgPolicyVersion = z.infer<typeof OrgPolicyVersion>;

/** The record's `policies` row of kind `bundle`: the versions of an org's bundle, newest last (the last 100). */
export const ORG_POLICY_KIND = 'bundle';
export const OrgPolicyHistory = z.object({ versions: z.array(OrgPolicyVersion) });
export type OrgPolicyHistory = z.infer<typeof OrgPolicyHistory>;

/** `POST /v1/config/policy/restore`: a stored revision becomes the org's bundle again, as a new revision. */
export const OrgPolicyRestoreBody = z.object({ org: Slug, revision: z.number().int().min(1) }).strict();

/** `POST /v1/patches/{id}/rollback`; no body is the same as `{}`. */
export const RollbackBody = z.object({ reason: z.string().max(2000).default('') }).strict();
/**
 * A task's rollback as `GET /v1/tasks/{id}` shows it (`rollback`): who asked, when and why; the Integrator's
 * revert commit on `branch` (`codemesh/<task>-rollback`) once made; when the task was rolled back.
 */
export const RollbackView = z.object({
  state: z.enum(['requested', 'committed', 'rolled_back']),
  patchId: z.string(),
  /** The user id of who asked; `byName` their name or subject when known. */
  by: z.string(),
  byName: z.string().nullable().optional(),
  reason: z.string().nullable(),
  requestedAt: z.string(),
  branch: z.string().nullable(),
  commit: z.string().nullable(),
  /** The integrated commit it reverts. */
  reverts: z.string().nullable(),
  committedAt: z.string().nullable(),
  doneAt: z.string().nullable(),
});
export type RollbackView = z.infer<typeof RollbackView>;

/**
 * `GET /v1/tasks/{id}`: the task record and what belongs to it (plan, patches, test runs, reviews, cost, k
 * candidates); only the parts every answer has are typed here.
 */
export const TaskResource = z.looseObject({
  task: z.looseObject({ id: z.string(), status: z.string() }),
  repository: RepoSummary.nullable(),
  rollback: RollbackView.nullable(),
});

/** `202` of the rollback: asked, not done (the Integrator reverts on the branch). */
export const RollbackAccepted = z.object({
  rollback: z.object({
    patchId: z.string(),
    taskId: z.string(),
    branch: z.string(),
    revertOf: z.string().nullable(),
  }),
});
/** `202` of an approval: the decision recorded (`Approval` on the blackboard). */
export const ApprovalAccepted = z.object({ approval: Approval });

export const ChatBody = z
  .object({
    message: z.string().trim().min(1).max(4000),
    threadId: z
      .string()
      .regex(/^th-[a-z0-9]{6,40}$/)
      .optional(),
  })
  .strict();

/** NATS request/reply of the chat: the gateway asks on `cm.chat.<taskId>`, an agent responder answers. */
export const ChatQuestion = z.object({
  taskId: z.string(),
  threadId: z.string(),
  message: z.string(),
  history: z.array(z.object({ role: z.string(), content: z.string() })),
  /** Who asks (user id): a change request is recorded under this name. */
  author: z.string().default('unknown'),
  /** Whether the asker may change the task (the same role as its approval gate); else no change is made. */
  mayChange: z.boolean().default(false),
});
export type ChatQuestion = z.infer<typeof ChatQuestion>;
export const ChatAnswer = z.object({
  answer: z.string(),
  by: z.string(),
  /** The change request this message became, when it refined the task's scope or constraints. */
  changeRequest: ChangeRequest.optional(),
  /** API paths of what the answer draws on (plan, patches, test runs, reviews, costs). */
  links: z.array(z.string()).default([]),
});
export type ChatAnswer = z.infer<typeof ChatAnswer>;
/** Defined in schemas/subjects.ts; re-exported for the API's users. */
export const chatSubject = subjects.chat;
export const chatSubjectAll = subjects.allChats();
