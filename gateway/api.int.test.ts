import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../actors/recorder/index.ts';
import { basename } from 'node:path';
import { CreatedTask, type RepoSummary, TaskList } from '../schemas/api.ts';
import { type CalibrationMetrics, keys, OrgModelSettings, TaskRecord } from '../schemas/index.ts';
import { DEV, startTestGateway, type TestGateway } from './test-setup.ts';

let g: TestGateway;
beforeAll(async () => {
  g = await startTestGateway({ limits: { ratePerSec: 5, burst: 400, maxSsePerToken: 2 } });
});
afterAll(async () => g?.stop());

describe('API', () => {
  it('serves an OpenAPI document without a token, naming every route', async () => {
    const doc = (await (await g.call('GET', '/openapi.json')).json()) as { paths: Record<string, unknown> };
    for (const p of [
      '/v1/tasks',
      '/v1/tasks/{id}/events',
      '/v1/tasks/{id}/plan',
      '/v1/tasks/{id}/plan/approve',
      '/v1/tasks/{id}/budget',
      '/v1/patches/{id}/rollback',
      '/v1/metrics',
      '/v1/traces/{id}',
      '/v1/chat/{id}',
      '/v1/config/models',
      '/v1/repos/index',
      '/v1/deadletters',
      '/v1/deadletters/{seq}/redrive',
    ])
      expect(Object.keys(doc.paths)).toContain(p);
  });

  it('lists tasks newest first with a cursor', async () => {
    const first = (await (await g.call('GET', '/v1/tasks?limit=1', DEV)).json()) as {
      items: Array<{ id: string }>;
      nextCursor: string;
    };
    expect(first.items).toHaveLength(1);
    const second = (await (
      await g.call('GET', `/v1/tasks?limit=1&cursor=${first.nextCursor}`, DEV)
    ).json()) as { items: Array<{ id: string }>; nextCursor: string | null };
    expect(second.items).toHaveLength(1);
    expect(new Set([first.items[0]!.id, second.items[0]!.id])).toEqual(new Set([g.taskA, g.taskB]));
    expect(second.nextCursor).toBeNull();
    expect((await g.call('GET', '/v1/tasks?cursor=nonsense', DEV)).status).toBe(400);
  });

  it('exports a trace as JSONL with keys, tokens, bearer strings and emails redacted', async () => {
    const res = await g.call('GET', `/v1/traces/${g.taskA}`, DEV);
    expect(res.headers.get('content-type')).toMatch(/ndjson/);
    const text = await res.text();
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string });
    expect(lines.filter((l) => l.kind === 'event')).toHaveLength(9);
    expect(lines.map((l) => l.kind)).toEqual(
      expect.arrayContaining(['task', 'plan', 'patch', 'testrun', 'review', 'model_call']),
    );
    expect(text).not.toMatch(/sk-abcdefghijklmnop1234|dev@example\.com|abc\.def\.ghi/);
    expect(text).toContain('[REDACTED_KEY]');
    expect(text).toContain('[REDACTED_EMAIL]');
    expect(text).toContain('Bearer [REDACTED]');
    // Token counts are numbers, not secrets; durations are whole milliseconds.
    const call = lines.find((l) => l.kind === 'model_call') as { data: Record<string, unknown> } | undefined;
    expect(call?.data).toMatchObject({ promptTokens: 100, completionTokens: expect.any(Number) });
    expect(text).not.toMatch(/"\w*Tokens":"\[REDACTED\]"/);
    const run = lines.find((l) => l.kind === 'testrun') as { data: { durationMs: number } } | undefined;
    expect(run?.data.durationMs).toBe(7613);
  });

  it('stores per-role model settings, never echoing the key, and audits the change', async () => {
    const res = await g.call('POST', '/v1/config/models', DEV, {
      org: 'org-a',
      roles: { coder: { model: 'gpt-x', apiKey: 'sk-supersecretvalue123' } },
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain('sk-supersecret');
    expect(JSON.parse(text)).toEqual({ org: 'org-a', roles: { coder: { model: 'gpt-x', apiKeySet: true } } });
    const again = await (await g.call('GET', '/v1/config/models?org=org-a', DEV)).text();
    expect(again).not.toContain('sk-supersecret');
    const audit = await g.record.db
      .select({ detail: schema.auditLog.detail })
      .from(schema.auditLog)
      .where(eq(schema.auditLog.action, 'config.models'));
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit[0]!.detail)).not.toContain('sk-supersecret');
    // Stored sealed in the record and on the blackboard, where the actors read it.
    const [row] = await g.record.db
      .select({ body: schema.policies.body })
      .from(schema.policies)
      .where(and(eq(schema.policies.orgId, 'org-a'), eq(schema.policies.kind, 'models')));
    expect(JSON.stringify(row!.body)).not.toContain('sk-supersecret');
    expect((row!.body as { coder: { apiKeySealed: string } }).coder.apiKeySealed).toMatch(/^v1:/);
    const board = (await g.mesh.board.get(keys.models('org-a'), OrgModelSettings))!.value;
    expect(board.roles.coder).toEqual((row!.body as Record<string, unknown>).coder);
  });

  it('seals a key stored in clear before keys were sealed, at the next write', async () => {
    await g.record.db
      .update(schema.policies)
      .set({ body: { reviewer: { model: 'old', apiKey: 'sk-legacy-cleartext-1' } } })
      .where(and(eq(schema.policies.orgId, 'org-a'), eq(schema.policies.kind, 'models')));
    const res = await g.call('POST', '/v1/config/models', DEV, {
      org: 'org-a',
      roles: { planner: { model: 'p' } },
    });
    expect(await res.json()).toEqual({
      org: 'org-a',
      roles: { reviewer: { model: 'old', apiKeySet: true }, planner: { model: 'p', apiKeySet: false } },
    });
    const board = (await g.mesh.board.get(keys.models('org-a'), OrgModelSettings))!.value;
    expect(JSON.stringify(board)).not.toContain('sk-legacy');
    expect(board.roles.reviewer!.apiKeySealed).toMatch(/^v1:/);
  });

  it('answers chat questions from the task state, threaded', async () => {
    const r1 = (await (
      await g.call('POST', `/v1/chat/${g.taskA}`, DEV, { message: 'where are we?' })
    ).json()) as { threadId: string; answer: string; messages: number };
    expect(r1.answer).toMatch(/awaiting approval/);
    expect(r1.answer).toMatch(/Tests \(vitest\): passed/);
    const r2 = (await (
      await g.call('POST', `/v1/chat/${g.taskA}`, DEV, { message: 'and now?', threadId: r1.threadId })
    ).json()) as { threadId: string; messages: number };
    expect(r2.threadId).toBe(r1.threadId);
    expect(r2.messages).toBe(4);
  });

  it('asks for the rollback of a completed task only, audited; the Integrator does it (see test/e2e)', async () => {
    const notYet = await g.call('POST', `/v1/patches/${g.taskA}-p1/rollback`, DEV, {});
    expect(notYet.status).toBe(409);
    expect(((await notYet.json()) as { error: { code: string } }).error.code).toBe('ROLLBACK_REFUSED');
    await g.mesh.board.mutate(keys.task(g.taskA), TaskRecord, (t) =>
      t
        ? {
            ...t,
            status: 'completed' as const,
            commit: 'c'.repeat(40),
            branch: `codemesh/${g.taskA}`,
            workflow: { value: 'completed', context: { ...t.workflow.context, patchId: `${g.taskA}-p1` } },
          }
        : undefined,
    );
    const wrongPatch = await g.call('POST', `/v1/patches/${g.taskA}-p9/rollback`, DEV, {});
    expect(wrongPatch.status).toBe(409);
    const res = await g.call('POST', `/v1/patches/${g.taskA}-p1/rollback`, DEV, { reason: 'broke prod' });
    expect(res.status, await res.clone().text()).toBe(202);
    const { rollback } = (await res.json()) as { rollback: { branch: string; revertOf: string } };
    expect(rollback).toMatchObject({ branch: `codemesh/${g.taskA}-rollback`, revertOf: 'c'.repeat(40) });
    // Asking twice is one request: the event is de-duplicated by its id. No body is the same as `{}`.
    expect((await g.call('POST', `/v1/patches/${g.taskA}-p1/rollback`, DEV)).status).toBe(202);
    const asked = (await g.mesh.bus.history(g.taskA, { repeats: true })).filter(
      (e) => e.event.type === 'rollback.requested',
    );
    expect(asked).toHaveLength(1);
    expect(asked[0]!.event.data).toMatchObject({ patchId: `${g.taskA}-p1`, reason: 'broke prod' });
  });

  it('limits open event streams per token (429) and frees the slot when a stream closes', async () => {
    const pat = (
      (await (await g.call('POST', '/v1/tokens', DEV, { name: 'sse', scopes: ['tasks:read'] })).json()) as {
        token: string;
      }
    ).token;
    const a = await g.call('GET', `/v1/tasks/${g.taskB}/events`, pat);
    const b = await g.call('GET', `/v1/tasks/${g.taskB}/events`, pat);
    expect([a.status, b.status]).toEqual([200, 200]);
    const c = await g.call('GET', `/v1/tasks/${g.taskB}/events`, pat);
    expect(c.status).toBe(429);
    expect(((await c.json()) as { error: { code: string } }).error.code).toBe('TOO_MANY_STREAMS');
    await a.body!.cancel();
    await new Promise((r) => setTimeout(r, 100));
    const d = await g.call('GET', `/v1/tasks/${g.taskB}/events`, pat);
    expect(d.status).toBe(200);
    await b.body!.cancel();
    await d.body!.cancel();
  });

  it('rate-limits per token with 429 and Retry-After; other tokens are unaffected; /healthz stays open', async () => {
    const pat = (
      (await (await g.call('POST', '/v1/tokens', DEV, { name: 'rl', scopes: ['tasks:read'] })).json()) as {
        token: string;
      }
    ).token;
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    // Until the first 429: the bucket refills while requests run, so how many fit depends on the machine's
    // speed (on a loaded one, 450 in a row may never run it dry); at least the burst must pass first.
    for (let i = 0; i < 5000 && retryAfter === null; i++) {
      const r = await g.call('GET', `/v1/tasks?limit=1`, pat);
      statuses.push(r.status);
      if (r.status === 429) retryAfter = r.headers.get('retry-after');
      await r.body?.cancel();
    }
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(400);
    expect(statuses.at(-1)).toBe(429);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    const other = (
      (await (await g.call('POST', '/v1/tokens', DEV, { name: 'rl2', scopes: ['tasks:read'] })).json()) as {
        token: string;
      }
    ).token;
    expect((await g.call('GET', '/v1/tasks?limit=1', other)).status).toBe(200);
    expect((await g.call('GET', '/healthz')).status).toBe(200);
  });

  it('exposes Prometheus metrics: tasks by status, events, tokens, cost, HTTP requests and latency', async () => {
    const text = await (await g.call('GET', '/v1/metrics', DEV)).text();
    expect(text).toMatch(/^codemesh_tasks\{status="awaiting_approval"\} \d+$/m);
    expect(text).toMatch(/^codemesh_events_total\{type="task.created"\} 2$/m);
    expect(text).toMatch(/^codemesh_tokens_total\{kind="prompt"\} 200$/m);
    expect(text).toMatch(/^codemesh_cost_usd_total 0\.16/m);
    expect(text).toMatch(
      /^codemesh_http_requests_total\{method="GET",route="\/v1\/tasks",status="200"\} \d+$/m,
    );
    expect(text).toMatch(
      /^codemesh_http_request_duration_seconds_bucket\{method="GET",route="\/v1\/tasks\/:id\/events",le="\+Inf"\} \d+$/m,
    );
  });

  it('exposes the calibration of the recorded confidences: Brier score and reliability bins, raw and calibrated', async () => {
    const t = schema.confidences;
    const features = { raw: 0.9, approve: true, outcome: 'pass' };
    // Four labelled patches (one rolled back: not good) and the seeded tasks' unlabelled ones.
    const rows = [
      { raw: 0.95, calibrated: 0.85, label: 'approved' },
      { raw: 0.95, calibrated: 0.75, label: 'rolled_back' },
      { raw: 0.9, calibrated: 0.15, label: 'changes_requested' },
      { raw: 0.35, calibrated: 0.55, label: 'resolved' },
    ];
    await g.record.db.insert(t).values(
      rows.map((r, i) => ({
        ...r,
        patchId: `${g.taskA}-cal${i}`,
        taskId: g.taskA,
        attempt: 1,
        model: 'm1',
        features,
        labelSource: 'human',
        createdAt: new Date(),
      })),
    );
    try {
      const res = await g.call('GET', '/v1/metrics/calibration', DEV);
      expect(res.status).toBe(200);
      const { calibration: c } = (await res.json()) as CalibrationMetrics;
      expect(c).toMatchObject({
        n: 4,
        labels: { approved: 1, rolled_back: 1, changes_requested: 1, resolved: 1 },
        models: ['m1'],
      });
      expect(c.unlabelled).toBeGreaterThanOrEqual(2);
      // raw: (0.05² + 0.95² + 0.9² + 0.65²) / 4; calibrated: (0.15² + 0.75² + 0.15² + 0.45²) / 4.
      expect(c.raw.brier).toBeCloseTo((0.0025 + 0.9025 + 0.81 + 0.4225) / 4, 4);
      expect(c.calibrated.brier).toBeCloseTo((0.0225 + 0.5625 + 0.0225 + 0.2025) / 4, 4);
      expect(c.raw.bins).toHaveLength(10);
      expect(c.raw.bins[9]).toEqual({
        lo: 0.9,
        hi: 1,
        count: 3,
        meanPredicted: 0.9333,
        observedRate: 0.3333,
      });
      expect(c.calibrated.bins[8]).toMatchObject({ count: 1, meanPredicted: 0.85, observedRate: 1 });
      expect(c.calibrated.bins[1]).toMatchObject({ count: 1, observedRate: 0 });
      const five = (await (
        await g.call('GET', '/v1/metrics/calibration?bins=5', DEV)
      ).json()) as CalibrationMetrics;
      expect(five.calibration.raw.bins).toHaveLength(5);
      const bad = await g.call('GET', '/v1/metrics/calibration?bins=1', DEV);
      expect(bad.status).toBe(400);
      const text = await (await g.call('GET', '/v1/metrics', DEV)).text();
      expect(text).toMatch(/^codemesh_confidence_labelled 4$/m);
      expect(text).toMatch(/^codemesh_confidence_brier\{kind="calibrated"\} 0\.2025$/m);
      const noScope = await g.jwt('alice', { scopes: ['tasks:read'] });
      expect((await g.call('GET', '/v1/metrics/calibration', noScope)).status).toBe(403);
    } finally {
      await g.record.db.delete(t).where(eq(t.model, 'm1'));
    }
  });

  it('answers 501 for repository indexing when no Curator is wired', async () => {
    const r = await g.call('POST', '/v1/repos/index', DEV, { repo: g.repoA });
    expect(r.status).toBe(501);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('INDEXER_NOT_WIRED');
  });
});

describe('tasks name their repository', () => {
  it('answers 201 with a Location, the documented body and the repository', async () => {
    const res = await g.call('POST', '/v1/tasks', DEV, { repo: g.repoA, title: 'Name the repository' });
    expect(res.status, await res.clone().text()).toBe(201);
    const created = CreatedTask.parse(await res.json());
    expect(res.headers.get('location')).toBe(`/v1/tasks/${created.task.id}`);
    expect(created.task.repository).toEqual({
      id: created.task.repoId,
      name: basename(g.repoA),
      path: g.repoA,
    });
    const doc = (await (await g.call('GET', '/openapi.json')).json()) as {
      paths: Record<
        string,
        Record<string, { responses: Record<string, { headers?: object; content?: object }> }>
      >;
    };
    const r201 = doc.paths['/v1/tasks']!.post!.responses['201']!;
    expect(r201.headers).toHaveProperty('Location');
    expect(r201.content).toHaveProperty('application/json');
  });

  it('lists and shows the repository (name and path), not only its id', async () => {
    const list = TaskList.parse(await (await g.call('GET', '/v1/tasks?limit=100', DEV)).json());
    const a = list.items.find((t) => t.id === g.taskA);
    expect(a?.repository).toEqual({ id: a?.repoId, name: basename(g.repoA), path: g.repoA });
    const one = (await (await g.call('GET', `/v1/tasks/${g.taskA}`, DEV)).json()) as {
      repository: RepoSummary;
    };
    expect(one.repository).toEqual(a?.repository);
  });
});
