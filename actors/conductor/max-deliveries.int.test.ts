// The server's max-deliveries backstop: a conductor whose handling of an event never ends (it hangs, or its
// process dies each time before the ack) gets the event again after each ack wait; after the server's bound
// the advisory dead-letters it and the task fails with a reason naming the letter — even though the hung
// handling still holds the task's queue.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { listDeadLetters, type MeshConnection } from '../../blackboard/index.ts';
import { keys, subjects, type TaskEvent, TaskRecord } from '../../schemas/index.ts';
import { type NatsFixture, startNatsFixture } from '../../test/nats.ts';
import { planningTask } from '../../test/task-record.ts';
import { Conductor } from './conductor.ts';

const CONSUMER = 'conductor-maxdeliver-test';
const ACK_WAIT_MS = 600;
let nats: NatsFixture;
let mesh: MeshConnection;
let conductor: Conductor;
let release: () => void = () => undefined;
const hung = new Promise<void>((r) => {
  release = r;
});
const HUNG_TASK = 't-maxdeliv0001';
const logs: string[] = [];

beforeAll(async () => {
  nats = await startNatsFixture();
  mesh = await nats.connect('conductor-maxdeliver');
  conductor = new Conductor(mesh, {
    consumer: CONSUMER,
    // The server's bound is two above the policy's: 4 deliveries, each left without an ack for 0.6 s.
    redelivery: { maxDeliver: 2, backoffMs: [50], ackWaitMs: ACK_WAIT_MS },
    sweepMs: 60_000,
    log: (l) => logs.push(l),
  });
  // The handling of this task's first event never ends: no ack, no nak, no error.
  const handle = conductor.handle.bind(conductor);
  conductor.handle = async (event: TaskEvent) => {
    if (event.taskId === HUNG_TASK && event.type === 'task.created') await hung;
    return handle(event);
  };
  await conductor.start();
});
afterAll(async () => {
  release();
  await conductor?.stop();
  await nats?.stop();
});

it('an event whose handling hangs every time is dead-lettered after the max deliveries and fails its task', async () => {
  const id = HUNG_TASK;
  await mesh.board.create(keys.task(id), TaskRecord, planningTask(id));
  const started = Date.now();
  await mesh.bus.publish({
    id: `${id}:created`,
    taskId: id,
    type: 'task.created',
    at: new Date().toISOString(),
  });
  let task: TaskRecord | undefined;
  while (Date.now() - started < 20_000) {
    task = (await mesh.board.get(keys.task(id), TaskRecord))?.value;
    if (task?.status === 'failed') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(task?.status, logs.join('\n')).toBe('failed');
  // Four ack waits, not four times 30 s.
  expect(Date.now() - started).toBeGreaterThanOrEqual(3 * ACK_WAIT_MS);
  const [letter] = (await listDeadLetters(mesh.jsm, { limit: 100 })).filter(
    (l) => l.letter.eventId === `${id}:created`,
  );
  expect(letter?.letter).toMatchObject({
    consumer: CONSUMER,
    deliveries: 4,
    type: 'task.created',
    taskId: id,
  });
  expect(letter?.letter.reason).toMatch(/without an ack/);
  expect(task?.reason).toContain(`event ${id}:created (task.created) after 4 deliveries`);
  expect(task?.reason).toContain(`dead letter ${letter?.dlqSeq} on ${subjects.dlq(CONSUMER)}`);
  const failed = (await mesh.bus.history(id, { repeats: true })).filter(
    (e) => e.event.type === 'task.failed',
  );
  expect(failed.map((e) => e.event.data.reason)).toEqual([task?.reason]);
  // The consumer's ack wait is the policy's.
  const info = await mesh.jsm.consumers.info('CODEMESH_EVENTS', CONSUMER);
  expect(info.config.ack_wait).toBe(ACK_WAIT_MS * 1_000_000);
});
