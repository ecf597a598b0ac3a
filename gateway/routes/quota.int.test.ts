// The daily quota over HTTP: set with the model settings (kept, replaced, removed), shown with today's use,
// and a task of an org at its quota refused with 429 QUOTA_EXCEEDED before it starts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys, nextUtcMidnight, OrgModelSettings, QuotaDay, utcDay } from '../../schemas/index.ts';
import { DEV, startTestGateway, type TestGateway } from '../test-setup.ts';

let g: TestGateway;
beforeAll(async () => {
  g = await startTestGateway();
});
afterAll(async () => g?.stop());

/** Today's (and, against a midnight in between, tomorrow's) use of `org`, written as the actors would. */
async function spend(org: string, tokens: number): Promise<void> {
  for (const at of [Date.now(), nextUtcMidnight(Date.now())]) {
    const day = utcDay(at);
    await g.mesh.board.mutate(keys.quota(org, day), QuotaDay, () => ({
      org,
      day,
      spent: { tokens, usd: 0, calls: 1 },
      reservations: [],
    }));
  }
}

describe('daily quota (POST /v1/config/models)', () => {
  it('is stored with the model settings, kept by a write that does not name it, and shown with its use', async () => {
    const res = await g.call('POST', '/v1/config/models', DEV, {
      org: 'org-a',
      roles: { coder: { model: 'm1' } },
      quota: { tokensPerDay: 1000, usdPerDay: 2 },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { quota: unknown; quotaUsage: { tokens: number; resetsAt: string } };
    expect(body.quota).toEqual({ tokensPerDay: 1000, usdPerDay: 2 });
    expect(body.quotaUsage.tokens).toBe(0);
    expect(body.quotaUsage.resetsAt).toMatch(/T00:00:00\.000Z$/);
    await g.call('POST', '/v1/config/models', DEV, { org: 'org-a', roles: { planner: { model: 'p' } } });
    const board = (await g.mesh.board.get(keys.models('org-a'), OrgModelSettings))!.value;
    expect(board.quota).toEqual({ tokensPerDay: 1000, usdPerDay: 2 });
    expect(board.roles.coder?.model).toBe('m1');
    const bad = await g.call('POST', '/v1/config/models', DEV, { org: 'org-a', quota: { tokensPerDay: -1 } });
    expect(bad.status).toBe(400);
  });

  it('refuses a task of an org at its quota with 429 QUOTA_EXCEEDED until the quota is raised or removed', async () => {
    expect((await g.call('POST', '/v1/tasks', DEV, { repo: g.repoA, title: 'under quota' })).status).toBe(
      201,
    );
    await spend('org-a', 1000);
    const res = await g.call('POST', '/v1/tasks', DEV, { repo: g.repoA, title: 'over quota' });
    expect(res.status).toBe(429);
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(86_400);
    const { error } = (await res.json()) as {
      error: { code: string; message: string; details: Record<string, unknown> };
    };
    expect(error.code).toBe('QUOTA_EXCEEDED');
    expect(error.message).toMatch(/org org-a's tokensPerDay quota of 1000 tokens/);
    expect(error.details).toMatchObject({ org: 'org-a', quota: 'tokensPerDay', limit: 1000, used: 1000 });
    expect(error.details.resetsAt).toBe(new Date(nextUtcMidnight(Date.now())).toISOString());
    const shown = (await (await g.call('GET', '/v1/config/models?org=org-a', DEV)).json()) as {
      quotaUsage: { tokens: number };
    };
    expect(shown.quotaUsage.tokens).toBe(1000);
    // Another org is not affected.
    expect((await g.call('POST', '/v1/tasks', DEV, { repo: g.repoB, title: 'other org' })).status).toBe(201);
    // Raised: accepted again; removed (null): no quota at all.
    await g.call('POST', '/v1/config/models', DEV, { org: 'org-a', quota: { tokensPerDay: 5000 } });
    expect((await g.call('POST', '/v1/tasks', DEV, { repo: g.repoA, title: 'raised' })).status).toBe(201);
    await spend('org-a', 6000);
    expect((await g.call('POST', '/v1/tasks', DEV, { repo: g.repoA, title: 'over again' })).status).toBe(429);
    const removed = await g.call('POST', '/v1/config/models', DEV, { org: 'org-a', quota: null });
    expect(((await removed.json()) as { quota?: unknown }).quota).toBeUndefined();
    expect((await g.mesh.board.get(keys.models('org-a'), OrgModelSettings))!.value.quota).toBeUndefined();
    expect((await g.call('POST', '/v1/tasks', DEV, { repo: g.repoA, title: 'no quota' })).status).toBe(201);
  });
});
