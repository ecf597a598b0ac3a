// A durable consumer across a nats-server crash: killed with SIGKILL and restarted on the same port and store,
// the consumer must take up the events published after the restart within a few seconds. With nats.js's
// default pull expiry (30 s) a consumer could sit out a whole expiry, or two missed heartbeats, before it
// pulled again — the chaos test's tasks once all stood still for 130 s after an outage.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TaskEvent } from '../schemas/index.ts';
import { type KillableNats, startKillableNats } from '../test/nats.ts';
import { consumeEvents } from './bus.ts';
import { connectMesh, type MeshConnection } from './index.ts';

let nats: KillableNats;
let mesh: MeshConnection;
let consumer: { close(): Promise<void> } | undefined;
const handled = new Map<string, number>();
/** From the moment the event is stored to its handling, after a restart: a few pull expiries at most. */
const BOUND_MS = 10_000;

beforeAll(async () => {
  nats = await startKillableNats();
  mesh = await connectMesh({ url: nats.url, name: 'consume-outage' });
});
afterAll(async () => {
  await consumer?.close();
  await mesh?.close();
  await nats?.stop();
});

const event = (taskId: string, n: number) => ({
  id: `${taskId}:outage:${n}`,
  taskId,
  type: 'memory.stored' as const,
  at: new Date().toISOString(),
});

/** Publishes until the restarted server's JetStream takes it; returns when it was stored. */
async function publishWhenBack(e: ReturnType<typeof event>): Promise<number> {
  for (let i = 0; ; i++) {
    try {
      await mesh.bus.publish(e);
      return Date.now();
    } catch (err) {
      if (i > 300) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function handledWithin(id: string, ms: number): Promise<number | undefined> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const at = handled.get(id);
    if (at !== undefined) return at;
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}

it('an event published after nats-server was killed and restarted is handled within a bound', async () => {
  const taskId = 't-outage000001';
  consumer = await consumeEvents(mesh.js, mesh.jsm, 'outage-test', (e: TaskEvent, d) => {
    handled.set(e.id, Date.now());
    d.ack();
  });
  await mesh.bus.publish(event(taskId, 1));
  expect(await handledWithin(`${taskId}:outage:1`, 10_000)).toBeDefined();

  // A crash and a restart on the same port and store.
  await new Promise((r) => setTimeout(r, 1500));
  nats.kill();
  await new Promise((r) => setTimeout(r, 1000));
  await nats.restart();
  await expectHandled(event(taskId, 2));

  // Back, but without JetStream at first (a server still recovering its store): the consumer's check of
  // itself after the reconnect fails, and its next try waits one pull expiry (with jitter: 0.5–1.5 ×).
  nats.kill();
  const reconnected = new Promise<void>((r) => {
    const off = mesh.onReconnect(() => {
      off();
      r();
    });
  });
  const plain = spawn('nats-server', ['-a', '127.0.0.1', '-p', new URL(nats.url).port], { stdio: 'ignore' });
  try {
    await reconnected;
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    plain.kill('SIGKILL');
    await new Promise((r) => plain.once('exit', r));
  }
  await nats.restart();
  await expectHandled(event(taskId, 3));
}, 120_000);

async function expectHandled(e: ReturnType<typeof event>): Promise<void> {
  const t0 = Date.now();
  const stored = await publishWhenBack(e);
  if (process.env.CODEMESH_TEST_VERBOSE) console.log(`${e.id}: stored after ${stored - t0} ms`);
  const at = await handledWithin(e.id, BOUND_MS);
  if (process.env.CODEMESH_TEST_VERBOSE) console.log(`${e.id}: handled after ${at ? at - stored : '-'} ms`);
  expect(at, `${e.id} not handled ${BOUND_MS} ms after it was stored`).toBeDefined();
}
