// Thousands of generated bad requests (bodies, headers, ids, queries): every answer is 4xx JSON (or a valid
// 2xx), never 5xx, and the gateway stays healthy.
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEV, startTestGateway, type TestGateway } from './test-setup.ts';

let g: TestGateway;
beforeAll(async () => {
  g = await startTestGateway({ limits: { ratePerSec: 1e9, burst: 1e9, maxBodyBytes: 64_000 } });
});
afterAll(async () => g?.stop());

const id = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.constantFrom(
    't-',
    't-abc',
    't-aaaaaa000001-p0',
    '..',
    '%2e%2e',
    't-zzzzzzzz',
    't-ABCDEF12',
    '0',
    '-1',
    'null',
  ),
  fc.stringMatching(/^t-[a-z0-9]{6,12}(-p\d{1,3})?$/),
);
const seg = id.map((s) => encodeURIComponent(s));
const path = fc.oneof(
  seg.map((s) => `/v1/tasks/${s}`),
  seg.map((s) => `/v1/tasks/${s}/events?after=${s}`),
  seg.map((s) => `/v1/patches/${s}`),
  seg.map((s) => `/v1/patches/${s}/approve`),
  seg.map((s) => `/v1/tasks/${s}/plan`),
  seg.map((s) => `/v1/tasks/${s}/plan/approve`),
  seg.map((s) => `/v1/patches/${s}/rollback`),
  seg.map((s) => `/v1/traces/${s}`),
  seg.map((s) => `/v1/chat/${s}`),
  seg.map((s) => `/v1/tokens/${s}`),
  seg.map((s) => `/v1/orgs/${s}/members/${s}`),
  seg.map((s) => `/v1/deadletters/${s}/redrive`),
  fc
    .tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }))
    .map(([a, b]) => `/v1/tasks?limit=${encodeURIComponent(a)}&cursor=${encodeURIComponent(b)}`),
  fc.constantFrom(
    '/v1/tasks',
    '/v1/repos',
    '/v1/repos/index',
    '/v1/config/models',
    '/v1/config/models?org=%00',
    '/v1/orgs',
    '/v1/tokens',
    '/v1/metrics',
    '/v1/deadletters',
    '/v1/deadletters?limit=0&before=-1',
    '/v1/nope',
    '/',
  ),
);
const jsonish = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc
    .record(
      {
        repo: fc.oneof(fc.string(), fc.integer(), fc.constant('/nonexistent/repo')),
        title: fc.oneof(fc.string({ maxLength: 400 }), fc.constant(null)),
        decision: fc.oneof(fc.constantFrom('approve', 'request_changes'), fc.string()),
        org: fc.oneof(fc.string({ maxLength: 80 }), fc.constant('org-b')),
        roles: fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 })),
        message: fc.string({ maxLength: 50 }),
        scopes: fc.array(fc.string({ maxLength: 15 }), { maxLength: 4 }),
        name: fc.string({ maxLength: 120 }),
        budget: fc.jsonValue({ maxDepth: 2 }),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
  fc.constant('{"repo": "x", "title": "a", "approve": "auto", "budget": {"maxAttempts": 1e309}}'),
);
const auth = fc.oneof(
  { arbitrary: fc.constant(`Bearer ${DEV}`), weight: 12 },
  fc.string({ maxLength: 80 }).map((s) => `Bearer ${s}`),
  fc.constantFrom(
    'Bearer',
    'Basic abc',
    `bearer  ${DEV}`,
    'Bearer eyJ.eyJ.sig',
    'Bearer cmp_aaaaaaaaaaaa_bbbb',
    'Bearer a.b.c',
  ),
  fc.stringMatching(/^[\x21-\x7e]{0,40}$/),
);
const request = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
  path,
  body: fc.option(jsonish, { nil: undefined }),
  auth: fc.option(auth, { nil: undefined, freq: 10 }),
  contentType: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', ''),
  lastEventId: fc.option(fc.string({ maxLength: 30 }), { nil: undefined }),
});

it('never answers 5xx to 3000 generated requests, 4xx are JSON, and stays healthy', async () => {
  const seen = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(request, async (r) => {
      const headers: Record<string, string> = {};
      if (r.auth !== undefined) headers.authorization = r.auth;
      if (r.contentType) headers['content-type'] = r.contentType;
      if (r.lastEventId !== undefined) headers['last-event-id'] = r.lastEventId.replace(/[\r\n]/g, '');
      const hasBody = r.body !== undefined && r.method !== 'GET';
      const res = await g.app.request(r.path, {
        method: r.method,
        headers,
        ...(hasBody ? { body: r.body } : {}),
      });
      seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
      if (res.headers.get('content-type')?.includes('text/event-stream')) {
        await res.body?.cancel();
        return res.status === 200;
      }
      const text = await res.text();
      if (res.status >= 500) throw new Error(`${r.method} ${r.path} → ${res.status} ${text.slice(0, 300)}`);
      if (res.status >= 400) {
        expect(res.headers.get('content-type')).toMatch(/application\/json/);
        expect((JSON.parse(text) as { error: { code: string } }).error.code).toMatch(/^[A-Z0-9_]+$/);
      }
      return true;
    }),
    { numRuns: 3000, seed: 20261125 },
  );
  // The generated mix reached past authentication into validation and the routes, not only 401s.
  for (const s of [400, 401, 403, 404])
    expect(seen.get(s) ?? 0, JSON.stringify(Object.fromEntries(seen))).toBeGreaterThan(10);
  expect(3000 - (seen.get(401) ?? 0)).toBeGreaterThan(1500);
  expect((await g.app.request('/healthz')).status).toBe(200);
  expect((await g.call('GET', `/v1/tasks/${g.taskA}`, DEV)).status).toBe(200);
}, 60_000);

it('a body over the limit → 413 JSON (declared or streamed)', async () => {
  const big = JSON.stringify({ repo: g.repoA, title: 'x', description: 'y'.repeat(70_000) });
  const res = await g.call('POST', '/v1/tasks', DEV, big);
  expect(res.status).toBe(413);
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe('BODY_TOO_LARGE');
  const chunked = await g.app.request('/v1/tasks', {
    method: 'POST',
    headers: { authorization: `Bearer ${DEV}`, 'content-type': 'application/json' },
    body: new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(big));
        c.close();
      },
    }),
    duplex: 'half',
  } as RequestInit);
  expect(chunked.status).toBe(413);
});

// Unsafe text anywhere in a body: a NUL byte or a lone surrogate, in any field of any route's body, in keys
// too. Always 400 INVALID_TEXT (never 2xx, never 5xx), and never a task.
const unsafeChar = fc.constantFrom('\u0000', '\ud800', '\udbff', '\udc00', '\udfff', '\ud83d');
const unsafeText = fc
  .tuple(fc.string({ maxLength: 20 }), unsafeChar, fc.string({ maxLength: 20 }))
  .map(([a, u, b]) => a + u + b);
const bodyWithUnsafe = fc
  .tuple(
    fc.constantFrom(
      'repo',
      'title',
      'description',
      'baseRef',
      'org',
      'message',
      'comment',
      'name',
      'path',
      'reason',
      'scopes',
    ),
    unsafeText,
    fc.boolean(),
  )
  .map(([field, text, asKey]) => {
    const body: Record<string, unknown> = {
      repo: g.repoA,
      title: 'fine',
      decision: 'approve',
      scopes: ['tasks:read'],
    };
    if (asKey) body[text] = 'x';
    else body[field] = field === 'scopes' ? [text] : text;
    return body;
  });
const unsafePath = fc.constantFrom(
  '/v1/tasks',
  '/v1/repos',
  '/v1/repos/index',
  '/v1/tokens',
  '/v1/orgs',
  '/v1/config/models',
  `/v1/chat/t-aaaaaa000001`,
  '/v1/patches/t-aaaaaa000001-p1/approve',
  '/v1/patches/t-aaaaaa000001-p1/rollback',
  '/v1/tasks/t-aaaaaa000001/plan/approve',
);

it('a NUL byte or a lone surrogate in any string of any body → 400 INVALID_TEXT, and no task is created', async () => {
  const before = (await g.mesh.board.keys('task.>')).length;
  await fc.assert(
    fc.asyncProperty(unsafePath, bodyWithUnsafe, async (path, body) => {
      const res = await g.call('POST', path, DEV, JSON.stringify(body));
      const text = await res.text();
      if (res.status !== 400)
        throw new Error(`${path} ${JSON.stringify(body)} → ${res.status} ${text.slice(0, 200)}`);
      expect((JSON.parse(text) as { error: { code: string } }).error.code).toBe('INVALID_TEXT');
      return true;
    }),
    { numRuns: 300, seed: 20261202 },
  );
  expect((await g.mesh.board.keys('task.>')).length).toBe(before);
}, 60_000);
