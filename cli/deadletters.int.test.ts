// `codemesh deadletters` and `redrive`: on a running NATS (NATS_URL), and on a stopped mesh's state dir, where
// the command starts a private nats-server on the store for its own time.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { deadLetter, type MeshConnection, startNatsServer } from '../blackboard/index.ts';
import { keys, TaskRecord } from '../schemas/index.ts';
import { type NatsFixture, startNatsFixture } from '../test/nats.ts';
import { planningTask } from '../test/task-record.ts';
import { CODEMESH_ROOT } from '../test/fixture-repo.ts';
import { cmdDeadletters } from './deadletters.ts';
import { UsageError } from './errors.ts';
import { lockFile } from './state-lock.ts';

let nats: NatsFixture;
let mesh: MeshConnection;
const savedUrl = process.env.NATS_URL;
beforeAll(async () => {
  nats = await startNatsFixture();
  mesh = await nats.connect('deadletters-cli');
});
afterEach(() => {
  if (savedUrl === undefined) delete process.env.NATS_URL;
  else process.env.NATS_URL = savedUrl;
});
afterAll(async () => nats?.stop());

/** Publishes an event of `taskId` and dead-letters it as the recorder would; returns the letter's sequence. */
async function letterFor(
  m: MeshConnection,
  taskId: string,
  consumer = 'recorder',
): Promise<{ dlqSeq: number; seq: number }> {
  const { seq, event } = await m.bus.publish({
    id: `${taskId}:created`,
    taskId,
    type: 'task.created',
    at: new Date().toISOString(),
  });
  const dlqSeq = await deadLetter(m.js, {
    consumer,
    seq,
    deliveries: 6,
    reason: 'Error: value too long for type character varying(40)',
    eventId: event.id,
    taskId,
    type: event.type,
    payload: JSON.stringify(event),
  });
  return { dlqSeq, seq };
}

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await cmdDeadletters(argv, { write: (t: string) => (out += t) });
  return { code, out };
}

it('lists the letters (text and --json) and re-drives one, then all; a repeat finds nothing', async () => {
  process.env.NATS_URL = nats.server.url;
  const a = await letterFor(mesh, 't-cliletter001');
  const b = await letterFor(mesh, 't-cliletter002');
  const c = await letterFor(mesh, 't-cliletter003');

  const text = await run([]);
  expect(text.code).toBe(0);
  expect(text.out).toContain(`${a.dlqSeq}  `);
  expect(text.out).toContain('t-cliletter001  task.created  t-cliletter001:created');
  expect(text.out).toContain('value too long');
  expect(text.out).toContain('3 dead letters (newest first)');
  const listed = JSON.parse((await run(['--json'])).out) as { items: Array<{ dlqSeq: number; seq: number }> };
  expect(listed.items.map((l) => l.dlqSeq)).toEqual([c.dlqSeq, b.dlqSeq, a.dlqSeq]);
  expect(listed.items[2]?.seq).toBe(a.seq);

  const one = await run(['redrive', String(a.dlqSeq), '--json']);
  expect(one.code).toBe(0);
  const r = JSON.parse(one.out) as { redriven: Array<{ subject: string; seq: number }> };
  expect(r.redriven).toMatchObject([{ subject: 'cm.evt.t-cliletter001', duplicate: false }]);
  // Stored twice (the copy marked as the re-drive of the original), shown once in the task's event log.
  const history = await mesh.bus.history('t-cliletter001', { repeats: true });
  expect(history.map((e) => e.seq)).toEqual([a.seq, r.redriven[0]!.seq]);
  expect(history[1]?.event).toEqual(history[0]?.event);
  const copy = await mesh.jsm.streams.getMessage('CODEMESH_EVENTS', { seq: r.redriven[0]!.seq });
  expect(copy?.header.get('Codemesh-Redrive-Of')).toBe(String(a.seq));
  expect((await mesh.bus.history('t-cliletter001')).map((e) => e.seq)).toEqual([a.seq]);

  const again = await run(['redrive', String(a.dlqSeq)]);
  expect(again.code).toBe(1);
  expect(again.out).toContain(`no dead letter ${a.dlqSeq}`);

  const all = await run(['redrive', 'all']);
  expect(all.code).toBe(0);
  // Oldest first: in the order the messages first came.
  expect(all.out.indexOf(`re-driven ${b.dlqSeq} `)).toBeLessThan(all.out.indexOf(`re-driven ${c.dlqSeq} `));
  expect(all.out).toContain('2 re-driven, 0 not');
  expect((await run([])).out).toContain('no dead letters');

  for (const bad of [['redrive'], ['redrive', 'x'], ['redrive', '0'], ['purge'], ['--limit', '0']])
    await expect(run(bad), bad.join(' ')).rejects.toThrow(UsageError);
});

it("a conductor's letter of a task that has ended or left the board is not re-driven: exit 1, the reason", async () => {
  process.env.NATS_URL = nats.server.url;
  const ended = 't-cliended0001';
  await mesh.board.create(keys.task(ended), TaskRecord, { ...planningTask(ended), status: 'failed' });
  const a = await letterFor(mesh, ended, 'conductor');
  const gone = await letterFor(mesh, 't-cligone00001', 'conductor');
  const one = await run(['redrive', String(a.dlqSeq)]);
  expect(one.code).toBe(1);
  expect(one.out).toContain(
    `dead letter ${a.dlqSeq} is not re-driven: its task ${ended} has ended (failed) and takes no more events of the conductor`,
  );
  const json = JSON.parse((await run(['redrive', String(gone.dlqSeq), '--json'])).out) as {
    failed: Array<{ code: string; error: string }>;
  };
  expect(json.failed).toMatchObject([{ code: 'DEAD_LETTER_TASK_ENDED' }]);
  expect(json.failed[0]?.error).toContain('is no longer on the blackboard');
  // Nothing was published; both letters are still there (and one of a task that goes on is re-driven).
  expect((await mesh.bus.history(ended, { repeats: true })).map((e) => e.seq)).toEqual([a.seq]);
  const live = 't-clilive00001';
  await mesh.board.create(keys.task(live), TaskRecord, planningTask(live));
  const b = await letterFor(mesh, live, 'conductor');
  const all = await run(['redrive', 'all']);
  expect(all.code).toBe(1);
  expect(all.out).toContain(`re-driven ${b.dlqSeq} `);
  expect(all.out).toContain('1 re-driven, 2 not');
});

it('on a stopped mesh it reads the state dir store with a private nats-server, under the state-dir lock', async () => {
  const home = mkdtempSync(join(tmpdir(), 'codemesh-dl-home-'));
  const server = await startNatsServer({ storeDir: join(home, 'nats') });
  const { connectMesh } = await import('../blackboard/index.ts');
  const m = await connectMesh({ url: server.url, name: 'seed' });
  const { dlqSeq } = await letterFor(m, 't-offline0001');
  await m.close();
  await server.stop();

  const env = { PATH: process.env.PATH, HOME: process.env.HOME, CODEMESH_HOME: home };
  const bin = join(CODEMESH_ROOT, 'bin', 'codemesh.js');
  const list = spawnSync(process.execPath, [bin, 'deadletters', '--json'], { env, encoding: 'utf8' });
  expect(list.status, list.stderr).toBe(0);
  expect((JSON.parse(list.stdout) as { items: Array<{ dlqSeq: number }> }).items).toMatchObject([{ dlqSeq }]);
  const bad = spawnSync(process.execPath, [bin, 'deadletters', 'redrive'], { env, encoding: 'utf8' });
  expect(bad.status).toBe(2);
  expect(bad.stderr).toContain('usage: codemesh deadletters');
  // Nothing left running or holding the dir.
  expect(existsSync(lockFile(home))).toBe(false);
}, 60_000);
