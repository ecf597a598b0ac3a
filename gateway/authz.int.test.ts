// The authorization matrix: every endpoint × {no token, expired, bad signature, wrong issuer, too long-lived,
// HS256 with a foreign issuer or audience, wrong scope, another org's resource, revoked PAT} → 401/403 and
// nothing of the resource in the answer; then repository roots, one org per path, and unsafe text.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../actors/recorder/index.ts';
import { deadLetter } from '../blackboard/index.ts';
import type { Scope } from '../schemas/api.ts';
import { CODEMESH_ROOT, makeFixtureRepo } from '../test/fixture-repo.ts';
import { readSse } from '../test/harness.ts';
import { seedTask } from '../actors/recorder/test-scenario.ts';
import { DEV, startTestGateway, type TestGateway } from './test-setup.ts';

let g: TestGateway;
let tokens: Record<string, string>;
let bobPatId: string;
/** A campaign of org-a (alice's) and one of org-b (bob's), and their repositories' ids. */
const campaigns = { a: '', b: '' };
const repoIds = { a: '', b: '' };
/** Dead letters (DLQ sequences) of an event of taskA and of taskB, and of a message that names no task. */
const letters = { a: 0, b: 0, noTask: 0 };
beforeAll(async () => {
  g = await startTestGateway();
  for (const [k, id] of [
    ['a', g.taskA],
    ['b', g.taskB],
  ] as const) {
    const [first] = await g.mesh.bus.history(id);
    letters[k] = await deadLetter(g.mesh.js, {
      consumer: 'recorder',
      seq: first!.seq,
      deliveries: 6,
      reason: 'Error: the record refused it',
      eventId: first!.event.id,
      taskId: id,
      type: first!.event.type,
      payload: JSON.stringify(first!.event),
    });
  }
  for (const k of ['a', 'b'] as const) {
    const path = k === 'a' ? g.repoA : g.repoB;
    const [row] = await g.record.db
      .select({ id: schema.repos.id })
      .from(schema.repos)
      .where(eq(schema.repos.path, path));
    repoIds[k] = row!.id;
    const c = await g.call('POST', '/v1/campaigns', DEV, {
      title: `matrix ${k}`,
      description: 'matrix',
      repos: [repoIds[k]],
    });
    if (c.status !== 201) throw new Error(`campaign: ${await c.text()}`);
    campaigns[k] = ((await c.json()) as { campaign: { id: string } }).campaign.id;
  }
  const stray = await g.mesh.js.publish('cm.evt.stray', 'not an event');
  letters.noTask = await deadLetter(g.mesh.js, {
    consumer: 'recorder',
    seq: stray.seq,
    deliveries: 1,
    reason: 'not a valid event',
    payload: 'not an event',
  });
  const now = Math.floor(Date.now() / 1000);
  const alice = await g.jwt('alice');
  const pat = (await (
    await g.call('POST', '/v1/tokens', alice, {
      name: 'ci',
      scopes: ['tasks:read', 'tasks:write', 'patches:approve', 'traces:read'],
    })
  ).json()) as { token: string; id: string };
  const revoked = await g.call('DELETE', `/v1/tokens/${pat.id}`, alice);
  expect(revoked.status).toBe(200);
  const bobPat = (await (
    await g.call('POST', '/v1/tokens', await g.jwt('bob'), { name: 'bob-ci', scopes: ['tasks:read'] })
  ).json()) as { token: string; id: string };
  bobPatId = bobPat.id;
  tokens = {
    alice,
    expired: await g.jwt('alice', { iat: now - 1200, exp: now - 600 }),
    badSignature: await g.jwt('alice', { key: 'other' }),
    wrongIssuer: await g.jwt('alice', { iss: 'https://evil.example' }),
    wrongAudience: await g.jwt('alice', { aud: 'someone-else' }),
    tooLongLived: await g.jwt('alice', { iat: now, exp: now + 24 * 3600 }),
    // Signed with the right HS256 secret, but minted for someone else.
    hsForeignIssuer: await g.jwt('alice', { key: 'hs256', iss: 'https://other-service', aud: 'codemesh' }),
    hsForeignAudience: await g.jwt('alice', { key: 'hs256', iss: 'codemesh', aud: 'other-api' }),
    noScopes: await g.jwt('alice', { scopes: [] }),
    revokedPat: pat.token,
    garbage: 'cmp_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  };
});
afterAll(async () => g?.stop());

interface Endpoint {
  name: string;
  scope?: Scope;
  /** Request for the caller's own resources and for another org's. */
  own: () => [string, string, unknown?];
  other?: () => [string, string, unknown?];
  /** The other-org case answers 200 but must hold nothing of the other org (lists). */
  otherIsFiltered?: boolean;
  /** What a filtered answer must hold of the caller's own (default: alice's task id). */
  ownMarker?: () => string;
  otherStatus?: number[];
}

/** Another org's resource by id: the caller may not even view it, so it answers as a missing one. */
const NOT_VISIBLE = [404];

const E = (): Endpoint[] => [
  {
    name: 'POST /v1/tasks',
    scope: 'tasks:write',
    own: () => ['POST', '/v1/tasks', { repo: g.repoA, title: 'x' }],
    other: () => ['POST', '/v1/tasks', { repo: g.repoB, title: 'x' }],
  },
  {
    name: 'GET /v1/tasks',
    scope: 'tasks:read',
    own: () => ['GET', '/v1/tasks'],
    other: () => ['GET', '/v1/tasks?limit=100'],
    otherIsFiltered: true,
  },
  {
    name: 'GET /v1/tasks/{id}',
    scope: 'tasks:read',
    own: () => ['GET', `/v1/tasks/${g.taskA}`],
    other: () => ['GET', `/v1/tasks/${g.taskB}`],
    otherStatus: NOT_VISIBLE,
  },
  {
    name: 'GET /v1/tasks/{id}/events',
    scope: 'tasks:read',
    own: () => ['GET', `/v1/tasks/${g.taskA}/events`],
    other: () => ['GET', `/v1/tasks/${g.taskB}/events`],
    otherStatus: NOT_VISIBLE,
  },
  {
    name: 'GET /v1/tasks/{id}/plan',
    scope: 'tasks:read',
    own: () => ['GET', `/v1/tasks/${g.taskA}/plan`],
    other: () => ['GET', `/v1/tasks/${g.taskB}/plan`],
    otherStatus: NOT_VISIBLE,
  },
  {
    name: 'POST /v1/tasks/{id}/plan/approve',
    scope: 'patches:approve',
    own: () => ['POST', `/v1/tasks/${g.taskA}/plan/approve`, { decision: 'approve' }],
    other: () => ['POST', `/v1/tasks/${g.taskB}/plan/approve`, { decision: 'reject', comment: 'matrix' }],
    otherStatus: NOT_VISIBLE,
  },
  {
    name: 'GET /v1/tasks/{id}/budget',
    scope: 'tasks:read',
    own: () => ['GET', `/v1/tasks/${g.taskA}/budget`],
    other: () => ['GET', `/v1/tasks/${g.taskB}/budget`],
    otherStatus: NOT_VISIBLE,
  },
  {
    name: 'POST /v1/tasks/{id}/budget',
    scope: 'patches:approve',
    own: () => ['POST', `/v1/tasks/${g.taskA}/budget`, { action: 'stop' }],
    other: () => ['POST', `/v1/tasks/${g.taskB}/budget`, { action: 'stop', comment: 'matrix' }],
    otherStatus: NOT_VISIBLE,
  },
  {
    name: 'POST /v1/repos',
    scope: 'config:write',
    own: () => ['POST', '/v1/repos', { org: 'org-a', path: g.repoA }],
    other: () => ['POST', '/v1/repos', { org: 'org-b', path: '/tmp' }],
  },
  {
    name: 'POST /v1/repos/index',
    scope: 'repos:index',
    own: () => ['POST', '/v1/repos/index', { repo: g.repoA }],
    other: () => ['POST', '/v1/repos/index', { repo: g.repoB }],
  },
  {
    name: 'GET /v1/patches/{id}',
    scope: 'tasks:read',
    own: () => ['GET', `/v1/patches/${g.taskA}-p1`],
    other: () => ['GET', `/v1/patches/${g.taskB}-p1`],
    otherStatus: NOT_VISIBLE,
  },
  {
    name: 'POST /v1/patches/{id}/approve',
    scope: 'patches:approve',
    own: () => [
      'POST',
      `/v1/patches/${g.taskA}-p1/approve`,
      { decision: 'request_changes', comment: 'matrix' },
    ],
    other: () => ['POST', `/v1/patches/${g.taskB}-p1/approve`, { decision: 'approve' }],
    otherStatus: NOT_VISIBLE,
  },
  {
    name: 'POST /v1/patches/{id}/rollback',
    scope: 'patches:approve',
    own: () => ['POST', `/v1/patches/${g.taskA}-p1/rollback`, {}],
    other: () => ['POST', `/v1/patches/${g.taskB}-p1/rollback`, {}],
    otherStatus: NOT_VISIBLE,
  },
  {
    name: 'POST /v1/config/models',
    scope: 'config:write',
    own: () => ['POST', '/v1/config/models', { org: 'org-a', roles: { coder: { model: 'm' } } }],
    other: () => ['POST', '/v1/config/models', { org: 'org-b', roles: { coder: { model: 'x' } } }],
  },
  {
    name: 'GET /v1/config/models',
    scope: 'config:write',
    own: () => ['GET', '/v1/config/models?org=org-a'],
    other: () => ['GET', '/v1/config/models?org=org-b'],
  },
  { name: 'GET /v1/metrics', scope: 'metrics:read', own: () => ['GET', '/v1/metrics'] },
  {
    name: 'GET /v1/deadletters',
    scope: 'metrics:read',
    own: () => ['GET', '/v1/deadletters'],
    other: () => ['GET', '/v1/deadletters?limit=100'],
    otherIsFiltered: true,
  },
  {
    name: 'POST /v1/deadletters/{seq}/redrive',
    scope: 'config:write',
    own: () => ['POST', `/v1/deadletters/${letters.a}/redrive`],
    other: () => ['POST', `/v1/deadletters/${letters.b}/redrive`],
    otherStatus: NOT_VISIBLE,
  },
  {
    name: 'GET /v1/traces/{id}',
    scope: 'traces:read',
    own: () => ['GET', `/v1/traces/${g.taskA}`],
    other: () => ['GET', `/v1/traces/${g.taskB}`],
    otherStatus: NOT_VISIBLE,
  },
  {
    name: 'POST /v1/chat/{id}',
    scope: 'tasks:write',
    own: () => ['POST', `/v1/chat/${g.taskA}`, { message: 'status?' }],
    other: () => ['POST', `/v1/chat/${g.taskB}`, { message: 'status?' }],
    otherStatus: NOT_VISIBLE,
  },
  {
    name: 'PUT /v1/orgs/{org}/members/{user}',
    scope: 'config:write',
    own: () => ['PUT', `/v1/orgs/org-a/members/${g.userId('alice')}`, { role: 'admin' }],
    other: () => ['PUT', `/v1/orgs/org-b/members/${g.userId('alice')}`, { role: 'admin' }],
  },
  {
    name: 'POST /v1/orgs',
    scope: 'config:write',
    own: () => ['POST', '/v1/orgs', { name: 'org-c' }],
    other: () => ['POST', '/v1/orgs', { name: 'org-d' }],
  },
  {
    name: 'GET /v1/repos',
    scope: 'tasks:read',
    own: () => ['GET', '/v1/repos'],
    other: () => ['GET', '/v1/repos'],
    otherIsFiltered: true,
    ownMarker: () => repoIds.a,
  },
  {
    name: 'PUT /v1/repos/{id}/config',
    scope: 'config:write',
    own: () => ['PUT', `/v1/repos/${repoIds.a}/config`, { test: { timeoutSec: 60 } }],
    other: () => ['PUT', `/v1/repos/${repoIds.b}/config`, { test: { timeoutSec: 60 } }],
    otherStatus: NOT_VISIBLE,
  },
  {
    name: 'GET /v1/metrics/calibration',
    scope: 'metrics:read',
    own: () => ['GET', '/v1/metrics/calibration'],
  },
  // An event stream: only refused requests are sent here (what alice sees on it: gateway/routes/board.int.test.ts).
  { name: 'GET /v1/board/events', scope: 'tasks:read', own: () => ['GET', '/v1/board/events'] },
  {
    name: 'POST /v1/campaigns',
    scope: 'tasks:write',
    own: () => ['POST', '/v1/campaigns', { title: 'x', description: 'x', repos: [repoIds.a] }],
    other: () => ['POST', '/v1/campaigns', { title: 'x', description: 'x', repos: [repoIds.b] }],
  },
  {
    name: 'GET /v1/campaigns',
    scope: 'tasks:read',
    own: () => ['GET', '/v1/campaigns'],
    other: () => ['GET', '/v1/campaigns?limit=100'],
    otherIsFiltered: true,
    ownMarker: () => campaigns.a,
  },
  {
    name: 'GET /v1/campaigns/{id}',
    scope: 'tasks:read',
    own: () => ['GET', `/v1/campaigns/${campaigns.a}`],
    other: () => ['GET', `/v1/campaigns/${campaigns.b}`],
    otherStatus: NOT_VISIBLE,
  },
  ...(['pause', 'resume', 'cancel'] as const).map(
    (action): Endpoint => ({
      name: `POST /v1/campaigns/{id}/${action}`,
      scope: 'tasks:write',
      own: () => ['POST', `/v1/campaigns/${campaigns.a}/${action}`],
      other: () => ['POST', `/v1/campaigns/${campaigns.b}/${action}`],
      otherStatus: NOT_VISIBLE,
    }),
  ),
  {
    name: 'POST /v1/campaigns/{id}/repos/{repoId}/retry',
    scope: 'tasks:write',
    own: () => ['POST', `/v1/campaigns/${campaigns.a}/repos/${repoIds.a}/retry`],
    other: () => ['POST', `/v1/campaigns/${campaigns.b}/repos/${repoIds.b}/retry`],
    otherStatus: NOT_VISIBLE,
  },
  {
    name: 'GET /v1/campaigns/{id}/events',
    scope: 'tasks:read',
    own: () => ['GET', `/v1/campaigns/${campaigns.a}/events`],
    other: () => ['GET', `/v1/campaigns/${campaigns.b}/events`],
    otherStatus: NOT_VISIBLE,
  },
  {
    name: 'GET /v1/config/policy',
    scope: 'config:write',
    own: () => ['GET', '/v1/config/policy?org=org-a'],
    other: () => ['GET', '/v1/config/policy?org=org-b'],
  },
  {
    name: 'PUT /v1/config/policy',
    scope: 'config:write',
    own: () => ['PUT', '/v1/config/policy', { org: 'org-a', yaml: null }],
    other: () => ['PUT', '/v1/config/policy', { org: 'org-b', yaml: null }],
  },
  {
    name: 'GET /v1/config/policy/versions',
    scope: 'config:write',
    own: () => ['GET', '/v1/config/policy/versions?org=org-a'],
    other: () => ['GET', '/v1/config/policy/versions?org=org-b'],
  },
  {
    name: 'POST /v1/config/policy/restore',
    scope: 'config:write',
    own: () => ['POST', '/v1/config/policy/restore', { org: 'org-a', revision: 1 }],
    other: () => ['POST', '/v1/config/policy/restore', { org: 'org-b', revision: 1 }],
  },
  { name: 'GET /v1/tokens', own: () => ['GET', '/v1/tokens'] },
  { name: 'POST /v1/tokens', own: () => ['POST', '/v1/tokens', { name: 'x', scopes: ['tasks:read'] }] },
  {
    name: 'DELETE /v1/tokens/{id}',
    own: () => ['DELETE', '/v1/tokens/000000000000'],
    other: () => ['DELETE', `/v1/tokens/${bobPatId}`],
    otherStatus: [403, 404],
  },
];

/** Strings of org-b's task that must never reach alice. */
const secretsOfB = () => [g.taskB, g.repoB, 'py-calc', 'calc.ts\n+++', campaigns.b];

/**
 * Routes of the gateway under /v1 that are not bearer-authenticated, so not in the matrix: GitHub's webhook
 * (its HMAC signature; gateway/routes/webhooks.test.ts, test/security/tenancy-surfaces.int.test.ts).
 */
const NOT_IN_MATRIX = new Set(['POST /v1/webhooks/github']);

async function expectDenied(res: Response, statuses: number[], leaks: string[]) {
  const text = await res.text();
  expect(statuses, `${res.status} ${text.slice(0, 200)}`).toContain(res.status);
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  const body = JSON.parse(text) as { error: { code: string; message: string } };
  expect(body.error.code).toMatch(/^[A-Z_]+$/);
  for (const s of leaks) expect(text).not.toContain(s);
}

describe('authorization matrix', () => {
  const cases: Array<[string, number[]]> = [
    ['none', [401]],
    ['expired', [401]],
    ['badSignature', [401]],
    ['wrongIssuer', [401]],
    ['wrongAudience', [401]],
    ['tooLongLived', [401]],
    ['hsForeignIssuer', [401]],
    ['hsForeignAudience', [401]],
    ['revokedPat', [401]],
    ['garbage', [401]],
  ];
  it.each(E().map((e) => [e.name]))(
    '%s: bad tokens → 401, wrong scope → 403, other org → 403 (404 for an id it may not view)',
    async (name) => {
      const e = E().find((x) => x.name === name)!;
      const [m, path, body] = e.own();
      for (const [label, statuses] of cases) {
        const res = await g.call(m, path, label === 'none' ? undefined : tokens[label], body);
        if (res.status !== 401) throw new Error(`${name} with ${label}: ${res.status} ${await res.text()}`);
        await expectDenied(res, statuses, [g.repoA, g.taskA === path ? '' : 'Fix subtract'].filter(Boolean));
        expect(res.headers.get('www-authenticate')).toMatch(/Bearer/);
      }
      if (e.scope) await expectDenied(await g.call(m, path, tokens.noScopes, body), [403], ['Fix subtract']);
      if (e.other) {
        const [om, opath, obody] = e.other();
        const res = await g.call(om, opath, tokens.alice, obody);
        if (e.otherIsFiltered) {
          expect(res.status).toBe(200);
          const text = await res.text();
          for (const s of secretsOfB()) expect(text).not.toContain(s);
          expect(text).toContain(e.ownMarker?.() ?? g.taskA);
        } else {
          await expectDenied(res, e.otherStatus ?? [403], secretsOfB());
        }
      }
    },
  );

  it('every /v1 route of the gateway is in the matrix (a new route cannot skip it)', () => {
    const routes = new Set(
      g.app.routes
        .filter((r) => r.method !== 'ALL' && r.path.startsWith('/v1/'))
        .map((r) => `${r.method} ${r.path.replace(/:([A-Za-z]+)/g, '{$1}')}`),
    );
    const inMatrix = new Set(E().map((e) => e.name));
    const missing = [...routes].filter((r) => !inMatrix.has(r) && !NOT_IN_MATRIX.has(r));
    expect(missing).toEqual([]);
    // And the matrix names no route the gateway does not have (a renamed route).
    expect([...inMatrix].filter((n) => !routes.has(n))).toEqual([]);
    expect(routes.size).toBeGreaterThan(40);
  });

  it('HS256 tokens with the expected issuer and audience are accepted (default `codemesh`)', async () => {
    const hs = await g.jwt('alice', { key: 'hs256', iss: 'codemesh', aud: 'codemesh' });
    const res = await g.call('GET', '/v1/tokens', hs);
    expect(res.status, await res.text()).toBe(200);
    const noIss = await g.jwt('alice', { key: 'hs256', iss: '', aud: 'codemesh' });
    expect((await g.call('GET', '/v1/tokens', noIss)).status).toBe(401);
  });

  it('chat needs tasks:write: a read-only token reads the task but cannot post to its thread', async () => {
    const reader = await g.jwt('alice', { scopes: ['tasks:read'] });
    expect((await g.call('GET', `/v1/tasks/${g.taskA}`, reader)).status).toBe(200);
    const res = await g.call('POST', `/v1/chat/${g.taskA}`, reader, { message: 'status?' });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('INSUFFICIENT_SCOPE');
    const writer = await g.jwt('alice', { scopes: ['tasks:read', 'tasks:write'] });
    expect((await g.call('POST', `/v1/chat/${g.taskA}`, writer, { message: 'status?' })).status).toBe(200);
  });

  it('the same tokens are accepted where they should be (the matrix can fail)', async () => {
    expect((await g.call('GET', `/v1/tasks/${g.taskA}`, tokens.alice)).status).toBe(200);
    expect((await g.call('GET', `/v1/tasks/${g.taskB}`, await g.jwt('bob'))).status).toBe(200);
    expect((await g.call('GET', `/v1/traces/${g.taskA}`, tokens.alice)).status).toBe(200);
    expect((await g.call('GET', '/v1/metrics', tokens.alice)).status).toBe(200);
    expect((await g.call('GET', `/v1/tasks/${g.taskB}`, DEV)).status).toBe(200);
    // Bob's PAT survived alice's attempt to revoke it.
    const list = await g.call(
      'GET',
      '/v1/tasks',
      (
        (await (
          await g.call('POST', '/v1/tokens', await g.jwt('bob'), { name: 'b2', scopes: ['tasks:read'] })
        ).json()) as { token: string }
      ).token,
    );
    expect(list.status).toBe(200);
    const bobList = (await (await g.call('GET', '/v1/tokens', await g.jwt('bob'))).json()) as {
      items: Array<{ id: string; revokedAt: string | null }>;
    };
    expect(bobList.items.find((t) => t.id === bobPatId)?.revokedAt).toBeNull();
  });

  it('roles: a viewer reads but cannot approve; a repo role overrides the org role', async () => {
    const carolId = g.userId('carol');
    const carol = await g.jwt('carol');
    // No role yet: the task answers as a missing one.
    expect((await g.call('GET', `/v1/tasks/${g.taskA}`, carol)).status).toBe(404);
    expect(
      (await g.call('PUT', `/v1/orgs/org-a/members/${carolId}`, tokens.alice, { role: 'viewer' })).status,
    ).toBe(200);
    expect((await g.call('GET', `/v1/tasks/${g.taskA}`, carol)).status).toBe(200);
    const approve = await g.call('POST', `/v1/patches/${g.taskA}-p1/approve`, carol, { decision: 'approve' });
    expect(approve.status).toBe(403);
    expect((await g.call('POST', '/v1/tasks', carol, { repo: g.repoA, title: 'x' })).status).toBe(403);
    const [repoRow] = await g.record.db
      .select({ id: schema.repos.id })
      .from(schema.repos)
      .where(eq(schema.repos.path, g.repoA));
    const repoAId = repoRow!.id;
    expect(
      (
        await g.call('PUT', `/v1/orgs/org-a/members/${carolId}`, tokens.alice, {
          role: 'approver',
          repo: repoAId,
        })
      ).status,
    ).toBe(200);
    const ok = await g.call('POST', `/v1/patches/${g.taskA}-p1/approve`, carol, {
      decision: 'approve',
      comment: 'lgtm',
    });
    expect(ok.status).toBe(202);
    const audit = await g.record.db
      .select({
        actor: schema.auditLog.actor,
        action: schema.auditLog.action,
        target: schema.auditLog.target,
      })
      .from(schema.auditLog)
      .where(eq(schema.auditLog.action, 'patch.approve'));
    expect(audit).toEqual([{ actor: carolId, action: 'patch.approve', target: `${g.taskA}-p1` }]);
  });
});

describe('re-driving dead letters', () => {
  const codeOf = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

  it('an org admin re-drives a letter of its task (audited, once); others and unknown letters are refused', async () => {
    const alice = await g.jwt('alice');
    // Viewers and developers of the task are not enough, nor is admin of the org for a letter naming no task.
    const carol = await g.jwt('carol');
    expect((await g.call('POST', `/v1/deadletters/${letters.a}/redrive`, carol)).status).toBe(403);
    // A letter naming no task is the instance admin's: alice may not view it, so it answers as a missing one.
    const stray = await g.call('POST', `/v1/deadletters/${letters.noTask}/redrive`, alice);
    expect(stray.status).toBe(404);
    expect(await codeOf(stray)).toBe('DEAD_LETTER_NOT_FOUND');
    for (const bad of ['0', '-1', 'abc', '1e3', '99999999999999999'])
      expect((await g.call('POST', `/v1/deadletters/${bad}/redrive`, alice)).status, bad).toBe(400);
    const unknown = await g.call('POST', '/v1/deadletters/999999/redrive', alice);
    expect(unknown.status).toBe(404);
    expect(await codeOf(unknown)).toBe('DEAD_LETTER_NOT_FOUND');

    const [original] = await g.mesh.bus.history(g.taskA);
    const res = await g.call('POST', `/v1/deadletters/${letters.a}/redrive`, alice);
    expect(res.status, await res.clone().text()).toBe(200);
    const { redriven } = (await res.json()) as { redriven: Record<string, unknown> };
    expect(redriven).toMatchObject({
      dlqSeq: letters.a,
      consumer: 'recorder',
      originalSeq: original!.seq,
      eventId: original!.event.id,
      taskId: g.taskA,
      subject: `cm.evt.${g.taskA}`,
      duplicate: false,
    });
    // The same message, byte for byte, on its subject again, marked as the re-drive of the original; the
    // letter is gone from the list and the stream.
    const again = (await g.mesh.bus.history(g.taskA, { repeats: true })).find((e) => e.seq === redriven.seq);
    expect(again?.event).toEqual(original!.event);
    const copy = await g.mesh.jsm.streams.getMessage('CODEMESH_EVENTS', { seq: redriven.seq as number });
    expect(copy?.header.get('Codemesh-Redrive-Of')).toBe(String(original!.seq));
    // The task's event log shows each event once: the history, the SSE replay, and a resumed SSE stream.
    const marker = await g.mesh.bus.publish({
      id: `${g.taskA}:memory-after-redrive`,
      taskId: g.taskA,
      type: 'memory.stored',
      at: new Date().toISOString(),
    });
    const logIds = (await g.mesh.bus.history(g.taskA)).map((e) => e.event.id);
    expect(logIds.filter((id) => id === original!.event.id)).toHaveLength(1);
    expect(new Set(logIds).size).toBe(logIds.length);
    const replay = await readSse(
      await g.call('GET', `/v1/tasks/${g.taskA}/events`, alice),
      (e) => e.id === marker.event.id,
    );
    expect(replay.filter((e) => e.event.id === original!.event.id).map((e) => e.id)).toEqual([original!.seq]);
    const resumed = await readSse(
      await g.call('GET', `/v1/tasks/${g.taskA}/events?after=${original!.seq}`, alice),
      (e) => e.id === marker.event.id,
    );
    expect(resumed.map((e) => e.id)).not.toContain(redriven.seq);
    expect(resumed.at(-1)?.id).toBe(marker.seq);
    const list = (await (await g.call('GET', '/v1/deadletters?limit=100', DEV)).json()) as {
      items: Array<{ dlqSeq: number }>;
    };
    expect(list.items.map((l) => l.dlqSeq)).not.toContain(letters.a);
    expect(list.items.map((l) => l.dlqSeq)).toContain(letters.b);
    const twice = await g.call('POST', `/v1/deadletters/${letters.a}/redrive`, alice);
    expect(twice.status).toBe(404);

    const audit = await g.record.db
      .select({
        actor: schema.auditLog.actor,
        target: schema.auditLog.target,
        orgId: schema.auditLog.orgId,
      })
      .from(schema.auditLog)
      .where(eq(schema.auditLog.action, 'deadletter.redrive'));
    expect(audit).toEqual([{ actor: g.userId('alice'), target: String(letters.a), orgId: 'org-a' }]);

    // The instance admin re-drives any letter, those naming no task included.
    expect((await g.call('POST', `/v1/deadletters/${letters.noTask}/redrive`, DEV)).status).toBe(200);
  });

  it("a conductor's letter of a task that has ended → 409 DEAD_LETTER_TASK_ENDED, nothing published, the letter kept", async () => {
    const alice = await g.jwt('alice');
    const id = 't-ended0000001';
    await seedTask(g.mesh, { id, repoPath: g.repoA, status: 'failed' });
    const [first] = await g.mesh.bus.history(id);
    const dlqSeq = await deadLetter(g.mesh.js, {
      consumer: 'conductor',
      seq: first!.seq,
      deliveries: 6,
      reason: 'Error: the conductor could not apply it',
      eventId: first!.event.id,
      taskId: id,
      type: first!.event.type,
      payload: JSON.stringify(first!.event),
    });
    const before = (await g.mesh.bus.history(id, { repeats: true })).length;
    const res = await g.call('POST', `/v1/deadletters/${dlqSeq}/redrive`, alice);
    expect(res.status).toBe(409);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('DEAD_LETTER_TASK_ENDED');
    expect(body.error.message).toContain(`its task ${id} has ended (failed)`);
    expect((await g.mesh.bus.history(id, { repeats: true })).length).toBe(before);
    const list = (await (await g.call('GET', '/v1/deadletters?limit=100', DEV)).json()) as {
      items: Array<{ dlqSeq: number }>;
    };
    expect(list.items.map((l) => l.dlqSeq)).toContain(dlqSeq);
  });
});

describe('repository roots and one org per path', () => {
  const codeOf = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

  it("an org admin cannot register codemesh's own tree, the state dir, or a path outside the roots", async () => {
    const alice = await g.jwt('alice');
    // codemesh's own checkout is a git repository outside the configured root.
    const own = await g.call('POST', '/v1/repos', alice, { org: 'org-a', path: CODEMESH_ROOT });
    expect(own.status).toBe(403);
    expect(await codeOf(own)).toBe('REPO_PATH_REFUSED');
    // A left-over work dir under the state dir (a git repository, inside the root) is refused too.
    const left = join(g.stateDir, 'work', 'leftover');
    mkdirSync(left, { recursive: true });
    execFileSync('git', ['init', '-q', left]);
    const inState = await g.call('POST', '/v1/repos', alice, { org: 'org-a', path: left });
    expect(inState.status).toBe(403);
    expect(await codeOf(inState)).toBe('REPO_PATH_REFUSED');
    // Nor through the on-the-fly registration of POST /v1/tasks, superuser included.
    for (const [token, org] of [
      [alice, 'org-a'],
      [DEV, 'default'],
    ] as const) {
      const t = await g.call('POST', '/v1/tasks', token, { repo: left, title: 'x', org });
      expect(t.status).toBe(403);
      expect(await codeOf(t)).toBe('REPO_PATH_REFUSED');
      const own2 = await g.call('POST', '/v1/tasks', token, { repo: CODEMESH_ROOT, title: 'x', org });
      expect(own2.status).toBe(403);
    }
    const repos = await g.record.db.select({ path: schema.repos.path }).from(schema.repos);
    expect(repos.map((r) => r.path)).not.toContain(CODEMESH_ROOT);
    expect(repos.some((r) => r.path.startsWith(g.stateDir))).toBe(false);
  });

  it('a path belongs to one org: another org registering the same real path (via a symlink) → 409', async () => {
    const bob = await g.jwt('bob');
    const link = join(mkdtempSync(join(g.repoRoot, 'codemesh-link-')), 'alias');
    symlinkSync(g.repoA, link);
    const res = await g.call('POST', '/v1/repos', bob, { org: 'org-b', path: link });
    expect(res.status).toBe(409);
    expect(await codeOf(res)).toBe('REPO_EXISTS');
    // And a task through the alias is not run in org-b's name.
    const t = await g.call('POST', '/v1/tasks', bob, { repo: link, title: 'x', org: 'org-b' });
    expect(t.status).toBe(403);
  });

  it('inside the roots an org admin registers a new repository (the roots can pass)', async () => {
    const fresh = makeFixtureRepo('py-calc', mkdtempSync(join(g.repoRoot, 'codemesh-fx-')));
    const res = await g.call('POST', '/v1/repos', await g.jwt('alice'), { org: 'org-a', path: fresh });
    expect(res.status, await res.clone().text()).toBe(201);
  });
});

describe('unsafe text: NUL bytes and lone surrogates', () => {
  it('→ 400 INVALID_TEXT on every body, and no task is created or run', async () => {
    const before = (await g.mesh.board.keys('task.>')).length;
    const rows = async () => (await g.record.db.select({ id: schema.tasks.id }).from(schema.tasks)).length;
    const beforeRows = await rows();
    for (const body of [
      { repo: g.repoA, title: 'nul \u0000 here' },
      { repo: g.repoA, title: 'ok', description: 'lone \ud800 surrogate' },
      { repo: g.repoA, title: 'ok', description: 'low \udc00 first' },
    ]) {
      // JSON.stringify writes NUL and lone surrogates as \u escapes, as a hostile client sends them.
      const raw = JSON.stringify(body);
      const res = await g.call('POST', '/v1/tasks', DEV, raw);
      expect(res.status, raw).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('INVALID_TEXT');
    }
    for (const [path, body] of [
      [`/v1/chat/${g.taskA}`, { message: 'a\u0000b' }],
      [`/v1/patches/${g.taskA}-p1/approve`, { decision: 'request_changes', comment: '\ud83d' }],
      ['/v1/tokens', { name: 'x\u0000', scopes: ['tasks:read'] }],
      ['/v1/repos', { org: 'org-a', path: `${g.repoA}\u0000` }],
    ] as const) {
      const res = await g.call('POST', path, DEV, body);
      expect(res.status, path).toBe(400);
    }
    expect((await g.mesh.board.keys('task.>')).length).toBe(before);
    expect(await rows()).toBe(beforeRows);
    // Well-formed non-ASCII text (an emoji: a surrogate pair) is fine.
    const ok = await g.call('POST', '/v1/tasks', DEV, { repo: g.repoA, title: 'Fix 😀 rendering' });
    expect(ok.status, await ok.clone().text()).toBe(201);
  });
});
