// `candidates` over the API: bounds on POST /v1/tasks, the org default and per-candidate settings of
// POST /v1/config/models (record and blackboard), and a task that names no k getting its org's.
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../actors/recorder/index.ts';
import { keys, OrgModelSettings, TaskRecord } from '../schemas/index.ts';
import { DEV, startTestGateway, type TestGateway } from './test-setup.ts';

let g: TestGateway;
beforeAll(async () => {
  g = await startTestGateway();
});
afterAll(async () => g?.stop());

const taskOf = async (res: Response) => {
  expect(res.status).toBe(201);
  const { task } = (await res.json()) as { task: { id: string } };
  return (await g.mesh.board.get(keys.task(task.id), TaskRecord))!.value;
};

describe('candidates over the API', () => {
  it('refuses k outside 1..8 with the field named', async () => {
    for (const k of [0, 9, 2.5, '3']) {
      const res = await g.call('POST', '/v1/tasks', DEV, { repo: g.repoA, title: 'x', candidates: k });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { fields?: Array<{ path: string }> } };
      expect(body.error.fields?.map((f) => f.path)).toContain('candidates');
    }
  });

  it('a task asking for k starts a workflow with k candidates', async () => {
    const t = await taskOf(
      await g.call('POST', '/v1/tasks', DEV, { repo: g.repoA, title: 'x', candidates: 3 }),
    );
    expect(t.request.candidates).toBe(3);
    expect(t.workflow.context.candidates).toEqual({ k: 3, code: {}, test: {} });
  });

  it('the org default k and per-candidate settings are stored, shown, and used by tasks that name no k', async () => {
    const before = await taskOf(await g.call('POST', '/v1/tasks', DEV, { repo: g.repoA, title: 'x' }));
    expect(before.workflow.context.candidates).toBeUndefined();
    const candidates = { k: 2, variants: [{ temperature: 0.1 }, { model: 'other-model', temperature: 0.9 }] };
    const res = await g.call('POST', '/v1/config/models', DEV, { org: 'org-a', roles: {}, candidates });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { candidates: unknown }).candidates).toEqual(candidates);
    const board = (await g.mesh.board.get(keys.models('org-a'), OrgModelSettings))!.value;
    expect(board.candidates).toEqual(candidates);
    const [row] = await g.record.db
      .select({ body: schema.policies.body })
      .from(schema.policies)
      .where(and(eq(schema.policies.orgId, 'org-a'), eq(schema.policies.kind, 'candidates')));
    expect(row?.body).toEqual(candidates);
    // A later write of role settings alone keeps them.
    await g.call('POST', '/v1/config/models', DEV, { org: 'org-a', roles: { coder: { model: 'm' } } });
    expect((await g.mesh.board.get(keys.models('org-a'), OrgModelSettings))!.value.candidates).toEqual(
      candidates,
    );
    const shown = (await (await g.call('GET', '/v1/config/models?org=org-a', DEV)).json()) as {
      candidates: unknown;
    };
    expect(shown.candidates).toEqual(candidates);
    // A daily quota set beside them keeps them, and both are shown (and removing the quota keeps them too).
    const quota = { tokensPerDay: 1_000_000 };
    const withQuota = (await (
      await g.call('POST', '/v1/config/models', DEV, { org: 'org-a', quota })
    ).json()) as { candidates: unknown; quota: unknown };
    expect(withQuota).toMatchObject({ candidates, quota });
    expect((await g.mesh.board.get(keys.models('org-a'), OrgModelSettings))!.value).toMatchObject({
      candidates,
      quota,
    });
    const both = (await (await g.call('GET', '/v1/config/models?org=org-a', DEV)).json()) as object;
    expect(both).toMatchObject({ candidates, quota });
    await g.call('POST', '/v1/config/models', DEV, { org: 'org-a', quota: null });
    const noQuota = (await g.mesh.board.get(keys.models('org-a'), OrgModelSettings))!.value;
    expect(noQuota.candidates).toEqual(candidates);
    expect(noQuota.quota).toBeUndefined();

    const after = await taskOf(await g.call('POST', '/v1/tasks', DEV, { repo: g.repoA, title: 'x' }));
    expect(after.workflow.context.candidates).toEqual({ k: 2, code: {}, test: {} });
    // The task's own k wins over the org's; another org's tasks are untouched.
    const own = await taskOf(
      await g.call('POST', '/v1/tasks', DEV, { repo: g.repoA, title: 'x', candidates: 1 }),
    );
    expect(own.workflow.context.candidates).toBeUndefined();
    const other = await taskOf(await g.call('POST', '/v1/tasks', DEV, { repo: g.repoB, title: 'x' }));
    expect(other.workflow.context.candidates).toBeUndefined();
  });

  it('refuses a bad candidate setting', async () => {
    const res = await g.call('POST', '/v1/config/models', DEV, {
      org: 'org-a',
      roles: {},
      candidates: { k: 2, variants: [{ temperature: 5 }] },
    });
    expect(res.status).toBe(400);
  });
});
