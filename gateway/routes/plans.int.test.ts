// The `post-plan` gate over HTTP: plan and context readable, approve / edit / reject with the patch gate's
// authorization, edits checked as a DAG, decisions write-once, audited and published (the mesh side: test/).
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../actors/recorder/index.ts';
import { projectEvent } from '../../actors/recorder/project.ts';
import { seedTask } from '../../actors/recorder/test-scenario.ts';
import { keys, PlanApproval, PlanContext, TaskRecord } from '../../schemas/index.ts';
import { DEV, startTestGateway, type TestGateway } from '../test-setup.ts';

let g: TestGateway;
const GATED = 't-cccccc000001';
const REJECTED = 't-cccccc000002';

async function seedGated(id: string): Promise<void> {
  await seedTask(g.mesh, { id, repoPath: g.repoA, status: 'awaiting_plan_approval' });
  await g.mesh.board.mutate(keys.task(id), TaskRecord, (t) =>
    t
      ? {
          ...t,
          attempt: 0,
          workflow: { value: 'awaiting_plan_approval', context: { attempt: 0, planGate: true } },
        }
      : undefined,
  );
  await g.mesh.board.putOnce(keys.context(id), PlanContext, {
    taskId: id,
    commit: 'a'.repeat(40),
    query: 'Fix subtract',
    snippets: [
      {
        path: 'src/calc.ts',
        startLine: 1,
        endLine: 3,
        symbol: 'subtract',
        score: 2.5,
        why: 'file #1 of the ranking: defines identifiers the issue uses',
        text: 'export function subtract(a, b) {\n  return a + b;\n}\n',
      },
    ],
    at: '2026-12-03T10:00:00.000Z',
  });
  for (const { seq, event } of await g.mesh.bus.history(id))
    await projectEvent(g.record.db, g.mesh.board, seq, event);
}

const edited = {
  summary: 'Fix subtract, and only subtract',
  subtasks: [
    {
      id: 'fix-sub',
      title: 'Change subtract to return a - b',
      description: 'Do not touch add().',
      successCriteria: ['subtract(5, 3) == 2', 'add is unchanged'],
      files: ['src/calc.ts'],
    },
  ],
  risks: [],
};

beforeAll(async () => {
  g = await startTestGateway();
  await seedGated(GATED);
  await seedGated(REJECTED);
});
afterAll(async () => g?.stop());

describe('the post-plan gate over HTTP', () => {
  it('shows the plan and the retrieved context (path, lines, why) while the task waits', async () => {
    const res = await g.call('GET', `/v1/tasks/${GATED}/plan`, DEV);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      gate: string;
      plan: { subtasks: Array<{ id: string }> };
      context: { snippets: Array<{ path: string; startLine: number; endLine: number; why: string }> };
      approval: unknown;
    };
    expect(body.gate).toBe('post-plan');
    expect(body.plan.subtasks.map((s) => s.id)).toEqual(['fix']);
    expect(body.context.snippets[0]).toMatchObject({
      path: 'src/calc.ts',
      startLine: 1,
      endLine: 3,
      why: expect.stringMatching(/defines identifiers/),
    });
    expect(body.approval).toBeNull();
  });

  it('needs patches:approve and the approver role; another org gets 404 (it may not view the task)', async () => {
    const reader = await g.jwt('alice', { scopes: ['tasks:read'] });
    const noScope = await g.call('POST', `/v1/tasks/${GATED}/plan/approve`, reader, { decision: 'approve' });
    expect(noScope.status).toBe(403);
    const bob = await g.jwt('bob');
    expect((await g.call('GET', `/v1/tasks/${GATED}/plan`, bob)).status).toBe(404);
    expect(
      (await g.call('POST', `/v1/tasks/${GATED}/plan/approve`, bob, { decision: 'approve' })).status,
    ).toBe(404);
    // A viewer of org-a reads the plan but cannot decide.
    const dave = await g.jwt('dave');
    await g.record.db
      .insert(schema.users)
      .values({ id: g.userId('dave'), subject: `dave` })
      .onConflictDoNothing();
    await g.call('PUT', `/v1/orgs/org-a/members/${g.userId('dave')}`, DEV, { role: 'viewer' });
    expect((await g.call('GET', `/v1/tasks/${GATED}/plan`, dave)).status).toBe(200);
    const viewer = await g.call('POST', `/v1/tasks/${GATED}/plan/approve`, dave, { decision: 'approve' });
    expect(viewer.status).toBe(403);
  });

  it('refuses an edited plan that is not a DAG, and a plan sent with a rejection', async () => {
    const cyclic = {
      ...edited,
      subtasks: [
        { id: 'a', title: 'A', successCriteria: ['x'], dependsOn: ['b'] },
        { id: 'b', title: 'B', successCriteria: ['y'], dependsOn: ['a'] },
      ],
    };
    const res = await g.call('POST', `/v1/tasks/${GATED}/plan/approve`, DEV, {
      decision: 'approve',
      plan: cyclic,
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/dependency cycle/);
    const noCriteria = await g.call('POST', `/v1/tasks/${GATED}/plan/approve`, DEV, {
      decision: 'approve',
      plan: { ...edited, subtasks: [{ id: 'x', title: 'X', successCriteria: [] }] },
    });
    expect(noCriteria.status).toBe(400);
    const rejectWithPlan = await g.call('POST', `/v1/tasks/${GATED}/plan/approve`, DEV, {
      decision: 'reject',
      plan: edited,
    });
    expect(rejectWithPlan.status).toBe(400);
    expect(await g.mesh.board.get(keys.planapproval(GATED), PlanApproval)).toBeUndefined();
  });

  it('approves an edited plan: write-once, audited with the edit, published; the task shows the edit', async () => {
    const alice = await g.jwt('alice');
    const res = await g.call('POST', `/v1/tasks/${GATED}/plan/approve`, alice, {
      decision: 'approve',
      comment: 'narrower',
      plan: edited,
    });
    expect(res.status, await res.clone().text()).toBe(202);
    // The same decision again is accepted (a retry); a different one is refused.
    const again = await g.call('POST', `/v1/tasks/${GATED}/plan/approve`, alice, {
      decision: 'approve',
      comment: 'narrower',
      plan: edited,
    });
    expect(again.status).toBe(202);
    const other = await g.call('POST', `/v1/tasks/${GATED}/plan/approve`, alice, { decision: 'reject' });
    expect(other.status).toBe(409);
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe('ALREADY_DECIDED');

    const plan = (await (await g.call('GET', `/v1/tasks/${GATED}/plan`, alice)).json()) as {
      plan: { summary: string };
      proposed: { summary: string };
      approval: { decision: string; by: string };
    };
    expect(plan.plan.summary).toBe(edited.summary);
    expect(plan.proposed.summary).toBe('make subtract right');
    expect(plan.approval).toMatchObject({
      decision: 'approve',
      by: g.userId('alice'),
      byName: 'https://idp.test.local|alice',
    });
    const task = (await (await g.call('GET', `/v1/tasks/${GATED}`, alice)).json()) as {
      plan: { summary: string };
    };
    expect(task.plan.summary).toBe(edited.summary);

    const audit = await g.record.db
      .select({ actor: schema.auditLog.actor, detail: schema.auditLog.detail })
      .from(schema.auditLog)
      .where(eq(schema.auditLog.action, 'plan.approve'));
    expect(audit).toHaveLength(1);
    expect(audit[0]!.actor).toBe(g.userId('alice'));
    expect(audit[0]!.detail).toMatchObject({
      edited: true,
      comment: 'narrower',
      plan: { summary: edited.summary },
    });
    const events = (await g.mesh.bus.history(GATED)).map((e) => e.event);
    const decided = events.filter((e) => e.type === 'plan.approved');
    expect(decided).toHaveLength(1);
    expect(decided[0]!.data).toMatchObject({
      edited: true,
      by: g.userId('alice'),
      byName: 'https://idp.test.local|alice',
    });

    // The record keeps the edited plan once the event is projected.
    for (const { seq, event } of await g.mesh.bus.history(GATED))
      await projectEvent(g.record.db, g.mesh.board, seq, event);
    const [row] = await g.record.db.select().from(schema.plans).where(eq(schema.plans.taskId, GATED));
    expect(row?.summary).toBe(edited.summary);
  });

  it('rejects with a reason (audited, published); a task not at the gate answers 409', async () => {
    const res = await g.call('POST', `/v1/tasks/${REJECTED}/plan/approve`, DEV, {
      decision: 'reject',
      comment: 'wrong module',
    });
    expect(res.status).toBe(202);
    const events = (await g.mesh.bus.history(REJECTED)).map((e) => e.event);
    expect(events.find((e) => e.type === 'plan.rejected')?.data).toMatchObject({ comment: 'wrong module' });
    const audit = await g.record.db
      .select({ target: schema.auditLog.target })
      .from(schema.auditLog)
      .where(eq(schema.auditLog.action, 'plan.reject'));
    expect(audit).toEqual([{ target: REJECTED }]);

    const notGated = await g.call('POST', `/v1/tasks/${g.taskA}/plan/approve`, DEV, { decision: 'approve' });
    expect(notGated.status).toBe(409);
    expect(((await notGated.json()) as { error: { code: string } }).error.code).toBe(
      'NOT_AWAITING_PLAN_APPROVAL',
    );
  });
});
