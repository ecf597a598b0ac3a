// The conductor gives up on an event (bounded redelivery, then the dead-letter stream): the task it belonged to
// fails with a reason that names the letter, instead of waiting forever for what that event would have started.
import { planningTask } from '../../test/task-record.ts';
import { z } from 'zod';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { listDeadLetters, type MeshConnection } from '../../blackboard/index.ts';
import { keys, subjects, TaskRecord } from '../../schemas/index.ts';
import { type NatsFixture, startNatsFixture } from '../../test/nats.ts';
import { Conductor } from './conductor.ts';

const CONSUMER = 'conductor-dlq-test';
let nats: NatsFixture;
let mesh: MeshConnection;
let conductor: Conductor;
beforeAll(async () => {
  nats = await startNatsFixture();
  mesh = await nats.connect('conductor-dlq');
  conductor = new Conductor(mesh, {
    consumer: CONSUMER,
    redelivery: { maxDeliver: 3, backoffMs: [50, 100] },
    sweepMs: 60_000,
  });
  await conductor.start();
});
afterAll(async () => {
  await conductor?.stop();
  await nats?.stop();
});

async function putTask(id: string): Promise<void> {
  await mesh.board.create(keys.task(id), TaskRecord, planningTask(id));
}

async function ended(id: string): Promise<TaskRecord> {
  const end = Date.now() + 20_000;
  for (;;) {
    const t = (await mesh.board.get(keys.task(id), TaskRecord))?.value;
    if (t?.status === 'failed') return t;
    if (Date.now() > end) throw new Error(`task ${id} is still ${t?.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

it('an event the conductor fails on every time is dead-lettered and fails its task, naming the letter', async () => {
  const id = 't-dlqcond0001';
  await putTask(id);
  // A cost ledger no conductor can read: every handling of the task's events throws.
  await mesh.board.create(keys.cost(id), z.unknown(), { totals: 'not a ledger' });
  await mesh.bus.publish({
    id: `${id}:created`,
    taskId: id,
    type: 'task.created',
    at: new Date().toISOString(),
  });
  const task = await ended(id);
  const [letter] = (await listDeadLetters(mesh.jsm, { limit: 100 })).filter(
    (l) => l.letter.eventId === `${id}:created`,
  );
  expect(letter?.letter).toMatchObject({ consumer: CONSUMER, deliveries: 3, type: 'task.created' });
  expect(task.reason).toContain(`event ${id}:created (task.created) after 3 deliveries`);
  expect(task.reason).toContain(`dead letter ${letter?.dlqSeq} on ${subjects.dlq(CONSUMER)}`);
  expect(task.reason).toMatch(/invalid/);
  const failed = (await mesh.bus.history(id, { repeats: true })).filter(
    (e) => e.event.type === 'task.failed',
  );
  expect(failed.map((e) => e.event.data.reason)).toEqual([task.reason]);
});

it('a message on a task subject that is not an event at all fails that task too', async () => {
  const id = 't-dlqcond0002';
  await putTask(id);
  await mesh.js.publish(subjects.event(id), '{"not": "an event"}');
  const task = await ended(id);
  expect(task.reason).toMatch(/gave up on message \d+ after 1 deliveries: dead letter \d+/);
  expect(task.reason).toContain('not a valid event');
});
