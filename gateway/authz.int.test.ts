// The authorization matrix: every endpoint × {no token, expired, bad signature, wrong issuer, too long-lived,
// wrong scope, another org's resource, revoked PAT} → 401/403 and nothing of the resource in the answer.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../actors/recorder/index.ts';
import type { Scope } from '../schemas/api.ts';
import { DEV, startTestGateway, type TestGateway } from './test-setup.ts';

let g: TestGateway;
let tokens: Record<string, string>;
let bobPatId: string;
beforeAll(async () => {
  g = await startTestGateway();
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
  otherStatus?: number[];
}

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
  },
  {
    name: 'GET /v1/tasks/{id}/events',
    scope: 'tasks:read',
    own: () => ['GET', `/v1/tasks/${g.taskA}/events`],
    other: () => ['GET', `/v1/tasks/${g.taskB}/events`],
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
  },
  {
    name: 'POST /v1/patches/{id}/rollback',
    scope: 'patches:approve',
    own: () => ['POST', `/v1/patches/${g.taskA}-p1/rollback`, {}],
    other: () => ['POST', `/v1/patches/${g.taskB}-p1/rollback`, {}],
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
    name: 'GET /v1/traces/{id}',
    scope: 'traces:read',
    own: () => ['GET', `/v1/traces/${g.taskA}`],
    other: () => ['GET', `/v1/traces/${g.taskB}`],
  },
  {
    name: 'POST /v1/chat/{id}',
    scope: 'tasks:read',
    own: () => ['POST', `/v1/chat/${g.taskA}`, { message: 'status?' }],
    other: () => ['POST', `/v1/chat/${g.taskB}`, { message: 'status?' }],
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
const secretsOfB = () => [g.taskB, g.repoB, 'py-calc', 'calc.ts\n+++'];

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
    ['revokedPat', [401]],
    ['garbage', [401]],
  ];
  it.each(E().map((e) => [e.name]))(
    '%s: bad tokens → 401, wrong scope → 403, other org → 403',
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
          expect(text).toContain(g.taskA);
        } else {
          await expectDenied(res, e.otherStatus ?? [403], secretsOfB());
        }
      }
    },
  );

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
    expect((await g.call('GET', `/v1/tasks/${g.taskA}`, carol)).status).toBe(403);
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
