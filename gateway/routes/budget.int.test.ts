// The `budget` gate over HTTP: limits and spending readable, raise (never above a hard limit) or stop with the
// other gates' authorization, audited and published (the mesh side: test/budgets.int.test.ts).
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initialBudget } from '../../actors/runtime/budget.ts';
import { schema } from '../../actors/recorder/index.ts';
import { projectEvent } from '../../actors/recorder/project.ts';
import { seedTask } from '../../actors/recorder/test-scenario.ts';
import { BudgetState, keys, TaskRecord } from '../../schemas/index.ts';
import { DEV, startTestGateway, type TestGateway } from '../test-setup.ts';

let g: TestGateway;
const PAUSED = 't-dddddd000001';
const STOPPED = 't-dddddd000002';

async function seedPaused(id: string): Promise<void> {
  await seedTask(g.mesh, { id, repoPath: g.repoA, status: 'awaiting_budget' });
  const task = await g.mesh.board.mutate(keys.task(id), TaskRecord, (t) =>
    t
      ? {
          ...t,
          status: 'awaiting_budget' as const,
          request: {
            ...t.request,
            budget: { ...t.request.budget, soft: { modelCalls: 2 }, hard: { modelCalls: 10 } },
          },
          workflow: { value: 'awaiting_budget', context: { attempt: 1, budgetResume: 'coding' } },
        }
      : undefined,
  );
  const b = initialBudget(task!.value);
  await g.mesh.board.create(keys.budget(id), BudgetState, {
    ...b,
    spent: { tokens: 120, usd: 0.01, calls: 2 },
    byRole: { planner: { tokens: 60, usd: 0.005, calls: 1 }, coder: { tokens: 60, usd: 0.005, calls: 1 } },
    paused: {
      version: 0,
      role: 'coder',
      reason: "soft budget: 2 model calls + this coder call would pass the task's limit of 2 calls",
      at: '2026-12-03T10:00:00.000Z',
    },
  });
  for (const { seq, event } of await g.mesh.bus.history(id))
    await projectEvent(g.record.db, g.mesh.board, seq, event);
}

beforeAll(async () => {
  g = await startTestGateway();
  await seedPaused(PAUSED);
  await seedPaused(STOPPED);
});
afterAll(async () => g?.stop());

const events = async (id: string) => (await g.mesh.bus.history(id)).map((e) => e.event);

describe('the budget gate over HTTP', () => {
  it('shows limits, spending and the pause while the task waits', async () => {
    const res = await g.call('GET', `/v1/tasks/${PAUSED}/budget`, DEV);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      gate: 'budget',
      status: 'awaiting_budget',
      soft: { modelCalls: 2 },
      hard: { modelCalls: 10 },
      spent: { calls: 2 },
      byRole: { coder: { calls: 1 } },
      paused: { role: 'coder', reason: expect.stringMatching(/^soft budget: 2 model calls/) },
      version: 0,
    });
  });

  it('needs patches:approve and the approver role; another org gets 404 (it may not view the task)', async () => {
    const reader = await g.jwt('alice', { scopes: ['tasks:read'] });
    const raise = { action: 'raise', soft: { modelCalls: 5 } };
    expect((await g.call('POST', `/v1/tasks/${PAUSED}/budget`, reader, raise)).status).toBe(403);
    const bob = await g.jwt('bob');
    expect((await g.call('GET', `/v1/tasks/${PAUSED}/budget`, bob)).status).toBe(404);
    expect((await g.call('POST', `/v1/tasks/${PAUSED}/budget`, bob, raise)).status).toBe(404);
    // Nothing changed.
    expect((await g.mesh.board.get(keys.budget(PAUSED), BudgetState))!.value.version).toBe(0);
  });

  it('refuses a raise above a hard limit, and a body that is not a decision', async () => {
    const res = await g.call('POST', `/v1/tasks/${PAUSED}/budget`, DEV, {
      action: 'raise',
      soft: { modelCalls: 11 },
    });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'ABOVE_HARD_LIMIT',
      message: expect.stringContaining('soft.modelCalls 11 is above the hard limit 10'),
    });
    expect((await g.call('POST', `/v1/tasks/${PAUSED}/budget`, DEV, { action: 'double' })).status).toBe(400);
    expect(
      (await g.call('POST', `/v1/tasks/${PAUSED}/budget`, DEV, { action: 'raise', soft: { usd: -1 } }))
        .status,
    ).toBe(400);
  });

  it('raises: a new version, the pause cleared, audited and published; off the gate → 409', async () => {
    const alice = await g.jwt('alice');
    const res = await g.call('POST', `/v1/tasks/${PAUSED}/budget`, alice, {
      action: 'raise',
      soft: { modelCalls: 6 },
      roles: { coder: { modelCalls: 4 } },
      comment: 'worth it',
    });
    expect(res.status, await res.clone().text()).toBe(202);
    const s = (await g.mesh.board.get(keys.budget(PAUSED), BudgetState))!.value;
    expect(s).toMatchObject({
      version: 1,
      soft: { modelCalls: 6 },
      roles: { coder: { soft: { modelCalls: 4 } } },
    });
    expect(s.paused).toBeUndefined();
    expect(s.raises).toEqual([
      expect.objectContaining({ by: g.userId('alice'), comment: 'worth it', soft: { modelCalls: 6 } }),
    ]);
    const raised = (await events(PAUSED)).find((e) => e.type === 'budget.raised');
    expect(raised).toMatchObject({
      id: `${PAUSED}:budget-raised:1`,
      data: { version: 1, by: g.userId('alice') },
    });
    const audit = await g.record.db
      .select({ actor: schema.auditLog.actor, detail: schema.auditLog.detail })
      .from(schema.auditLog)
      .where(eq(schema.auditLog.action, 'budget.raise'));
    expect(audit).toEqual([
      { actor: g.userId('alice'), detail: expect.objectContaining({ comment: 'worth it', version: 1 }) },
    ]);
    // Once the conductor moved the task on (here: by hand) and no pause is left, the gate is closed.
    await g.mesh.board.mutate(keys.task(PAUSED), TaskRecord, (t) =>
      t ? { ...t, status: 'coding' as const } : undefined,
    );
    const off = await g.call('POST', `/v1/tasks/${PAUSED}/budget`, DEV, {
      action: 'raise',
      soft: { modelCalls: 7 },
    });
    expect(off.status).toBe(409);
    expect(((await off.json()) as { error: { code: string } }).error.code).toBe('NOT_AWAITING_BUDGET');
  });

  it('stops: audited and published once; a raise after it → 409 ALREADY_DECIDED', async () => {
    const res = await g.call('POST', `/v1/tasks/${STOPPED}/budget`, DEV, {
      action: 'stop',
      comment: 'too dear',
    });
    expect(res.status).toBe(202);
    expect((await g.mesh.board.get(keys.budget(STOPPED), BudgetState))!.value.stopped).toMatchObject({
      comment: 'too dear',
    });
    const stopped = (await events(STOPPED)).filter((e) => e.type === 'budget.stopped');
    expect(stopped).toHaveLength(1);
    expect(stopped[0]!.data).toMatchObject({ comment: 'too dear', byName: 'development admin' });
    const again = await g.call('POST', `/v1/tasks/${STOPPED}/budget`, DEV, {
      action: 'raise',
      soft: { modelCalls: 3 },
    });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('ALREADY_DECIDED');
    const audit = await g.record.db
      .select({ action: schema.auditLog.action })
      .from(schema.auditLog)
      .where(eq(schema.auditLog.action, 'budget.stop'));
    expect(audit).toHaveLength(1);
  });
});
