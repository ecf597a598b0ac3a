// The `budget` gate: read a task's limits, spending and reservations, and — while a soft limit holds it
// (`awaiting_budget`) — raise the soft limits (never above the hard ones) or stop the task. Same authorization
// as the other gates (scope patches:approve, role approver), audited.
import type { Hono } from 'hono';
import {
  type BudgetLimits,
  BudgetDecisionRequest,
  BudgetState,
  keys,
  TaskRecord,
} from '../../schemas/index.ts';
import { requireScope } from '../auth.ts';
import { type Env, type Gateway, jsonBody, taskIdParam } from '../context.ts';
import { ApiError } from '../errors.ts';
import { displayNames } from '../users.ts';

export function budgetRoutes(app: Hono<Env>, gw: Gateway): void {
  const { mesh } = gw;

  app.get('/v1/tasks/:id/budget', async (c) => {
    const p = c.get('principal');
    requireScope(p, 'tasks:read');
    const id = taskIdParam(c.req.param('id'));
    await gw.access.authorizeTask(p, id, 'viewer');
    const [task, budget] = await Promise.all([
      mesh.board.get(keys.task(id), TaskRecord),
      mesh.board.get(keys.budget(id), BudgetState),
    ]);
    if (!task) throw new ApiError(404, 'TASK_NOT_FOUND', `task ${id} is no longer on the blackboard`);
    const b = task.value.request.budget;
    const now = gw.now();
    const s = budget?.value;
    return c.json({
      taskId: id,
      status: task.value.status,
      gate: task.value.status === 'awaiting_budget' ? 'budget' : null,
      // Before the first model call there is no entry: the limits are the request's.
      soft: s?.soft ?? b.soft ?? {},
      hard: s?.hard ?? { tokens: b.maxTokens, usd: b.maxCostUsd, ...b.hard },
      roles: s?.roles ?? b.roles ?? {},
      spent: s?.spent ?? { tokens: 0, usd: 0, calls: 0 },
      byRole: s?.byRole ?? {},
      reserved: (s?.reservations ?? []).filter((r) => r.until > now),
      wallSeconds: Math.round((now - Date.parse(task.value.createdAt)) / 1000),
      version: s?.version ?? 0,
      paused: s?.paused ?? null,
      stopped: s?.stopped ?? null,
      raises: s?.raises ?? [],
    });
  });

  app.post('/v1/tasks/:id/budget', async (c) => {
    const p = c.get('principal');
    requireScope(p, 'patches:approve');
    const id = taskIdParam(c.req.param('id'));
    const { repo } = await gw.access.authorizeTask(p, id, 'approver');
    const body = BudgetDecisionRequest.parse(await jsonBody(c, gw.limits.maxBodyBytes));
    const task = (await mesh.board.get(keys.task(id), TaskRecord))?.value;
    if (!task) throw new ApiError(404, 'TASK_NOT_FOUND', `no task ${id}`);
    const at = new Date(gw.now()).toISOString();
    let refusal: ApiError | undefined;
    // The pause is on the entry before its event reaches the conductor: either one opens the gate.
    const entry = await mesh.board.mutate(keys.budget(id), BudgetState, (s) => {
      refusal = undefined;
      if (!s || (!s.paused && task.status !== 'awaiting_budget')) {
        refusal = new ApiError(
          409,
          'NOT_AWAITING_BUDGET',
          `task ${id} is not waiting at the budget gate (task is ${task.status})`,
        );
        return undefined;
      }
      if (s.stopped) {
        refusal = new ApiError(
          409,
          'ALREADY_DECIDED',
          `task ${id} was stopped at the budget gate by ${s.stopped.by}`,
        );
        return undefined;
      }
      if (body.action === 'stop') return { ...s, stopped: { by: p.userId, comment: body.comment, at } };
      const above = aboveHard(body.soft, s.hard, 'soft') ?? roleAboveHard(body.roles, s);
      if (above) {
        refusal = new ApiError(422, 'ABOVE_HARD_LIMIT', above);
        return undefined;
      }
      const roles = { ...s.roles };
      for (const [role, soft] of Object.entries(body.roles ?? {}))
        roles[role as keyof typeof roles] = {
          ...roles[role as keyof typeof roles],
          soft: { ...roles[role as keyof typeof roles]?.soft, ...soft },
        };
      return {
        ...s,
        version: s.version + 1,
        soft: { ...s.soft, ...body.soft },
        roles,
        paused: undefined,
        raises: [
          ...s.raises,
          {
            by: p.userId,
            at,
            comment: body.comment,
            soft: body.soft ?? {},
            ...(body.roles ? { roles: body.roles } : {}),
          },
        ],
      };
    });
    if (refusal) throw refusal;
    const s = entry!.value;
    const byName = (await displayNames(gw.db, [p.userId])).get(p.userId);
    const named = byName ? { byName } : {};
    if (body.action === 'stop') {
      await gw.audit(p, 'budget.stop', id, repo?.orgId ?? null, { comment: body.comment });
      await mesh.bus.publish({
        id: `${id}:budget-stopped`,
        taskId: id,
        type: 'budget.stopped',
        at,
        data: { by: p.userId, ...named, comment: body.comment },
      });
    } else {
      await gw.audit(p, 'budget.raise', id, repo?.orgId ?? null, {
        comment: body.comment,
        soft: body.soft ?? {},
        roles: body.roles ?? {},
        version: s.version,
      });
      await mesh.bus.publish({
        id: `${id}:budget-raised:${s.version}`,
        taskId: id,
        type: 'budget.raised',
        at,
        data: { by: p.userId, ...named, version: s.version, soft: s.soft, roles: body.roles ?? {} },
      });
    }
    return c.json({ budget: s }, 202);
  });
}

function aboveHard(
  soft: BudgetLimits | undefined,
  hard: BudgetLimits | undefined,
  what: string,
): string | undefined {
  for (const [k, v] of Object.entries(soft ?? {})) {
    const h = hard?.[k as keyof BudgetLimits];
    if (v !== undefined && h !== undefined && v > h)
      return `${what}.${k} ${v} is above the hard limit ${h}: a hard limit is not raised at the gate`;
  }
  return undefined;
}

function roleAboveHard(
  roles: Partial<Record<string, BudgetLimits>> | undefined,
  s: BudgetState,
): string | undefined {
  for (const [role, soft] of Object.entries(roles ?? {})) {
    const hit =
      aboveHard(soft, s.roles[role as keyof BudgetState['roles']]?.hard, `roles.${role}.soft`) ??
      aboveHard(soft, s.hard, `roles.${role}.soft`);
    if (hit) return hit;
  }
  return undefined;
}
