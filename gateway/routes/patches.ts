// Patch routes: read, approve (the human gate), roll back an integrated patch.
import { eq } from 'drizzle-orm';
import type { Hono } from 'hono';
import { schema } from '../../actors/recorder/index.ts';
import { RollbackBody } from '../../schemas/api.ts';
import { Approval, ApprovalRequest, keys, parsePatchId, Patch, TaskRecord } from '../../schemas/index.ts';
import { requireScope } from '../auth.ts';
import { type Env, type Gateway, jsonBody } from '../context.ts';
import { ApiError } from '../errors.ts';
import { requestRollback } from '../../actors/conductor/rollback.ts';
import { rollbackBranchFor } from '../../actors/integrator/git-integrate.ts';

function patchParam(raw: string) {
  const parsed = parsePatchId(raw);
  if (!parsed || raw.length > 100)
    throw new ApiError(400, 'INVALID_ID', 'the id is not a patch id (<task id>-p<attempt>)');
  return parsed;
}

export function patchRoutes(app: Hono<Env>, gw: Gateway): void {
  const { mesh } = gw;

  app.get('/v1/patches/:id', async (c) => {
    const p = c.get('principal');
    requireScope(p, 'tasks:read');
    const pid = c.req.param('id');
    const { taskId } = patchParam(pid);
    await gw.access.authorizeTask(p, taskId, 'viewer');
    const onBoard = (await mesh.board.get(keys.patch(pid), Patch))?.value;
    const [row] = onBoard ? [] : await gw.db.select().from(schema.patches).where(eq(schema.patches.id, pid));
    const patch =
      onBoard ??
      (row ? { ...row, stats: { additions: row.additions, deletions: row.deletions } } : undefined);
    if (!patch) throw new ApiError(404, 'PATCH_NOT_FOUND', `no patch ${pid}`);
    const approval = (await mesh.board.get(keys.approval(pid), Approval))?.value ?? null;
    return c.json({ patch, approval });
  });

  app.post('/v1/patches/:id/approve', async (c) => {
    const p = c.get('principal');
    requireScope(p, 'patches:approve');
    const pid = c.req.param('id');
    const parsed = patchParam(pid);
    const { repo } = await gw.access.authorizeTask(p, parsed.taskId, 'approver');
    const body = ApprovalRequest.parse(await jsonBody(c, gw.limits.maxBodyBytes));
    const task = (await mesh.board.get(keys.task(parsed.taskId), TaskRecord))?.value;
    if (!task) throw new ApiError(404, 'TASK_NOT_FOUND', `no task ${parsed.taskId}`);
    if (!(await mesh.board.get(keys.patch(pid), Patch)))
      throw new ApiError(404, 'PATCH_NOT_FOUND', `no patch ${pid}`);
    const current = task.workflow.context.patchId;
    if (task.status !== 'awaiting_approval' || current !== pid)
      throw new ApiError(
        409,
        'NOT_AWAITING_APPROVAL',
        `patch ${pid} is not waiting for approval (task is ${task.status})`,
      );
    const approval: Approval = {
      ...body,
      patchId: pid,
      taskId: task.id,
      by: p.userId,
      at: new Date(gw.now()).toISOString(),
    };
    // Write-once: a repeated identical request is accepted again; a different decision is refused (409).
    const { entry, created } = await mesh.board.putOnce(
      keys.approval(pid),
      Approval,
      approval,
      (a, b) => a.decision === b.decision && a.comment === b.comment,
    );
    if (created)
      await gw.audit(p, `patch.${entry.value.decision}`, pid, repo?.orgId ?? null, {
        taskId: task.id,
        comment: entry.value.comment,
      });
    await mesh.bus.publish({
      id: `${pid}:approval`,
      taskId: task.id,
      type: entry.value.decision === 'approve' ? 'approval.granted' : 'approval.changes_requested',
      at: entry.value.at,
      data: { patchId: pid, comment: entry.value.comment, by: entry.value.by },
    });
    return c.json({ approval: entry.value }, 202);
  });

  app.post('/v1/patches/:id/rollback', async (c) => {
    const p = c.get('principal');
    requireScope(p, 'patches:approve');
    const pid = c.req.param('id');
    const parsed = patchParam(pid);
    const { repo } = await gw.access.authorizeTask(p, parsed.taskId, 'approver');
    const body = RollbackBody.parse(await jsonBody(c, gw.limits.maxBodyBytes));
    // The revert itself is a step of the task's workflow, run by an Integrator on the mesh; this only asks.
    const task = await requestRollback(mesh, pid, { by: p.userId, reason: body.reason, now: gw.now });
    await gw.audit(p, 'patch.rollback', pid, repo?.orgId ?? null, { taskId: task.id, reason: body.reason });
    return c.json(
      {
        rollback: {
          patchId: pid,
          taskId: task.id,
          branch: rollbackBranchFor(task.id),
          revertOf: task.commit ?? null,
        },
      },
      202,
    );
  });
}
