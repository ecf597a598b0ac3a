// The OpenAPI 3.1 document of `/openapi.json`: paths written here, bodies generated from the zod schemas.
import { z } from 'zod';
import {
  ChatBody,
  CreateOrgBody,
  CreatePatBody,
  CreateTaskBody,
  ErrorBody,
  IndexRepoBody,
  ModelConfigBody,
  RegisterRepoBody,
  RepoConfigBody,
  RollbackBody,
  SetMemberBody,
  TaskList,
} from '../schemas/api.ts';
import { ApprovalRequest, BudgetDecisionRequest, PlanDecisionRequest } from '../schemas/index.ts';

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
    'scope or role missing (INSUFFICIENT_SCOPE, FORBIDDEN, REPO_NOT_REGISTERED), or a repository path outside the allowed roots or inside the state dir (REPO_PATH_REFUSED, REPO_ROOTS_NOT_CONFIGURED)',
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
const op = (summary: string, scope: string | undefined, extra: Record<string, unknown> = {}) => ({
  summary,
  ...(scope ? { security: [{ bearer: [scope] }] } : {}),
  responses: { '200': { description: 'ok' }, ...STD },
  ...extra,
});
const body = (schema: z.ZodType) => ({ requestBody: { required: true, content: json(schema) } });

export function openApiDocument(): Record<string, unknown> {
  const task = [idParam('id', 'task id, t-…')];
  const patch = [idParam('id', 'patch id, <task id>-p<attempt>')];
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
      '/v1/webhooks/github': {
        post: {
          summary:
            'GitHub webhook deliveries (no bearer token: authenticated by X-Hub-Signature-256, HMAC-SHA256 with CODEMESH_GITHUB_WEBHOOK_SECRET); once per X-GitHub-Delivery. issues.labeled with the trigger label → a task; pull_request_review "changes_requested" on a task\'s pull request → a change request at the gate; pull_request.closed → pr.state',
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
          'submit a task (role developer on the repository); `issue_url` (https://<github host>/<owner>/<repo>/issues/<n>) takes title, description (body and comments) and, when `repo` is absent, the registered checkout of that repository from GitHub',
          'tasks:write',
          {
            ...body(CreateTaskBody),
            responses: {
              '201': { description: 'created' },
              '422': err('not a git repository (REPO_NOT_FOUND)'),
              ...STD,
              '429': err(
                "rate limited (RATE_LIMITED), or the repository's org is at its daily model quota (QUOTA_EXCEEDED: details name the quota, limit, use and resetsAt; Retry-After until the next UTC midnight)",
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
          ],
          responses: { '200': { description: 'a page', content: json(TaskList) }, ...STD },
        }),
      },
      '/v1/tasks/{id}': {
        get: op(
          'a task with its plan, patches, test runs, reviews, cost, and with k candidates each candidate (record, patch, test run) and the selection (role viewer)',
          'tasks:read',
          { parameters: task },
        ),
      },
      '/v1/tasks/{id}/plan': {
        get: op(
          "the plan the agents work to, the Planner's proposed plan, the retrieved context it was made from (snippets with path, lines, why) and the `post-plan` decision (role viewer)",
          'tasks:read',
          { parameters: task },
        ),
      },
      '/v1/tasks/{id}/plan/approve': {
        post: op(
          'the `post-plan` gate: approve (optionally with an edited plan, checked as a DAG) or reject the plan (role approver; audited); 409 NOT_AWAITING_PLAN_APPROVAL, ALREADY_DECIDED',
          'patches:approve',
          { parameters: task, ...body(PlanDecisionRequest) },
        ),
      },
      '/v1/tasks/{id}/budget': {
        get: op(
          'the budget: soft and hard limits (task and per role), spending, live reservations, wall time, the pause and the raises (role viewer)',
          'tasks:read',
          { parameters: task },
        ),
        post: op(
          'the `budget` gate (a task paused at a soft limit, `awaiting_budget`): raise soft limits (never above the hard ones: 422 ABOVE_HARD_LIMIT) or stop the task (role approver; audited); 409 NOT_AWAITING_BUDGET, ALREADY_DECIDED',
          'patches:approve',
          { parameters: task, ...body(BudgetDecisionRequest) },
        ),
      },
      '/v1/tasks/{id}/events': {
        get: op(
          'the task events as server-sent events; resumes after Last-Event-ID (or ?after=)',
          'tasks:read',
          {
            parameters: [...task, { name: 'Last-Event-ID', in: 'header', schema: { type: 'string' } }],
          },
        ),
      },
      '/v1/repos': {
        post: op('register a repository path in an org (org admin)', 'config:write', body(RegisterRepoBody)),
      },
      '/v1/repos/{id}/config': {
        put: op(
          'replace the test and push settings of a registered repository (org admin; audited)',
          'config:write',
          { parameters: [idParam('id', 'repository id, r-…')], ...body(RepoConfigBody) },
        ),
      },
      '/v1/repos/index': {
        post: op(
          'index a repository with the Curator (role developer); 501 when not wired',
          'repos:index',
          body(IndexRepoBody),
        ),
      },
      '/v1/patches/{id}': {
        get: op('a patch and its approval (role viewer)', 'tasks:read', { parameters: patch }),
      },
      '/v1/patches/{id}/approve': {
        post: op(
          'approve or request changes (role approver; audited). Approvable: the patch at the gate, and the one a change request kept (also while its revision runs; a failed revision brings the task back to the gate with it). A change request needs a non-empty comment (400 INVALID_REQUEST) and an attempt left',
          'patches:approve',
          {
            parameters: patch,
            ...body(ApprovalRequest),
            responses: {
              '202': {
                description:
                  'recorded and published: `{approval}` (decision, comment, by, at, gate, earlier decisions)',
              },
              '404': err('no such task or patch (TASK_NOT_FOUND, PATCH_NOT_FOUND)'),
              '409': err(
                'NOT_AWAITING_APPROVAL (the patch cannot be decided on now), ALREADY_DECIDED (approved already, or another decision at this gate), NO_ATTEMPTS_LEFT (a change request when no revision can start)',
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
            ...body(RollbackBody),
          },
        ),
      },
      '/v1/orgs': { post: op('create an org (instance admin)', 'config:write', body(CreateOrgBody)) },
      '/v1/orgs/{org}/members/{user}': {
        put: op(
          'set a member role in an org, or on one of its repositories (org admin; audited)',
          'config:write',
          {
            parameters: [idParam('org', 'org id'), idParam('user', 'user id')],
            ...body(SetMemberBody),
          },
        ),
      },
      '/v1/tokens': {
        post: op(
          'create a personal access token (not with a PAT; scopes ⊆ yours); the secret is shown once',
          undefined,
          body(CreatePatBody),
        ),
        get: op('your personal access tokens (no secrets)', undefined),
      },
      '/v1/tokens/{id}': {
        delete: op('revoke a personal access token', undefined, { parameters: [idParam('id', 'token id')] }),
      },
      '/v1/config/models': {
        post: op(
          'store per-role model settings and the daily quota (tokensPerDay, usdPerDay; UTC days; null removes it) for an org (org admin; audited); API keys are never returned',
          'config:write',
          body(ModelConfigBody),
        ),
        get: op(
          "per-role model settings of an org, without keys, and its quota with today's use",
          'config:write',
          {
            parameters: [{ name: 'org', in: 'query', required: true, schema: { type: 'string' } }],
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
          "publish a dead letter's message again on its original subject (every consumer sees it again; message id redrive:<consumer>:<seq>, so a repeat publishes once) and remove the letter; the original comes from the events stream, or from the letter when it was kept whole. Admin of the task's repository, or instance admin (letters naming no task: instance admin only); audited",
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
              '404': err('no such dead letter, or re-driven already (DEAD_LETTER_NOT_FOUND)'),
              '409': err(
                'the message is gone from its stream and the letter holds only part of it (DEAD_LETTER_GONE)',
              ),
              ...STD,
            },
          },
        ),
      },
      '/v1/metrics': {
        get: op(
          'Prometheus text: tasks by status, events, tokens, cost, HTTP requests and latency',
          'metrics:read',
        ),
      },
      '/v1/traces/{id}': {
        get: op("JSONL export of the task's events and records, secrets and emails redacted", 'traces:read', {
          parameters: task,
        }),
      },
      '/v1/chat/{id}': {
        post: op(
          "ask the task's chat agent (NATS request/reply, a model that sees the plan, context, diffs, test runs, reviews and costs; answers with links); threaded by threadId. A message that refines the task's scope or constraints becomes a change request (`changeRequest` in the answer, audited) when the caller holds the approver role and patches:approve",
          'tasks:write',
          {
            parameters: task,
            ...body(ChatBody),
          },
        ),
      },
    },
  };
}
