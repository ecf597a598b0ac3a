// The `post-plan` gate: read a task's plan with the context it was made from, and approve, edit or reject it.
// Same authorization as the patch gate (scope patches:approve, role approver) and audited like it.
import type { Hono } from 'hono';
import {
  keys,
  Plan,
  PlanApproval,
  PlanContext,
  PlanDecisionRequest,
  TaskRecord,
} from '../../schemas/index.ts';
import { requireScope } from '../auth.ts';
import { type Env, type Gateway, jsonBody, taskIdParam } from '../context.ts';
import { ApiError } from '../errors.ts';
import { displayNames } from '../users.ts';

export function planRoutes(app: Hono<Env>, gw: Gateway): void {
  const { mesh } = gw;

  app.get('/v1/tasks/:id/plan', async (c) => {
    const p = c.get('principal');
    requireScope(p, 'tasks:read');
    const id = taskIdParam(c.req.param('id'));
    await gw.access.authorizeTask(p, id, 'viewer');
    const [task, proposed, context, approval] = await Promise.all([
      mesh.board.get(keys.task(id), TaskRecord),
      mesh.board.get(keys.plan(id), Plan),
      mesh.board.get(keys.context(id), PlanContext),
      mesh.board.get(keys.planapproval(id), PlanApproval),
    ]);
    if (!task) throw new ApiError(404, 'TASK_NOT_FOUND', `task ${id} is no longer on the blackboard`);
    return c.json({
      taskId: id,
      status: task.value.status,
      gate: task.value.status === 'awaiting_plan_approval' ? 'post-plan' : null,
      /** What the agents work to: the edited plan once approved with edits, else the Planner's. */
      plan: approval?.value.plan ?? proposed?.value ?? null,
      proposed: proposed?.value ?? null,
      context: context?.value ?? null,
      approval: approval?.value ?? null,
    });
  });

  app.post('/v1/tasks/:id/plan/approve', async (c) => {
    const p = c.get('principal');
    requireScope(p, 'patches:approve');
    const id = taskIdParam(c.req.param('id'));
    const { repo } = await gw.access.authorizeTask(p, id, 'approver');
    const body = PlanDecisionRequest.parse(await jsonBody(c, gw.limits.maxBodyBytes));
    const task = (await mesh.board.get(keys.task(id), TaskRecord))?.value;
    if (!task) throw new ApiError(404, 'TASK_NOT_FOUND', `no task ${id}`);
    const existing = (await mesh.board.get(keys.planapproval(id), PlanApproval))?.value;
    // A repeated request after the gate passed is answered below (write-once); anything else must find the gate.
    if (task.status !== 'awaiting_plan_approval' && !existing)
      throw new ApiError(
        409,
        'NOT_AWAITING_PLAN_APPROVAL',
        `the plan of task ${id} is not waiting for approval (task is ${task.status})`,
      );
    const byName = (await displayNames(gw.db, [p.userId])).get(p.userId);
    const approval: PlanApproval = {
      taskId: id,
      decision: body.decision,
      comment: body.comment,
      ...(body.plan ? { plan: body.plan } : {}),
      by: p.userId,
      ...(byName ? { byName } : {}),
      at: new Date(gw.now()).toISOString(),
    };
    // Write-once: the same decision (and edit) again is accepted; a different one is refused (409).
    const { entry, created } = await mesh.board.putOnce(
      keys.planapproval(id),
      PlanApproval,
      approval,
      (a, b) =>
        a.decision === b.decision &&
        a.comment === b.comment &&
        JSON.stringify(a.plan ?? null) === JSON.stringify(b.plan ?? null),
    );
    const edited = entry.value.plan !== undefined;
    if (created)
      await gw.audit(p, `plan.${entry.value.decision}`, id, repo?.orgId ?? null, {
        comment: entry.value.comment,
        edited,
        // The audit keeps what the human changed the plan to; the proposed plan stays on `plan.<task>`.
        ...(edited ? { plan: entry.value.plan } : {}),
      });
    // Published after the entry exists, so the Coder that the event starts reads the edited plan.
    await mesh.bus.publish({
      id: `${id}:plan-decision`,
      taskId: id,
      type: entry.value.decision === 'approve' ? 'plan.approved' : 'plan.rejected',
      at: entry.value.at,
      data: {
        by: entry.value.by,
        ...(entry.value.byName ? { byName: entry.value.byName } : {}),
        comment: entry.value.comment,
        edited,
      },
    });
    return c.json({ approval: entry.value }, 202);
  });
}
