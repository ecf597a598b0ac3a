// The Hono gateway: tasks, their live events (SSE, resumable), approvals, health.
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { submitTask } from '../actors/conductor/submit.ts';
import type { MeshConnection } from '../blackboard/index.ts';
import {
  Approval,
  ApprovalRequest,
  CostLedger,
  keys,
  parsePatchId,
  Patch,
  Plan,
  Review,
  TaskId,
  TaskRecord,
  TestRun,
} from '../schemas/index.ts';
import { requireBearer } from './auth.ts';
import { ApiError, toErrorResponse } from './errors.ts';

export interface GatewayOptions {
  mesh: MeshConnection;
  token: string;
  now?: () => number;
  log?: (line: string) => void;
}

const TERMINAL = new Set(['task.completed', 'task.failed', 'task.rolled_back']);

async function jsonBody(req: Request): Promise<unknown> {
  const text = await req.text();
  if (text.length > 1_000_000) throw new ApiError(413, 'BODY_TOO_LARGE', 'the body is larger than 1 MB');
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, 'INVALID_JSON', 'the body is not valid JSON');
  }
}

function taskIdParam(raw: string): string {
  const r = TaskId.safeParse(raw);
  if (!r.success) throw new ApiError(400, 'INVALID_ID', `"${raw.slice(0, 80)}" is not a task id`);
  return r.data;
}

export function createGateway(opts: GatewayOptions): Hono {
  const { mesh } = opts;
  const now = opts.now ?? Date.now;
  const app = new Hono();
  app.onError((err, c) => {
    const res = toErrorResponse(err, c);
    if (res.status >= 500) opts.log?.(`gateway: ${err.stack ?? String(err)}`);
    return res;
  });
  app.notFound((c) => c.json({ error: { code: 'NOT_FOUND', message: `no route ${c.req.method} ${c.req.path}` } }, 404));
  app.use('*', requireBearer(opts.token));

  app.get('/healthz', (c) => {
    const nats = !mesh.nc.isClosed();
    return c.json({ ok: nats, nats }, nats ? 200 : 503);
  });

  app.post('/v1/tasks', async (c) => {
    const task = await submitTask(mesh, (await jsonBody(c.req.raw)) as never, { now });
    return c.json({ task: { id: task.id, status: task.status, baseCommit: task.baseCommit, repo: task.repoPath } }, 201);
  });

  app.get('/v1/tasks/:id', async (c) => {
    const id = taskIdParam(c.req.param('id'));
    const task = (await mesh.board.get(keys.task(id), TaskRecord))?.value;
    if (!task) throw new ApiError(404, 'TASK_NOT_FOUND', `no task ${id}`);
    const attempts = Array.from({ length: task.attempt }, (_, i) => i + 1);
    const [plan, cost, patches, testRuns, reviews] = await Promise.all([
      mesh.board.get(keys.plan(id), Plan),
      mesh.board.get(keys.cost(id), CostLedger),
      Promise.all(attempts.map((a) => mesh.board.get(keys.patch(`${id}-p${a}`), Patch))),
      Promise.all(attempts.map((a) => mesh.board.get(keys.testrun(id, a), TestRun))),
      Promise.all(attempts.map((a) => mesh.board.get(keys.review(id, a), Review))),
    ]);
    return c.json({
      task,
      plan: plan?.value ?? null,
      patches: patches.flatMap((p) => (p ? [p.value] : [])),
      testRuns: testRuns.flatMap((t) => (t ? [{ ...t.value, log: t.value.log.slice(-8000) }] : [])),
      reviews: reviews.flatMap((r) => (r ? [r.value] : [])),
      cost: cost?.value.totals ?? { promptTokens: 0, completionTokens: 0, costUsd: 0, calls: 0 },
    });
  });

  app.get('/v1/tasks/:id/events', async (c) => {
    const id = taskIdParam(c.req.param('id'));
    if (!(await mesh.board.get(keys.task(id), TaskRecord))) throw new ApiError(404, 'TASK_NOT_FOUND', `no task ${id}`);
    const last = c.req.header('last-event-id') ?? c.req.query('after');
    const afterSeq = last && /^\d+$/.test(last) ? Number(last) : 0;
    return streamSSE(c, async (stream) => {
      const ac = new AbortController();
      stream.onAbort(() => ac.abort());
      for await (const { seq, event } of mesh.bus.follow(id, { afterSeq, signal: ac.signal })) {
        await stream.writeSSE({ id: String(seq), event: event.type, data: JSON.stringify(event) });
        if (TERMINAL.has(event.type)) break;
      }
      ac.abort();
    });
  });

  app.post('/v1/patches/:id/approve', async (c) => {
    const pid = c.req.param('id');
    const parsed = parsePatchId(pid);
    if (!parsed) throw new ApiError(400, 'INVALID_ID', `"${pid.slice(0, 80)}" is not a patch id`);
    const body = ApprovalRequest.parse(await jsonBody(c.req.raw));
    const task = (await mesh.board.get(keys.task(parsed.taskId), TaskRecord))?.value;
    if (!task) throw new ApiError(404, 'TASK_NOT_FOUND', `no task ${parsed.taskId}`);
    if (!(await mesh.board.get(keys.patch(pid), Patch))) throw new ApiError(404, 'PATCH_NOT_FOUND', `no patch ${pid}`);
    const current = task.workflow.context.patchId;
    if (task.status !== 'awaiting_approval' || current !== pid)
      throw new ApiError(409, 'NOT_AWAITING_APPROVAL', `patch ${pid} is not waiting for approval (task is ${task.status})`);
    const approval: Approval = { ...body, patchId: pid, taskId: task.id, by: 'token', at: new Date(now()).toISOString() };
    // Write-once: a repeated identical request is accepted again; a different decision is refused (409).
    const { entry } = await mesh.board.putOnce(
      keys.approval(pid),
      Approval,
      approval,
      (a, b) => a.decision === b.decision && a.comment === b.comment,
    );
    await mesh.bus.publish({
      id: `${pid}:approval`,
      taskId: task.id,
      type: entry.value.decision === 'approve' ? 'approval.granted' : 'approval.changes_requested',
      at: entry.value.at,
      data: { patchId: pid, comment: entry.value.comment, by: entry.value.by },
    });
    return c.json({ approval: entry.value }, 202);
  });

  return app;
}
