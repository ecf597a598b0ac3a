// The OpenAPI document against the live app: every route the app declares is documented, and real requests
// answer only with statuses the document lists for their operation, with bodies that fit its schemas.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys, TaskRecord } from '../schemas/index.ts';
import { makeFixtureRepo } from '../test/fixture-repo.ts';
import { type Doc, nonConformance, templateOf } from '../test/openapi-conformance.ts';
import { DEV, startTestGateway, type TestGateway } from './test-setup.ts';

let g: TestGateway;
let doc: Doc;
beforeAll(async () => {
  g = await startTestGateway();
  doc = (await (await g.call('GET', '/openapi.json')).json()) as Doc;
});
afterAll(async () => g?.stop());

describe('OpenAPI document', () => {
  it('documents every route the app declares', () => {
    const declared = new Set(
      g.app.routes
        .filter((r) => r.method !== 'ALL')
        .map((r) => `${r.method.toLowerCase()} ${templateOf(r.path)}`),
    );
    expect(declared.size).toBeGreaterThan(25);
    const missing = [...declared].filter((k) => {
      const [m, p] = k.split(' ') as [string, string];
      return !doc.paths[p]?.[m];
    });
    expect(missing).toEqual([]);
  });

  it('catches an undocumented status and a body that does not fit', () => {
    expect(nonConformance(doc, 'POST', '/v1/patches/t-a-p1/rollback', 200, undefined)).toMatch(
      /answered 200/,
    );
    expect(nonConformance(doc, 'POST', '/v1/patches/t-a-p1/rollback', 202, { rollback: {} })).toMatch(
      /does not fit/,
    );
    expect(nonConformance(doc, 'GET', '/v1/nowhere', 200, undefined)).toMatch(/no operation/);
  });

  it('real requests answer only documented statuses, with bodies that fit the schemas', async () => {
    const alice = await g.jwt('alice');
    const extraRepo = makeFixtureRepo('py-calc', mkdtempSync(join(g.repoRoot, 'codemesh-fx-')));
    const results: Array<{ method: string; path: string; status: number; body: unknown }> = [];
    const send = async (
      method: string,
      path: string,
      opts: { token?: string | null; body?: unknown; sse?: boolean } = {},
    ) => {
      const token = opts.token === null ? undefined : (opts.token ?? DEV);
      let res: Response;
      if (opts.sse) {
        const ctl = new AbortController();
        res = await g.app.request(path, {
          headers: { authorization: `Bearer ${token}` },
          signal: ctl.signal,
        });
        await res.body?.cancel();
        ctl.abort();
      } else res = await g.call(method, path, token, opts.body);
      const type = res.headers.get('content-type') ?? '';
      const body = opts.sse
        ? undefined
        : type.includes('application/json')
          ? await res.json()
          : await res.text();
      results.push({
        method,
        path,
        status: res.status,
        body: type.includes('application/json') ? body : undefined,
      });
      return { status: res.status, body: body as Record<string, never> };
    };
    const { taskA, taskB } = g;

    await send('GET', '/healthz', { token: null });
    await send('GET', '/openapi.json', { token: null });
    await send('GET', '/console', { token: null });
    await send('GET', '/console/no-such-file.js', { token: null });
    await send('GET', '/v1/tasks', { token: null });
    await send('GET', '/v1/tasks');
    await send('GET', '/v1/tasks?cursor=nonsense');
    await send('POST', '/v1/tasks', { body: { repo: g.repoA, title: 'Conform' } });
    await send('POST', '/v1/tasks', { body: {} });
    await send('POST', '/v1/tasks', { token: alice, body: { repo: extraRepo, title: 'x' } });
    await send('GET', `/v1/tasks/${taskA}`);
    await send('GET', '/v1/tasks/t-zzzzzz999999');
    await send('GET', '/v1/tasks/NOT-AN-ID');
    await send('GET', `/v1/tasks/${taskB}`, { token: alice });
    await send('GET', `/v1/tasks/${taskA}/plan`);
    await send('POST', `/v1/tasks/${taskA}/plan/approve`, { body: { decision: 'approve' } });
    await send('GET', `/v1/tasks/${taskA}/budget`);
    await send('POST', `/v1/tasks/${taskA}/budget`, { body: { action: 'stop' } });
    await send('GET', `/v1/tasks/${taskA}/events`, { sse: true });
    await send('GET', `/v1/patches/${taskA}-p1`);
    await send('GET', `/v1/patches/${taskA}-p9`);
    await send('GET', '/v1/patches/nonsense');
    await send('POST', `/v1/patches/${taskB}-p1/approve`);
    await send('POST', `/v1/patches/${taskB}-p1/approve`, {
      body: { decision: 'request_changes', comment: 'after all' },
    });
    await send('POST', `/v1/patches/${taskA}-p1/approve`, { body: { decision: 'request_changes' } });
    await send('POST', `/v1/patches/${taskA}-p1/rollback`);
    await g.mesh.board.mutate(
      keys.task(taskA),
      TaskRecord,
      (t) =>
        t && {
          ...t,
          status: 'completed' as const,
          commit: 'c'.repeat(40),
          workflow: { ...t.workflow, value: 'completed' },
        },
    );
    await send('POST', `/v1/patches/${taskA}-p1/rollback`, { body: { reason: 'conformance' } });
    await send('POST', '/v1/orgs', { body: { name: 'org-c' } });
    await send('POST', '/v1/orgs', { body: { name: 'org-c' } });
    await send('PUT', `/v1/orgs/org-c/members/${g.userId('alice')}`, { body: { role: 'viewer' } });
    await send('PUT', '/v1/orgs/org-c/members/u-nobody', { body: { role: 'viewer' } });
    const repo = await send('POST', '/v1/repos', { body: { org: 'org-c', path: extraRepo } });
    await send('POST', '/v1/repos', { body: { org: 'org-c', path: extraRepo } });
    const repoId = (repo.body as { repo?: { id: string } }).repo?.id ?? 'r-missing';
    // The repo picker's list: everything for the instance admin; for alice, only orgs she is a member of.
    type Repos = { items: Array<{ id: string; orgId: string; role: string }> };
    const every = (await send('GET', '/v1/repos')).body as unknown as Repos;
    expect(every.items.map((r) => r.id)).toContain(repoId);
    const hers = (await send('GET', '/v1/repos', { token: alice })).body as unknown as Repos;
    expect(hers.items.length).toBeGreaterThan(0);
    expect(hers.items.filter((r) => r.orgId === 'org-b')).toEqual([]);
    expect(hers.items.find((r) => r.id === repoId)?.role).toBe('viewer');
    await send('PUT', `/v1/repos/${repoId}/config`, { body: {} });
    await send('PUT', '/v1/repos/r-nosuchrepo/config', { body: {} });
    await send('POST', '/v1/repos/index', { body: { repo: g.repoA } });
    const pat = await send('POST', '/v1/tokens', {
      token: alice,
      body: { name: 'ci', scopes: ['tasks:read'] },
    });
    await send('GET', '/v1/tokens', { token: alice });
    const patId = (pat.body as { token?: { id: string } }).token?.id ?? 'nope';
    await send('DELETE', `/v1/tokens/${patId}`, { token: alice });
    await send('DELETE', '/v1/tokens/nope', { token: alice });
    await send('POST', '/v1/config/models', { body: { org: 'org-a', roles: { coder: { model: 'm' } } } });
    await send('GET', '/v1/config/models?org=org-a');
    await send('GET', '/v1/config/models');
    await send('GET', '/v1/metrics');
    await send('GET', '/v1/metrics/calibration?bins=5');
    await send('GET', '/v1/metrics/calibration?bins=1');
    await send('GET', '/v1/deadletters');
    await send('POST', '/v1/deadletters/999999/redrive');
    await send('POST', '/v1/deadletters/abc/redrive');
    await send('GET', `/v1/traces/${taskA}`);
    await send('POST', `/v1/chat/${taskA}`, { body: { message: 'where are we?' } });
    await send('GET', '/v1/board/events', { sse: true });
    const cp = await send('POST', '/v1/campaigns', {
      body: { title: 'Conform', description: 'A campaign.', repos: ['ts-calc'] },
    });
    const cpId = (cp.body as { campaign?: { id: string } }).campaign?.id ?? 'cp-missing00';
    expect(cp.status).toBe(201);
    await send('POST', '/v1/campaigns', { body: { title: 'x', description: 'y', repos: [] } });
    await send('POST', '/v1/campaigns', {
      token: alice,
      body: { title: 'x', description: 'y', repos: ['py-calc'] },
    });
    await send('GET', `/v1/campaigns/${cpId}`);
    await send('GET', `/v1/campaigns/${cpId}`, { token: await g.jwt('bob') });
    await send('GET', '/v1/campaigns/cp-nosuchone1');
    await send('GET', '/v1/campaigns/NOPE');
    await send('POST', `/v1/campaigns/${cpId}/pause`);
    await send('POST', `/v1/campaigns/${cpId}/resume`);
    await send('POST', `/v1/campaigns/${cpId}/cancel`);
    await send('POST', `/v1/campaigns/${cpId}/resume`);
    await send('GET', `/v1/campaigns/${cpId}/events`, { sse: true });

    const problems = results.flatMap((r) => nonConformance(doc, r.method, r.path, r.status, r.body) ?? []);
    expect(problems).toEqual([]);
    // The requests reached the routes' own answers, not only the shared ones.
    const statuses = new Set(results.map((r) => r.status));
    for (const s of [200, 201, 202, 400, 401, 403, 404, 409, 501]) expect(statuses).toContain(s);
  });
});
