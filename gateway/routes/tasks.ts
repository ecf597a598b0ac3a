// Task routes: submit, list (cursor-paginated), read, and the live event feed (SSE, resumable).
import { resolve as resolvePath, basename } from 'node:path';
import { and, desc, eq, inArray, lt, or, type SQL, sql } from 'drizzle-orm';
import type { Hono } from 'hono';
import { sseWithSlot } from '../sse.ts';
import { checkRepoPlacement } from '../../actors/conductor/repo-policy.ts';
import { ROLLBACK_EVENTS, rollbackOf } from '../../actors/conductor/rollback.ts';
import { prepareTask, publishTask } from '../../actors/conductor/submit.ts';
import { schema, upsertTask } from '../../actors/recorder/index.ts';
import { resolveRepo } from '../../actors/runtime/git.ts';
import { QuotaExceededError, quotaBreach } from '../../actors/runtime/quota.ts';
import {
  type CreatedTask,
  CreateTaskBody,
  ListTasksQuery,
  type RepoSummary,
  type RollbackView,
} from '../../schemas/api.ts';
import {
  CandidateRecord,
  CostLedger,
  candidatesOf,
  keys,
  mergeRepoConfigs,
  newId,
  OrgModelSettings,
  Patch,
  Plan,
  PlanApproval,
  PullRequestRecord,
  Review,
  Selection,
  TaskRecord,
  TestRun,
} from '../../schemas/index.ts';
import { atLeast, overlapError, type RepoRef } from '../access.ts';
import { requireScope } from '../auth.ts';
import { DEFAULT_ORG_ID } from '../auth.ts';
import { type Env, type Gateway, jsonBody, placementFor, taskIdParam } from '../context.ts';
import { ApiError } from '../errors.ts';
import { displayNames } from '../users.ts';
import { checkIssueOrg, withIssue } from '../issue-intake.ts';
import { registeredRepoConfig } from './admin.ts';
import type { Principal } from '../types.ts';

const TERMINAL = new Set(['task.completed', 'task.failed', 'task.rolled_back', 'task.abstained']);

/**
 * The repository a new task may run on. Rule: the path must be registered (`POST /v1/repos`) in an org where
 * the caller is developer or above. An unregistered path is refused (403 REPO_NOT_REGISTERED) unless the caller
 * is admin of the org named by `org` (or superuser, default org `default`): then it is registered there on the
 * fly. A path another org registered is refused with the same 403, so nothing about it leaks.
 */
async function repoForNewTask(gw: Gateway, p: Principal, path: string, org?: string): Promise<RepoRef> {
  const registered = await gw.access.repoByPath(resolvePath(path));
  if (registered) {
    if (!atLeast(await gw.access.repoRole(p, registered), 'developer'))
      throw new ApiError(
        403,
        'REPO_NOT_REGISTERED',
        'this repository is not registered in any org where you are a developer',
      );
    // Registered before the roots changed, or swapped for a symlink since: checked again at every task.
    await checkRepoPlacement(registered.path, { roots: gw.opts.repoRoots, stateDir: gw.opts.stateDir });
    return registered;
  }
  const orgId = org ?? (p.superuser ? DEFAULT_ORG_ID : undefined);
  if (!orgId || !atLeast(await gw.access.orgRole(p, orgId), 'admin'))
    throw new ApiError(
      403,
      'REPO_NOT_REGISTERED',
      'this repository is not registered in any org where you are a developer; an org admin can register it (POST /v1/repos, or pass "org" when submitting)',
    );
  // Only admins reach the filesystem here, so others cannot probe which paths exist.
  const placement = placementFor(gw, p);
  const top = await checkRepoPlacement(await resolveRepo(path), placement);
  const existing = await gw.access.repoByPath(top);
  if (existing) {
    if (!atLeast(await gw.access.repoRole(p, existing), 'developer'))
      throw new ApiError(
        403,
        'REPO_NOT_REGISTERED',
        'this repository is not registered in any org where you are a developer',
      );
    return existing;
  }
  if (await gw.access.overlappingRepo(top, orgId)) throw overlapError();
  const repo = { id: newId('r'), orgId, path: top, name: basename(top) };
  await gw.db.insert(schema.repos).values(repo).onConflictDoNothing();
  const stored = await gw.access.repoByPath(top);
  if (!stored || stored.orgId !== orgId)
    throw new ApiError(409, 'REPO_CONFLICT', 'the repository was registered concurrently');
  await gw.audit(p, 'repo.register', stored.id, orgId, { path: top, via: 'task' });
  return stored;
}

const repoSummary = (r: RepoRef): RepoSummary => ({ id: r.id, name: r.name, path: r.path });
/**
 * Starts a validated task on an authorized repository: the org's quota, the registered settings, then
 * validate, record, publish (the route, and GitHub webhooks for a labelled issue).
 */
export async function startTask(
  gw: Gateway,
  request: Omit<CreateTaskBody, 'org'>,
  repo: RepoRef,
  createdBy: string,
): Promise<TaskRecord> {
  const { mesh } = gw;
  // An org at or over its daily quota starts no work: its first model call would be refused anyway.
  const breach = await quotaBreach(mesh.board, repo.orgId, gw.now());
  if (breach)
    throw new ApiError(429, 'QUOTA_EXCEEDED', new QuotaExceededError(breach).message, {
      ...breach,
      retryAfter: Math.max(1, Math.ceil((Date.parse(breach.resetsAt) - gw.now()) / 1000)),
    });
  // The registered settings travel with the task (registered < task); the repo file is read at test time.
  const registered = await registeredRepoConfig(gw, repo);
  const config = registered ? mergeRepoConfigs(registered, request.config) : request.config;
  // Validate, record, then start: once the task is published nothing may fail, or the caller would be told
  // it failed while it runs. A record write that fails refuses the task before it exists anywhere else.
  // A task that names no k gets its org's default (`POST /v1/config/models` `candidates.k`).
  const candidates =
    request.candidates ??
    (await mesh.board.get(keys.models(repo.orgId), OrgModelSettings))?.value.candidates?.k;
  const task = await prepareTask(
    { ...request, repo: repo.path, ...(config ? { config } : {}), ...(candidates ? { candidates } : {}) },
    { now: gw.now, orgId: repo.orgId, reproduce: gw.opts.reproduceTests ?? true },
  );
  await upsertTask(gw.db, task, { createdBy });
  try {
    await publishTask(mesh, task);
  } catch (err) {
    await gw.db
      .update(schema.tasks)
      .set({ status: 'failed', reason: 'not started: the mesh did not accept the task' })
      .where(eq(schema.tasks.id, task.id))
      .catch(() => undefined);
    throw err;
  }
  return task;
}

function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(JSON.stringify([createdAt.toISOString(), id])).toString('base64url');
}
function decodeCursor(c: string): { at: Date; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(c, 'base64url').toString()) as [string, string];
    const d = new Date(at);
    if (typeof id !== 'string' || Number.isNaN(d.getTime())) throw new Error('bad');
    return { at: d, id };
  } catch {
    throw new ApiError(400, 'INVALID_CURSOR', 'the cursor is not one this API returned');
  }
}

export function taskRoutes(app: Hono<Env>, gw: Gateway): void {
  const { mesh } = gw;

  app.post('/v1/tasks', async (c) => {
    const p = c.get('principal');
    requireScope(p, 'tasks:write');
    const body = await withIssue(gw, await jsonBody(c, gw.limits.maxBodyBytes), p);
    const { org, ...request } = CreateTaskBody.parse(body);
    const repo = await repoForNewTask(gw, p, request.repo, org);
    checkIssueOrg(gw, request.issueUrl, repo.orgId);
    const task = await startTask(gw, request, repo, p.userId);
    const created: CreatedTask = {
      task: {
        id: task.id,
        status: task.status,
        baseCommit: task.baseCommit,
        repo: task.repoPath,
        repoId: repo.id,
        repository: repoSummary(repo),
        issueUrl: task.request.issueUrl ?? null,
      },
    };
    return c.json(created, 201, { location: `/v1/tasks/${task.id}` });
  });

  app.get('/v1/tasks', async (c) => {
    const p = c.get('principal');
    requireScope(p, 'tasks:read');
    const q = ListTasksQuery.parse(c.req.query());
    const vis = await gw.access.visibility(p);
    const t = schema.tasks;
    const where: SQL[] = [];
    if (!vis.all) {
      const parts: SQL[] = [];
      if (vis.orgIds.length) parts.push(inArray(t.orgId, vis.orgIds));
      if (vis.repoIds.length) parts.push(inArray(t.repoId, vis.repoIds));
      if (parts.length === 0) return c.json({ items: [], nextCursor: null });
      where.push(or(...parts)!);
    }
    if (q.status) where.push(eq(t.status, q.status));
    if (q.repo) where.push(eq(t.repoId, q.repo));
    if (q.campaign) where.push(sql`${t.record}->>'campaignId' = ${q.campaign}`);
    if (q.cursor) {
      const cur = decodeCursor(q.cursor);
      where.push(or(lt(t.createdAt, cur.at), and(eq(t.createdAt, cur.at), lt(t.id, cur.id)))!);
    }
    const rows = await gw.db
      .select({
        id: t.id,
        title: t.title,
        status: t.status,
        repoId: t.repoId,
        repoName: schema.repos.name,
        repoPath: t.repoPath,
        orgId: t.orgId,
        attempt: t.attempt,
        branch: t.branch,
        createdBy: t.createdBy,
        // The campaign that started the task (FR-015), from the record the row keeps.
        campaignId: sql<string | null>`${t.record}->>'campaignId'`,
        createdAt: t.createdAt,
        updatedAt: t.updatedAt,
      })
      .from(t)
      .leftJoin(schema.repos, eq(schema.repos.id, t.repoId))
      .where(where.length ? and(...where) : sql`true`)
      .orderBy(desc(t.createdAt), desc(t.id))
      .limit(q.limit + 1);
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return c.json({
      items: page.map(({ repoName, repoPath, ...r }) => ({
        ...r,
        repository: r.repoId && repoName !== null ? { id: r.repoId, name: repoName, path: repoPath } : null,
        createdAt: r.createdAt.toISOString(),
        updatedAt: r.updatedAt.toISOString(),
      })),
      nextCursor: rows.length > q.limit && last ? encodeCursor(last.createdAt, last.id) : null,
    });
  });

  app.get('/v1/tasks/:id', async (c) => {
    const p = c.get('principal');
    requireScope(p, 'tasks:read');
    const id = taskIdParam(c.req.param('id'));
    const { record, repo } = await gw.access.authorizeTask(p, id, 'viewer');
    const repository = repo ? repoSummary(repo) : null;
    // The task, plan and cost do not depend on each other: one round trip for the three.
    const [taskEntry, plan, planApproval, cost] = await Promise.all([
      record ? undefined : mesh.board.get(keys.task(id), TaskRecord),
      mesh.board.get(keys.plan(id), Plan),
      mesh.board.get(keys.planapproval(id), PlanApproval),
      mesh.board.get(keys.cost(id), CostLedger),
    ]);
    const task = record ?? taskEntry?.value;
    if (!task) {
      const kept = await fromRecord(gw, id);
      return c.json({
        ...kept,
        repository,
        rollback: await rollbackFor(gw, id, kept.task as { status: string }),
      });
    }
    const attempts = Array.from({ length: task.attempt }, (_, i) => i + 1);
    const [patches, testRuns, reviews] = await Promise.all([
      Promise.all(attempts.map((a) => mesh.board.get(keys.patch(`${id}-p${a}`), Patch))),
      Promise.all(attempts.map((a) => mesh.board.get(keys.testrun(id, a), TestRun))),
      Promise.all(attempts.map((a) => mesh.board.get(keys.review(id, a), Review))),
    ]);
    // k candidates (first attempt): every candidate's record and the choice, with their patches and test runs.
    const k = candidatesOf(task.workflow.context)?.k ?? 0;
    const nums = Array.from({ length: k }, (_, i) => i + 1);
    const [cands, candPatches, candRuns, selection] = await Promise.all([
      Promise.all(nums.map((n) => mesh.board.get(keys.candidate(id, 1, n), CandidateRecord))),
      Promise.all(nums.map((n) => mesh.board.get(keys.patch(`${id}-p1-c${n}`), Patch))),
      Promise.all(nums.map((n) => mesh.board.get(keys.testrun(id, 1, n), TestRun))),
      k ? mesh.board.get(keys.selection(id, 1), Selection) : undefined,
    ]);
    const pr = await mesh.board.get(keys.pr(id), PullRequestRecord);
    return c.json({
      task,
      repository,
      rollback: await rollbackFor(gw, id, task),
      issueUrl: task.request.issueUrl ?? null,
      pullRequest: pr?.value ?? null,
      // The plan the agents work to: edited at the `post-plan` gate, else the Planner's (`GET .../plan`: both).
      plan: planApproval?.value.plan ?? plan?.value ?? null,
      planApproval: planApproval?.value ?? null,
      patches: patches.flatMap((x) => (x ? [x.value] : [])),
      testRuns: testRuns.flatMap((t) => (t ? [{ ...t.value, log: t.value.log.slice(-8000) }] : [])),
      reviews: reviews.flatMap((r) => (r ? [r.value] : [])),
      ...(k
        ? {
            candidates: nums.map((n, i) => ({
              candidate: n,
              record: cands[i]?.value ?? null,
              patch: candPatches[i]?.value ?? null,
              testRun: candRuns[i] ? { ...candRuns[i].value, log: candRuns[i].value.log.slice(-4000) } : null,
            })),
            selection: selection?.value ?? null,
          }
        : {}),
      cost: cost?.value.totals ?? { promptTokens: 0, completionTokens: 0, costUsd: 0, calls: 0 },
    });
  });

  app.get('/v1/tasks/:id/events', async (c) => {
    const p = c.get('principal');
    requireScope(p, 'tasks:read');
    const id = taskIdParam(c.req.param('id'));
    await gw.access.authorizeTask(p, id, 'viewer');
    const last = c.req.header('last-event-id') ?? c.req.query('after');
    const afterSeq = last && /^\d{1,15}$/.test(last) ? Number(last) : 0;
    return sseWithSlot(c, gw, p, id, async (stream, signal) => {
      for await (const { seq, event } of mesh.bus.follow(id, { afterSeq, signal })) {
        await stream.writeSSE({ id: String(seq), event: event.type, data: JSON.stringify(event) });
        // A completed task may be rolled back later: the stream goes on to `task.rolled_back` when a rollback
        // is under way or done, and ends when its step failed (the task is `completed` again).
        if (event.type === 'step.failed' && event.step?.kind === 'rollback') break;
        if (TERMINAL.has(event.type) && !(event.type === 'task.completed' && (await rollingBack(gw, id))))
          break;
      }
    });
  });
}

const ROLLED = new Set(['rolling_back', 'rolled_back']);

/** Whether the task is rolling back or rolled back now (the blackboard or the record says so). */
async function rollingBack(gw: Gateway, id: string): Promise<boolean> {
  const onBoard = (await gw.mesh.board.get(keys.task(id), TaskRecord))?.value.status;
  if (onBoard && ROLLED.has(onBoard)) return true;
  const [row] = await gw.db
    .select({ status: schema.tasks.status })
    .from(schema.tasks)
    .where(eq(schema.tasks.id, id));
  return !!row && ROLLED.has(row.status);
}

/** The task's rollback from its events; read only for a task rolling back or rolled back (else null). */
async function rollbackFor(
  gw: Gateway,
  id: string,
  task: { status: string; rollbackBranch?: string },
): Promise<RollbackView | null> {
  if (!ROLLED.has(task.status) && !task.rollbackBranch) return null;
  const events = (await gw.mesh.bus.history(id)).map((e) => e.event);
  const rollback = rollbackOf(events.filter((e) => ROLLBACK_EVENTS.has(e.type)));
  if (!rollback) return null;
  // Asked before names were kept in the event: looked up now.
  return rollback.byName
    ? rollback
    : { ...rollback, byName: (await displayNames(gw.db, [rollback.by])).get(rollback.by) ?? null };
}

/** A task that left the blackboard: what the record keeps of it. */
async function fromRecord(gw: Gateway, id: string) {
  const [row] = await gw.db.select().from(schema.tasks).where(eq(schema.tasks.id, id));
  if (!row) throw new ApiError(404, 'TASK_NOT_FOUND', `no task ${id}`);
  const [plan] = await gw.db.select().from(schema.plans).where(eq(schema.plans.taskId, id));
  const patches = await gw.db.select().from(schema.patches).where(eq(schema.patches.taskId, id));
  const reviews = await gw.db.select().from(schema.reviews).where(eq(schema.reviews.taskId, id));
  const [budget] = await gw.db.select().from(schema.budgets).where(eq(schema.budgets.taskId, id));
  return {
    task: { ...(row.record as object), status: row.status },
    plan: plan?.body ?? null,
    patches,
    testRuns: [],
    reviews,
    cost: budget
      ? {
          promptTokens: budget.promptTokens,
          completionTokens: budget.completionTokens,
          costUsd: budget.costUsd,
          calls: budget.calls,
        }
      : { promptTokens: 0, completionTokens: 0, costUsd: 0, calls: 0 },
    source: 'record',
  };
}
