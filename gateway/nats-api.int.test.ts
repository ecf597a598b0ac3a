// The gateway's API over NATS request/reply (what the chat bridges use): the same app, so the same token,
// scope and role checks as over HTTP; malformed requests and event streams are refused; the reply holds
// neither the token nor anything but the route's own answer.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { NatsGatewayClient } from '../bridge/commands.ts';
import { subjects } from '../schemas/index.ts';
import { serveApiOverNats } from './nats-api.ts';
import { DEV, startTestGateway, type TestGateway } from './test-setup.ts';

let g: TestGateway;
let served: { close(): Promise<void> };
beforeAll(async () => {
  g = await startTestGateway();
  served = serveApiOverNats(g.mesh.nc, g.app);
});
afterAll(async () => {
  await served?.close();
  await g?.stop();
});

const ask = async (req: unknown) =>
  (await g.mesh.nc.request(subjects.api(), JSON.stringify(req), { timeout: 10_000 })).json() as {
    status: number;
    json: { error?: { code: string; message: string }; task?: { id: string } };
  };

it('answers as the HTTP route does, with the caller token checked the same way', async () => {
  const alice = await g.jwt('alice');
  const bob = await g.jwt('bob');
  const client = new NatsGatewayClient(g.mesh.nc);
  const mine = await client.call({ user: 'alice', token: alice }, 'GET', `/v1/tasks/${g.taskA}`);
  expect(mine.status).toBe(200);
  expect((mine.json.task as { id: string }).id).toBe(g.taskA);
  const http = await g.call('GET', `/v1/tasks/${g.taskA}`, alice);
  expect(mine.json).toEqual(await http.json());
  // Another org's task: refused as over HTTP; a bad token: 401.
  expect((await client.call({ user: 'bob', token: bob }, 'GET', `/v1/tasks/${g.taskA}`)).status).toBe(
    (await g.call('GET', `/v1/tasks/${g.taskA}`, bob)).status,
  );
  const bad = await ask({ method: 'GET', path: `/v1/tasks/${g.taskA}`, token: 'not-a-token' });
  expect(bad.status).toBe(401);
  expect(JSON.stringify(bad)).not.toContain('not-a-token');
  // A decision: bob (no role in org-a) is refused as for a missing task, nothing decided.
  const refused = await client.call(
    { user: 'bob', token: bob },
    'POST',
    `/v1/patches/${g.taskA}-p1/approve`,
    {},
  );
  expect(refused.status).toBe(404);
  const after = (await (await g.call('GET', `/v1/tasks/${g.taskA}`, DEV)).json()) as {
    task: { status: string };
  };
  expect(after.task.status).toBe('awaiting_approval');
});

it('refuses what is not an API request, and event streams', async () => {
  for (const req of [
    'text',
    { method: 'GET', path: '/healthz', token: 'x' },
    { method: 'TRACE', path: '/v1/tasks', token: 'x' },
    { method: 'GET', path: '/v1/../etc', token: 'x' },
    { method: 'GET', path: '/v1/tasks', token: 'x', extra: 1 },
    { method: 'GET', path: `/v1/tasks/${g.taskA}/events`, token: DEV },
  ]) {
    const r = await ask(req);
    expect(r.status, JSON.stringify(req)).toBe(400);
    expect(r.json.error?.code).toBe('INVALID_REQUEST');
  }
});
