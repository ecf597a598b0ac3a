// The OpenAPI 3.1 document of `/openapi.json`: paths written here, bodies generated from the zod schemas.
import { z } from 'zod';
import {
  ApprovalAccepted,
  ChatBody,
  CreatedTask,
  CreateOrgBody,
  CreatePatBody,
  CreateTaskBody,
  ErrorBody,
  IndexRepoBody,
  ModelConfigBody,
  OrgPolicyBody,
  OrgPolicyRestoreBody,
  RegisterRepoBody,
  RepoConfigBody,
  RepoList,
  RollbackAccepted,
  RollbackBody,
  SetMemberBody,
  TaskList,
  TaskResource,
} from '../schemas/api.ts';
import {
  ApprovalRequest,
  BudgetDecisionRequest,
  CreateCampaignBody,
  CalibrationMetrics,
  PlanDecisionRequest,
} from '../schemas/index.ts';

const json = (schema: z.ZodType) => ({
  'application/json': { schema: z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) },
});
const err = (description: string) => ({ description, content: json(ErrorBody) });
const STD = {
  '400': err(
    'malformed request (INVALID_JSON, INVALID_REQUEST, INVALID_ID; INVALID_TEXT: a string with a NUL byte or a lone UTF-16 surrogate)',
  ),
  '401': err('missing, expired or invalid token (UNAUTHORIZED)'),
  '403': err(
    'scope missing (INSUFFICIENT_SCOPE), role missing on a resource the caller may view (FORBIDDEN; one it may not view answers 404 as a missing one), REPO_NOT_REGISTERED, or a repository path outside the allowed roots or inside the state dir (REPO_PATH_REFUSED, REPO_ROOTS_NOT_CONFIGURED)',
  ),
  '413': err('body too large (BODY_TOO_LARGE)'),
  '429': err('rate or stream limit (RATE_LIMITED, TOO_MANY_STREAMS); see Retry-After'),
};
const idParam = (name: string, description: string) => ({
  name,
  in: 'path',
  required: true,
  schema: { type: 'string' },
  description,
});
/** Answers of a route besides its success and the STD ones, by status. */
type Answers = Record<string, { description: string; content?: unknown }>;
const op = (
  summary: string,
  scope: string | undefined,
  extra: Record<string, unknown> = {},
  answers: Answers = {},
) => ({
  summary,
  ...(scope ? { security: [{ bearer: [scope] }] } : {}),
  responses: { '200': { description: 'ok' }, ...answers, ...STD },
  ...extra,
});
const created = (description: string) => ({ '201': { description } });
const noTask = { '404': err('no such task, or one the caller may not view (TASK_NOT_FOUND)') };
const body = (schema: z.ZodType) => ({ requestBody: { required: true, content: json(schema) } });
/** A body whose every field is optional: it may be left out. */
const optionalBody = (schema: z.ZodType) => ({ requestBody: { required: false, content: json(schema) } });

export function openApiDocument(): Record<string, unknown> {
  const task = [idParam('id', 'task id, t-…')];
  const patch = [idParam('id', 'patch id, <task id>-p<attempt>')];
  const campaign = [idParam('id', 'campaign id, cp-…')];
  const noCampaign = { '404': err('no such campaign, or one the caller may not view (CAMPAIGN_NOT_FOUND)') };
  const campaignAction = (summary: string) => ({
    post: op(
      summary,
      'tasks:write',
      { parameters: campaign },
      {
        ...noCampaign,
        '409': err(
          'CAMPAIGN_ENDED (completed or failed), CAMPAIGN_CANCELLED (pause or resume after a cancel)',
        ),
      },
    ),
  });
  return {
    openapi: '3.1.0',
    info: {
      title: 'codemesh gateway',
      version: '1.0.0',
      description:
        'Bearer tokens: OIDC JWTs (JWKS; exp - iat at most the configured lifetime), HS256 JWTs in development, personal access tokens `cmp_<id>_<secret>`, or the development admin token. Every error is JSON `{error: {code, message}}` with a stable code.',
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths: {
      '/healthz': {
        get: {
          summary: 'liveness of NATS and the record (no token)',
          responses: { '200': { description: 'ok' }, '503': { description: 'degraded' } },
        },
      },
      '/openapi.json': {
        get: { summary: 'this document (no token)', responses: { '200': { description: 'ok' } } },
      },
      '/console': {
        get: {
          summary: 'the web console (no token; the page asks for one)',
          responses: {
            '200': { description: 'its page' },
            '503': err('the console is not built (CONSOLE_NOT_BUILT)'),
          },
        },
      },
      '/console/{file}': {
        get: {
          summary: "the console's static files (no token)",
          parameters: [idParam('file', 'a file of the built console')],
          responses: {
            '200': { description: 'the file' },
            '404': { description: 'no such file (a text body); paths without an extension get the page' },
            '503': err('the console is not built (CONSOLE_NOT_BUILT)'),
          },
        },
      },
      '/v1/webhooks/github': {
        post: {
          summary:
            'GitHub webhook deliveries (no bearer token: authenticated by X-Hub-Signature-256, HMAC-SHA256 with CODEMESH_GITHUB_WEBHOOK_SECRET); once per X-GitHub-Delivery. issues.labeled with the trigger label → a task; pull_request_review "changes_requested", or a new issue_comment / pull_request_review_comment mentioning @codemesh (CODEMESH_GITHUB_HANDLE; not by a bot), on a task\'s pull request → a change request at the gate; pull_request.closed → pr.state',
          responses: {
            '202': { description: 'handled: `{delivery, effect}`' },
            '200': { description: 'a redelivery: `{delivery, duplicate: true, effect}`, nothing done again' },
            '401': err('bad or missing signature (BAD_SIGNATURE)'),
            '503': err('no webhook secret configured (WEBHOOK_NOT_CONFIGURED): every delivery is refused'),
          },
        },
      },
      '/v1/tasks': {
        post: op(
          'submit a task (role developer on the repository); `issue_url` (https://<github host>/<owner>/<repo>/issues/<n>) takes title, description (body and comments) and, when `repo` is absent, the registered checkout of that repository from GitHub — or, when none is registered, its owner is in CODEMESH_GITHUB_CLONE_OWNERS and the caller is admin of `org`, a hardened clone into CODEMESH_GITHUB_CLONE_ROOT registered in that org',
          'tasks:write',
          {
            ...body(CreateTaskBody),
            responses: {
              '201': {
                description: 'accepted: recorded and started',
                headers: {
                  Location: { description: 'the task resource, /v1/tasks/{id}', schema: { type: 'string' } },
                },
                content: json(CreatedTask),
              },
              '409': err(
                'the repository was registered concurrently by another org (REPO_CONFLICT); the clone target exists but is not registered (CLONE_REFUSED)',
              ),
              '502': err(
                'GitHub failed (GITHUB_API), or the clone failed or passed its size or time bound (CLONE_FAILED)',
              ),
              '422': err(
                'not a git repository (REPO_NOT_FOUND); the issue of `issue_url` is not on GitHub (ISSUE_NOT_FOUND); no registered checkout of its repository (REPO_NOT_RESOLVED)',
              ),
              ...STD,
              '429': err(
                "rate limited (RATE_LIMITED), or the repository's org is at its daily model quota (QUOTA_EXCEEDED: details name the quota, limit, use and resetsAt; Retry-After until the next UTC midnight)",
              ),
              '503': err(
                'GitHub rate-limited the issue read past the allowed wait (GITHUB_RATE_LIMITED); GitHub auth misconfigured (GITHUB_NOT_CONFIGURED: the message names the setting); the clone root is missing or outside CODEMESH_REPO_ROOTS (CLONE_ROOT_MISSING, CLONE_ROOT_REFUSED)',
              ),
            },
          },
        ),
        get: op('list visible tasks, newest first', 'tasks:read', {
          parameters: [
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100 } },
            { name: 'cursor', in: 'query', schema: { type: 'string' } },
            { name: 'status', in: 'query', schema: { type: 'string' } },
            { name: 'repo', in: 'query', schema: { type: 'string' } },
            {
              name: 'campaign',
              in: 'query',
              description:
                'only the tasks this campaign started (each item has `campaignId` and `createdBy`)',
              schema: { type: 'string' },
            },
          ],
          responses: { '200': { description: 'a page', content: json(TaskList) }, ...STD },
        }),
      },
      '/v1/tasks/{id}': {
        get: op(
          'a task with its plan, patches, test runs, reviews, cost, and with k candidates each candidate (record, patch, test run) and the selection (role viewer)',
          'tasks:read',
          { parameters: task },
          {
            '200': {
              description:
                'the task; `repository` (id, name, path); `rollback` (who asked, when, why; the revert branch and commit; when done) or null',
              content: json(TaskResource),
            },
            ...noTask,
          },
        ),
      },
      '/v1/tasks/{id}/plan': {
        get: op(
          "the plan the agents work to, the Planner's proposed plan, the retrieved context it was made from (snippets with path, lines, why) and the `post-plan` decision (role viewer)",
          'tasks:read',
          { parameters: task },
          noTask,
        ),
      },
      '/v1/tasks/{id}/plan/approve': {
        post: op(
          'the `post-plan` gate: approve (optionally with an edited plan, checked as a DAG) or reject the plan (role approver; audited); 409 NOT_AWAITING_PLAN_APPROVAL, ALREADY_DECIDED',
          'patches:approve',
          { parameters: task, ...body(PlanDecisionRequest) },
          {
            ...noTask,
            '409': err(
              'NOT_AWAITING_PLAN_APPROVAL (the task is not at the post-plan gate), ALREADY_DECIDED (another decision was made)',
            ),
          },
        ),
      },
      '/v1/campaigns': {
        post: op(
          'start a multi-repo campaign (FR-015): one change over registered repositories (ids or names, or `{query}`: `name:<glob> lang:<node|python|go> org:<id>` over the registered repositories where the caller is a developer; one org, role developer on each), upstream repositories first (dependency graph from package.json, pyproject/requirements, go.mod), under throttles (maxConcurrent, maxPrsPerHour, a UTC rollout window) and the org quota; each task gets `budget`, `approve` and `config` as in POST /v1/tasks',
          'tasks:write',
          body(CreateCampaignBody),
          created(
            '`{campaign}` with `Location: /v1/campaigns/{id}`; the campaign driver plans it and starts its tasks',
          ),
        ),
        get: op(
          'the campaigns the caller may see (org member, or a role on each repository), newest first: status, burndown, waiting, repository count',
          'tasks:read',
          {
            parameters: [
              { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100 } },
              { name: 'status', in: 'query', schema: { type: 'string' } },
              { name: 'org', in: 'query', schema: { type: 'string' } },
            ],
          },
        ),
      },
      '/v1/campaigns/{id}/repos/{repoId}/retry': {
        post: op(
          'retry a failed repository (id or name): back to pending with a new task id (`…x<n>`), with the repositories behind it that failed without starting; a completed campaign runs again; role developer; audited',
          'tasks:write',
          { parameters: [...campaign, idParam('repoId', 'repository id r-… or name')] },
          {
            '404': err('no such campaign (CAMPAIGN_NOT_FOUND) or repository in it (REPO_NOT_IN_CAMPAIGN)'),
            '409': err('NOT_FAILED (the repository has not failed), CAMPAIGN_ENDED (cancelled or failed)'),
          },
        ),
      },
      '/v1/campaigns/{id}': {
        get: op(
          'the campaign: status, the burndown (per state: pending, running, awaiting_approval, pr_open, merged, failed, cancelled) and each repository (state, task, upstream, what it builds on, commit, reason, proposedAt, retries); role viewer in its org or on every repository',
          'tasks:read',
          { parameters: campaign },
          noCampaign,
        ),
      },
      '/v1/campaigns/{id}/pause': campaignAction(
        'pause: no new task starts (started ones run on); role developer; audited',
      ),
      '/v1/campaigns/{id}/resume': campaignAction('resume a paused campaign; role developer; audited'),
      '/v1/campaigns/{id}/cancel': campaignAction(
        'cancel: repositories not started are cancelled; tasks under way are stopped (`task.cancel_requested`: each fails with "campaign cancelled" unless its change is already integrated) and their repositories end `cancelled`; role developer; audited',
      ),
      '/v1/campaigns/{id}/events': {
        get: op(
          "SSE: the campaign's events (id = event seq; resumes after Last-Event-ID or ?after=), each followed by a `burndown` event; ends when the campaign ends",
          'tasks:read',
          { parameters: [...campaign, { name: 'Last-Event-ID', in: 'header', schema: { type: 'string' } }] },
          noCampaign,
        ),
      },
      '/v1/tasks/{id}/budget': {
        get: op(
          'the budget: soft and hard limits (task and per role), spending, live reservations, wall time, the pause and the raises (role viewer)',
          'tasks:read',
          { parameters: task },
          noTask,
        ),
        post: op(
          'the `budget` gate (a task paused at a soft limit, `awaiting_budget`): raise soft limits (never above the hard ones: 422 ABOVE_HARD_LIMIT) or stop the task (role approver; audited); 409 NOT_AWAITING_BUDGET, ALREADY_DECIDED',
          'patches:approve',
          { parameters: task, ...body(BudgetDecisionRequest) },
          {
            ...noTask,
            '409': err('NOT_AWAITING_BUDGET (not at the budget gate), ALREADY_DECIDED (stopped already)'),
            '422': err('a raise above a hard limit (ABOVE_HARD_LIMIT)'),
          },
        ),
      },
      '/v1/tasks/{id}/events': {
        get: op(
          'the task events as server-sent events; resumes after Last-Event-ID (or ?after=)',
          'tasks:read',
          {
            parameters: [...task, { name: 'Last-Event-ID', in: 'header', schema: { type: 'string' } }],
          },
          noTask,
        ),
      },
      '/v1/repos': {
        get: op(
          'the registered repositories you hold a role on, with that role (`{items: [{id, orgId, name, path, role}]}`)',
          'tasks:read',
          {},
          { '200': { description: 'ok', content: json(RepoList) } },
        ),
        post: op('register a repository path in an org (org admin)', 'config:write', body(RegisterRepoBody), {
          ...created('registered: `{repo: {id, orgId, path, name}}`'),
          '409': err('the path is registered already (REPO_EXISTS; one org per path)'),
          '422': err('not a git repository (REPO_NOT_FOUND)'),
        }),
      },
      '/v1/repos/{id}/config': {
        put: op(
          'replace the test and push settings of a registered repository (org admin; audited)',
          'config:write',
          { parameters: [idParam('id', 'repository id, r-…')], ...body(RepoConfigBody) },
          { '404': err('no such registered repository, or one the caller may not view (REPO_NOT_FOUND)') },
        ),
      },
      '/v1/repos/index': {
        post: op(
          'index a repository with the Curator (role developer); 501 when not wired',
          'repos:index',
          body(IndexRepoBody),
          {
            '422': err('unknown commit, or not a git repository (UNKNOWN_COMMIT, NOT_A_GIT_REPO)'),
            '501': err('no Curator wired into this gateway (INDEXER_NOT_WIRED)'),
            '503': err('the Curator is unavailable (UNAVAILABLE)'),
            '504': err('the Curator did not answer in time (TIMEOUT)'),
          },
        ),
      },
      '/v1/patches/{id}': {
        get: op(
          'a patch (with its policy report), its approval, and the documentation patch and PR description when the task asked for them (`docs`, else null) (role viewer)',
          'tasks:read',
          { parameters: patch },
          {
            '404': err(
              'no such task or patch, or one the caller may not view (TASK_NOT_FOUND, PATCH_NOT_FOUND)',
            ),
          },
        ),
      },
      '/v1/patches/{id}/approve': {
        post: op(
          'approve or request changes (role approver; audited). Approvable: the patch at the gate, and the one a change request kept (also while its revision runs; a failed revision brings the task back to the gate with it). A change request needs a non-empty comment (400 INVALID_REQUEST) and an attempt left. A patch the policy check blocks (its `block` findings, shown with their remediation on `GET /v1/patches/{id}`) is approved only with `override: {reason}`: recorded on the patch as `policy.override` (who, when, rule ids, reason) and audited as `patch.policy_override`',
          'patches:approve',
          {
            parameters: patch,
            ...optionalBody(ApprovalRequest),
            responses: {
              '202': {
                description:
                  'recorded and published: `{approval}` (decision, comment, by, at, gate, earlier decisions). No body, or `{}`, is an approval',
                content: json(ApprovalAccepted),
              },
              '404': err(
                'no such task or patch, or one the caller may not view (TASK_NOT_FOUND, PATCH_NOT_FOUND)',
              ),
              '409': err(
                'NOT_AWAITING_APPROVAL (the patch cannot be decided on now), ALREADY_DECIDED (approved already, or another decision at this gate), NO_ATTEMPTS_LEFT (a change request when no revision can start), POLICY_BLOCKED (an approval of a blocked patch without `override`; the message names the rules and their remediation), NOTHING_TO_OVERRIDE (an override on a patch nothing blocks)',
              ),
              ...STD,
            },
          },
        ),
      },
      '/v1/patches/{id}/rollback': {
        post: op(
          'revert the integrated patch of a completed task on codemesh/<task>-rollback (role approver; audited)',
          'patches:approve',
          {
            parameters: patch,
            ...optionalBody(RollbackBody),
            responses: {
              '202': {
                description:
                  'asked: the Integrator reverts the commit on `branch`; the task stream shows `rollback.committed` then `task.rolled_back`, and GET /v1/tasks/{id} `rollback`',
                content: json(RollbackAccepted),
              },
              '404': err('no such task, or one the caller may not view (TASK_NOT_FOUND)'),
              '409': err(
                'ROLLBACK_REFUSED: not the integrated patch of the task, or the task is not completed',
              ),
              ...STD,
            },
          },
        ),
      },
      '/v1/orgs': {
        post: op('create an org (instance admin)', 'config:write', body(CreateOrgBody), {
          ...created('created: `{org: {id, name}}`'),
          '409': err('an org of that name exists (ORG_EXISTS)'),
        }),
      },
      '/v1/orgs/{org}/members/{user}': {
        put: op(
          'set a member role in an org, or on one of its repositories (org admin; audited)',
          'config:write',
          {
            parameters: [idParam('org', 'org id'), idParam('user', 'user id')],
            ...body(SetMemberBody),
          },
          { '404': err('no such user, or no such repository in the org (USER_NOT_FOUND, REPO_NOT_FOUND)') },
        ),
      },
      '/v1/tokens': {
        post: op(
          'create a personal access token (not with a PAT; scopes ⊆ yours); the secret is shown once',
          undefined,
          body(CreatePatBody),
          created('created: `{token: {id, name, scopes, expiresAt, secret}}`; the secret is shown only here'),
        ),
        get: op('your personal access tokens (no secrets)', undefined),
      },
      '/v1/tokens/{id}': {
        delete: op(
          'revoke a personal access token',
          undefined,
          { parameters: [idParam('id', 'token id')] },
          { '404': err('no such token of yours (TOKEN_NOT_FOUND)') },
        ),
      },
      '/v1/config/models': {
        post: op(
          'store per-role model settings and the daily quota (tokensPerDay, usdPerDay; UTC days; null removes it) for an org (org admin; audited); API keys are never returned',
          'config:write',
          body(ModelConfigBody),
          { '503': err('an API key sent while no secret key is configured (SECRET_KEY_MISSING)') },
        ),
        get: op(
          "per-role model settings of an org, without keys, and its quota with today's use",
          'config:write',
          {
            parameters: [{ name: 'org', in: 'query', required: true, schema: { type: 'string' } }],
          },
        ),
      },
      '/v1/config/policy': {
        get: op(
          "an org's policy bundle (the YAML, null when none) and the bundle its tasks are checked with (default < org; version, each rule's kind, severity, enforcement, enabled; licenses); a stored file that no longer parses is shown with `error` (org admin)",
          'config:write',
          {
            parameters: [{ name: 'org', in: 'query', required: true, schema: { type: 'string' } }],
          },
        ),
        put: op(
          "store an org's policy bundle (YAML, checked on top of the default bundle first; null removes it) in the state dir, where every policy check of the org's tasks reads it (org admin; audited); a bundle that is not valid YAML or breaks the schema is a 400 POLICY_BUNDLE_INVALID naming the layer and rule",
          'config:write',
          body(OrgPolicyBody),
          { '503': err('the gateway runs without a state dir (STATE_DIR_MISSING)') },
        ),
      },
      '/v1/config/policy/versions': {
        get: op(
          "the versions of an org's policy bundle stored through the API, newest first (the last 100): revision, YAML (null: removed), bundle version, sha256, who, when, restoredFrom (org admin)",
          'config:write',
          {
            parameters: [{ name: 'org', in: 'query', required: true, schema: { type: 'string' } }],
          },
        ),
      },
      '/v1/config/policy/restore': {
        post: op(
          "install a stored revision of an org's policy bundle again, as a new revision (checked on top of the current default bundle first; org admin; audited config.policy.restore); an unknown revision is a 404",
          'config:write',
          body(OrgPolicyRestoreBody),
          {
            '404': err('the org has no such revision (NOT_FOUND)'),
            '503': err('the gateway runs without a state dir (STATE_DIR_MISSING)'),
          },
        ),
      },
      '/v1/board/events': {
        get: op(
          'SSE: current blackboard entries the caller may see, then every change ({key, revision, op, value}; large values trimmed, secrets scrubbed)',
          'tasks:read',
        ),
      },
      '/v1/deadletters': {
        get: op(
          'what the durable consumers gave up on after bounded redelivery (newest first; ?limit, ?before=<nextCursor>): consumer, stream sequence, deliveries, reason, event id/task/type, payload cut and redacted. Instance administrators see all; a metrics:read token the letters of tasks it may view',
          'metrics:read',
        ),
      },
      '/v1/deadletters/{seq}/redrive': {
        post: op(
          "publish a dead letter's message again on its original subject (every consumer sees it again; message id redrive:<consumer>:<seq>, so a repeat publishes once) and remove the letter; the original comes from the events stream, or from the letter when it was kept whole. The copy carries the header Codemesh-Redrive-Of: <original sequence>, and the task's event log (SSE) shows each event id once. A conductor's letter whose task has ended (or left the blackboard) is refused. Admin of the task's repository, or instance admin (letters naming no task: instance admin only); audited",
          'config:write',
          {
            parameters: [
              idParam(
                'seq',
                "the letter's sequence in the dead-letter stream (dlqSeq of GET /v1/deadletters)",
              ),
            ],
            responses: {
              '200': {
                description: '{redriven: {dlqSeq, consumer, eventId, taskId, type, subject, seq, duplicate}}',
              },
              '404': err(
                'no such dead letter, re-driven already, or one the caller may not view (DEAD_LETTER_NOT_FOUND)',
              ),
              '409': err(
                "the message is gone from its stream and the letter holds only part of it (DEAD_LETTER_GONE); a conductor's letter whose task has ended — failed, rolled back, abstained, or completed for any event but a rollback request — or left the blackboard: the conductor takes no more events of it (DEAD_LETTER_TASK_ENDED)",
              ),
              ...STD,
            },
          },
        ),
      },
      '/v1/metrics': {
        get: op(
          "Prometheus text: tasks by status, events, tokens, cost, labelled confidences and their Brier score (raw and calibrated), counted over the caller's orgs' tasks (superuser: all); HTTP requests and latency of the process",
          'metrics:read',
        ),
      },
      '/v1/metrics/calibration': {
        get: op(
          "calibration of the patches' confidence (of the tasks the caller may see; superuser: all) against their labelled outcomes (human approve / request changes / rollback, evaluation resolved or not): n, label counts, and for the Reviewer model's own confidence (raw) and the calibrated one the Brier score, the expected calibration error and reliability bins (count, mean predicted, observed rate); ?bins=2..50 (default 10)",
          'metrics:read',
          {
            parameters: [
              {
                name: 'bins',
                in: 'query',
                required: false,
                schema: { type: 'integer', minimum: 2, maximum: 50 },
              },
            ],
            responses: { '200': { description: 'ok', content: json(CalibrationMetrics) }, ...STD },
          },
        ),
      },
      '/v1/traces/{id}': {
        get: op(
          "JSONL export of the task's events and records, secrets and emails redacted",
          'traces:read',
          { parameters: task },
          noTask,
        ),
      },
      '/v1/chat/{id}': {
        post: op(
          "ask the task's chat agent (NATS request/reply, a model that sees the plan, context, diffs, test runs, reviews and costs; answers with links); threaded by threadId; the developer role on the task's repository. A message that refines the task's scope or constraints becomes a change request (`changeRequest` in the answer, audited) when the caller holds the approver role and patches:approve",
          'tasks:write',
          {
            parameters: task,
            ...body(ChatBody),
          },
          {
            '404': err(
              'no such task, or no such thread of the task (or not yours, or not one you may view) (TASK_NOT_FOUND, THREAD_NOT_FOUND)',
            ),
            '503': err('no chat agent answered (NO_AGENT_ANSWER)'),
          },
        ),
      },
    },
  };
}
