// `POST /v1/webhooks/github`: GitHub's deliveries, authenticated by their HMAC (`X-Hub-Signature-256` with
// CODEMESH_GITHUB_WEBHOOK_SECRET) instead of a bearer token, handled once per `X-GitHub-Delivery`. An issue
// labelled with the trigger label becomes a task; a "changes requested" review on a task's pull request is a
// change request at the gate (the approve route's own logic), and so is a new comment addressed to codemesh
// (`@codemesh`, CODEMESH_GITHUB_HANDLE) on such a pull request; a merged or closed pull request is noted.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { resolve } from 'node:path';
import type { Hono } from 'hono';
import { approvablePatches } from '../../actors/conductor/workflow.ts';
import { CreateTaskBody } from '../../schemas/api.ts';
import {
  keys,
  PullRequestRecord,
  TaskId,
  TaskRecord,
  WebhookDelivery,
  type WebhookPayload,
  WebhookPayload as Payload,
} from '../../schemas/index.ts';
import type { Env, Gateway } from '../context.ts';
import { ApiError } from '../errors.ts';
import { checkIssueOrg, withIssue } from '../issue-intake.ts';
import type { Principal } from '../types.ts';
import { decidePatch } from './patches.ts';
import { startTask } from './tasks.ts';

/**
 * Who may steer a task from GitHub: the repository's owner, a member of its organization, or a collaborator.
 * On a public repository anyone can comment or review; GitHub's `author_association` says who that is.
 */
const TRUSTED_ASSOCIATIONS = new Set(['OWNER', 'MEMBER', 'COLLABORATOR']);
export const trustedAuthor = (association: string | undefined) =>
  !!association && TRUSTED_ASSOCIATIONS.has(association.toUpperCase());

/** Constant-time check of `sha256=<hex>` over the raw body. */
export function validSignature(secret: string, body: Buffer, header: string | undefined): boolean {
  if (!header?.startsWith('sha256=')) return false;
  const want = createHmac('sha256', secret).update(body).digest();
  const got = Buffer.from(header.slice(7), 'hex');
  return got.length === want.length && timingSafeEqual(got, want);
}

/** The task of a codemesh branch (`codemesh/<task>` or its `-rollback`), if the ref is one. */
function taskOfBranch(ref: string): string | undefined {
  const m = /^codemesh\/(t-[a-z0-9]+)(?:-rollback)?$/.exec(ref);
  return m && TaskId.safeParse(m[1]).success ? m[1] : undefined;
}

const actor = (p: WebhookPayload): Principal => ({
  userId: `github:${p.sender?.login ?? 'unknown'}`,
  via: 'dev',
  tokenKey: 'github-webhook',
  scopes: new Set(),
  superuser: false,
});

export function webhookRoutes(app: Hono<Env>, gw: Gateway): void {
  app.post('/v1/webhooks/github', async (c) => {
    const secret = gw.github.settings.webhookSecret;
    if (!secret)
      throw new ApiError(
        503,
        'WEBHOOK_NOT_CONFIGURED',
        'no webhook secret is configured (CODEMESH_GITHUB_WEBHOOK_SECRET): every delivery is refused',
      );
    const raw = Buffer.from(await c.req.arrayBuffer());
    if (raw.length > gw.limits.maxBodyBytes)
      throw new ApiError(413, 'BODY_TOO_LARGE', `the body is larger than ${gw.limits.maxBodyBytes} bytes`);
    if (!validSignature(secret, raw, c.req.header('x-hub-signature-256')))
      throw new ApiError(401, 'BAD_SIGNATURE', 'X-Hub-Signature-256 does not match the body');
    const delivery = c.req.header('x-github-delivery') ?? '';
    const event = c.req.header('x-github-event') ?? '';
    if (!delivery || delivery.length > 100 || !event || event.length > 100)
      throw new ApiError(400, 'INVALID_REQUEST', 'X-GitHub-Delivery and X-GitHub-Event are required');
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new ApiError(400, 'INVALID_JSON', 'the body is not valid JSON');
    }
    const payload = Payload.parse(json);

    // Claimed before acting (a create: one claimant), recorded after; a failure releases the claim so that
    // GitHub's redelivery tries again.
    const key = keys.ghdelivery(delivery);
    const at = new Date(gw.now()).toISOString();
    const base = { id: delivery, event, ...(payload.action ? { action: payload.action } : {}), at };
    try {
      await gw.mesh.board.create(key, WebhookDelivery, { ...base, effect: 'in progress' });
    } catch {
      const prior = (await gw.mesh.board.get(key, WebhookDelivery))?.value;
      return c.json({ delivery, duplicate: true, effect: prior?.effect ?? 'in progress' }, 200);
    }
    let effect: string;
    try {
      effect = await act(gw, event, payload);
    } catch (err) {
      await gw.mesh.board.delete(key).catch(() => undefined);
      throw err;
    }
    await gw.mesh.board.mutate(key, WebhookDelivery, (cur) => ({ ...(cur ?? base), effect }));
    return c.json({ delivery, effect }, 202);
  });
}

async function act(gw: Gateway, event: string, p: WebhookPayload): Promise<string> {
  if (event === 'ping') return 'pong';
  if (event === 'issues' && p.action === 'labeled') {
    if (p.label?.name !== gw.github.settings.triggerLabel || !p.issue)
      return `ignored: not the trigger label (${gw.github.settings.triggerLabel})`;
    if (p.issue.pull_request) return 'ignored: a pull request, not an issue';
    let body: CreateTaskBody;
    try {
      body = CreateTaskBody.parse(await withIssue(gw, { issue_url: p.issue.html_url }));
    } catch (err) {
      if (err instanceof ApiError && err.code === 'GITHUB_OWNER_NOT_OF_ORG') return `ignored: ${err.message}`;
      throw err;
    }
    const { org: _org, ...request } = body;
    // Only a registered checkout: a webhook never registers a repository.
    const repo = await gw.access.repoByPath(resolve(request.repo));
    if (!repo) return `ignored: ${request.repo} is not registered`;
    try {
      checkIssueOrg(gw, request.issueUrl, repo.orgId);
    } catch (err) {
      if (err instanceof ApiError) return `ignored: ${err.message}`;
      throw err;
    }
    const who = actor(p);
    const task = await startTask(gw, request, repo, who.userId);
    await gw.audit(who, 'webhook.task', task.id, repo.orgId, { issueUrl: request.issueUrl });
    return `task ${task.id}`;
  }
  if (event === 'pull_request_review' && p.action === 'submitted' && p.pull_request) {
    if (p.review?.state.toLowerCase() !== 'changes_requested') return `ignored: review ${p.review?.state}`;
    if (!trustedAuthor(p.review.author_association))
      return `ignored: a review by @${p.sender?.login ?? 'unknown'}, not an owner, member or collaborator (${p.review.author_association ?? 'no association'})`;
    const found = await taskOfPull(gw, p);
    if (typeof found === 'string') return found;
    const comment =
      p.review.body?.trim() ||
      `Changes requested on GitHub by @${p.sender?.login ?? 'unknown'} (${found.record.url})`;
    return requestChanges(gw, p, found.task, p.pull_request.number, comment);
  }
  if ((event === 'issue_comment' || event === 'pull_request_review_comment') && p.comment) {
    const asked = commentRequest(gw.github.settings.handle, event, p);
    if (typeof asked === 'string') return asked;
    const found = await taskOfNumber(gw, p, asked.taskId, asked.number);
    if (typeof found === 'string') return found;
    return requestChanges(gw, p, found.task, asked.number, asked.text);
  }
  if (event === 'pull_request' && p.action === 'closed' && p.pull_request) {
    const found = await taskOfPull(gw, p);
    if (typeof found === 'string') return found;
    const state = p.pull_request.merged ? ('merged' as const) : ('closed' as const);
    const revert = found.record.revert?.number === p.pull_request.number;
    if (!revert)
      await gw.mesh.board.mutate(keys.pr(found.task.id), PullRequestRecord, (cur) =>
        cur ? { ...cur, state, updatedAt: new Date(gw.now()).toISOString() } : undefined,
      );
    await gw.mesh.bus.publish({
      id: `${found.task.id}:pr.state:${p.pull_request.number}:${state}`,
      taskId: found.task.id,
      type: 'pr.state',
      at: new Date(gw.now()).toISOString(),
      data: { number: p.pull_request.number, state, revert, by: p.sender?.login ?? null },
    });
    return `pull request #${p.pull_request.number} ${state}`;
  }
  return `ignored: ${event}${p.action ? `.${p.action}` : ''}`;
}

/** The task whose pull request (or revert pull request) this is: by its head branch and the recorded number. */
async function taskOfPull(
  gw: Gateway,
  p: WebhookPayload,
): Promise<{ task: TaskRecord; record: PullRequestRecord } | string> {
  const pr = p.pull_request!;
  const taskId = taskOfBranch(pr.head.ref);
  if (!taskId) return 'ignored: not a codemesh branch';
  return taskOfNumber(gw, p, taskId, pr.number);
}

/** The task `taskId` if pull request `number` (of the payload's repository) is its recorded (or revert) one. */
async function taskOfNumber(
  gw: Gateway,
  p: WebhookPayload,
  taskId: string,
  number: number,
): Promise<{ task: TaskRecord; record: PullRequestRecord } | string> {
  const [task, record] = await Promise.all([
    gw.mesh.board.get(keys.task(taskId), TaskRecord),
    gw.mesh.board.get(keys.pr(taskId), PullRequestRecord),
  ]);
  const full = p.repository?.full_name.toLowerCase();
  const ours =
    record &&
    (record.value.number === number || record.value.revert?.number === number) &&
    (!full || full === `${record.value.owner}/${record.value.repo}`.toLowerCase());
  if (!task || !ours) return `ignored: no pull request of codemesh #${number}`;
  return { task: task.value, record: record.value };
}

/**
 * A comment addressed to codemesh on a pull request, as a change request: its words with the handle stripped
 * (an inline comment says which file and line), the pull request's number, and the task it names (the head
 * branch of an inline comment; the `Codemesh-Task:` trailer of the body codemesh wrote, for a conversation
 * comment, whose payload has no branch — checked against the task's recorded pull request all the same).
 * A string says why the delivery is ignored.
 */
export function commentRequest(
  handle: string,
  event: string,
  p: WebhookPayload,
): { text: string; number: number; taskId: string } | string {
  if (p.action !== 'created') return `ignored: ${event}.${p.action ?? ''}`;
  const c = p.comment;
  if (!c) return `ignored: ${event} without a comment`;
  if (c.user?.type === 'Bot') return `ignored: a comment by a bot (${c.user.login})`;
  if (!trustedAuthor(c.author_association))
    return `ignored: a comment by @${c.user?.login ?? 'unknown'}, not an owner, member or collaborator (${c.author_association ?? 'no association'})`;
  const escaped = handle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const mention = new RegExp(`(^|[^\\w@/.-])${escaped}(?![\\w-])[,:]?`, 'gi');
  const body = c.body ?? '';
  if (body.search(mention) < 0) return `ignored: the comment does not mention ${handle}`;
  const words = body.replace(mention, '$1').trim();
  if (!words) return `ignored: the comment says nothing besides ${handle}`;
  let number: number;
  let taskId: string | undefined;
  if (event === 'pull_request_review_comment') {
    if (!p.pull_request) return 'ignored: a review comment without its pull request';
    number = p.pull_request.number;
    taskId = taskOfBranch(p.pull_request.head.ref);
  } else {
    if (!p.issue?.pull_request) return 'ignored: a comment on an issue, not on a pull request';
    number = p.issue.number;
    const named = [...(p.issue.body ?? '').matchAll(/^Codemesh-Task: (t-[a-z0-9]+)\s*$/gm)].at(-1)?.[1];
    taskId = named && TaskId.safeParse(named).success ? named : undefined;
  }
  if (!taskId) return 'ignored: not a codemesh pull request';
  const where = c.path ? `On \`${c.path}\`${c.line ? ` line ${c.line}` : ''}: ` : '';
  return { text: `${where}${words}`, number, taskId };
}

/** A change request on the task's patch at the gate, through the approve route's own code. */
async function requestChanges(
  gw: Gateway,
  p: WebhookPayload,
  task: TaskRecord,
  number: number,
  comment: string,
): Promise<string> {
  const pid = approvablePatches(task.workflow).requestChanges[0];
  if (!pid)
    return note(gw, task.id, number, `ignored: task ${task.id} is ${task.status}, no patch at the gate`);
  try {
    await decidePatch(gw, actor(p), pid, { decision: 'request_changes', comment }, task.orgId ?? null);
  } catch (err) {
    if (err instanceof ApiError && err.status < 500)
      return note(gw, task.id, number, `ignored: ${err.message}`, pid);
    throw err;
  }
  return `changes requested on ${pid}`;
}

async function note(gw: Gateway, taskId: string, number: number, effect: string, patchId?: string) {
  await gw.mesh.bus.publish({
    id: `${taskId}:pr.review_ignored:${number}:${gw.now()}`,
    taskId,
    type: 'pr.review_ignored',
    at: new Date(gw.now()).toISOString(),
    data: { reason: effect, ...(patchId ? { patchId } : {}) },
  });
  return effect;
}
