// Agents across a NATS outage: nats-server is killed with SIGKILL while a step runs and started again on the
// same port and store. What failed because the server was away is not the task's failure; what kept going
// finishes; a question to the Curator lost with the old server is asked again.
import { planningTask } from '../../test/task-record.ts';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectMesh, type MeshConnection } from '../../blackboard/index.ts';
import { createSandbox } from '../../sandbox-agent/index.ts';
import {
  Award,
  type AwardNotice,
  keys,
  stepId,
  subjects,
  type TaskEvent,
  TaskRecord,
} from '../../schemas/index.ts';
import { type KillableNats, startKillableNats } from '../../test/nats.ts';
import { AgentHost } from './agent-host.ts';
import { curatorClient } from './retrieve.ts';
import { oneEffectMachine } from './step-machine.ts';
import type { AgentDeps, StepOutput } from './types.ts';

let nats: KillableNats;
let test: MeshConnection;
const open: MeshConnection[] = [];
beforeAll(async () => {
  nats = await startKillableNats();
  test = await connect('test');
});
afterAll(async () => {
  await Promise.all(open.map((m) => m.close().catch(() => undefined)));
  await nats?.stop();
});

async function connect(name: string): Promise<MeshConnection> {
  const m = await connectMesh({ url: nats.url, name });
  open.push(m);
  return m;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const end = Date.now() + 30_000;
  for (;;) {
    const v = await Promise.resolve()
      .then(fn)
      .catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Kills the server, starts it again, and returns once `mesh` works again. */
async function outage(...meshes: MeshConnection[]): Promise<void> {
  const before = meshes.map((m) => m.disconnects);
  nats.kill();
  await waitFor('the drop to be seen', () => meshes.every((m, i) => m.disconnects > before[i]!) || undefined);
  await nats.restart();
  for (const m of meshes) await waitFor('the connection back', () => m.board.keys('task.*').then(() => true));
}

function deps(m: MeshConnection): AgentDeps {
  return {
    dataDir: '/tmp',
    models: () => {
      throw new Error('no model in this test');
    },
    sandbox: createSandbox(),
    now: Date.now,
    emit: async (e) => {
      await m.bus.publish({ ...e, at: new Date().toISOString() });
    },
  };
}

/** A task waiting in `planning` and its plan step awarded to `instanceId`, as a conductor would leave them. */
async function awardPlan(taskId: string, instanceId: string): Promise<string> {
  await test.board.create(keys.task(taskId), TaskRecord, planningTask(taskId));
  const sid = stepId(taskId, 'plan', 1);
  const { revision } = await test.board.create(keys.award(sid), Award, {
    stepId: sid,
    taskId,
    kind: 'plan',
    attempt: 1,
    round: 1,
    instanceId,
    state: 'awarded',
    leaseUntil: Date.now() + 60_000,
    awardedAt: Date.now(),
  });
  const notice: AwardNotice = { stepId: sid, round: 1, revision };
  test.nc.publish(subjects.award(instanceId), JSON.stringify(notice));
  return sid;
}

/** A planner whose step waits for the test to let it finish with `result`. */
async function gatedHost(name: string, leaseMs: number) {
  const m = await connect(name);
  const log: string[] = [];
  let started!: () => void;
  const running = new Promise<void>((r) => {
    started = r;
  });
  let finish!: (out: StepOutput | Error) => void;
  const result = new Promise<StepOutput | Error>((r) => {
    finish = r;
  });
  const host = new AgentHost(m, {
    definition: {
      capability: 'planner',
      machine: oneEffectMachine('gated', async () => {
        started();
        const out = await result;
        if (out instanceof Error) throw out;
        return out;
      }),
    },
    deps: deps(m),
    instanceId: name,
    leaseMs,
    log: (l) => log.push(l),
  });
  host.start();
  await m.nc.flush();
  return { host, mesh: m, log, running, finish };
}

const eventsOf = async (taskId: string): Promise<TaskEvent[]> =>
  (await test.bus.history(taskId)).map((e) => e.event);

it('a step that fails across an outage (a NATS timeout) is left for a later round, not reported failed', async () => {
  const h = await gatedHost('p-outage-fail', 60_000);
  const sid = await awardPlan('t-outfail001', 'p-outage-fail');
  await h.running;
  await outage(h.mesh, test);
  h.finish(new Error('TimeoutError: timeout'));
  await waitFor(
    'the host to give the step up',
    () => h.log.some((l) => l.includes('NATS outage')) || undefined,
  );
  // Neither a failed award nor a step.failed event: the lease lapses and a conductor announces it again.
  expect((await test.board.get(keys.award(sid), Award))?.value.state).toBe('running');
  expect((await eventsOf('t-outfail001')).map((e) => e.type)).not.toContain('step.failed');
  await h.host.stop();
}, 60_000);

it('a step that runs through an outage finishes: renewals that find no server do not stop it', async () => {
  // Renewals every 100 ms, so several of them meet the dead server.
  const h = await gatedHost('p-outage-run', 300);
  const sid = await awardPlan('t-outrun0001', 'p-outage-run');
  await h.running;
  await outage(h.mesh, test);
  h.finish({ ok: true, data: { plan: 'kept' } });
  const award = await waitFor('the award to close', async () => {
    const a = (await test.board.get(keys.award(sid), Award))?.value;
    return a?.state === 'done' ? a : undefined;
  });
  expect(award.outcome).toEqual({ ok: true, data: { plan: 'kept' } });
  const done = await waitFor('step.completed', async () =>
    (await eventsOf('t-outrun0001')).find((e) => e.type === 'step.completed'),
  );
  expect(done.data).toEqual({ plan: 'kept' });
  await h.host.stop();
}, 60_000);

it('a Curator question lost with the killed server is asked again once the connection is back', async () => {
  const agent = await connect('agent');
  const curator = await connect('fake-curator');
  let asked = 0;
  // Takes the first question and never answers it (it died with the server); answers the next ones.
  curator.nc.subscribe(subjects.curator(), {
    callback: (_err, msg) => {
      asked++;
      if (asked === 1) return;
      msg.respond(
        JSON.stringify({
          ok: true,
          commit: 'c'.repeat(40),
          files: [{ path: 'calc.py', score: 1 }],
          snippets: [{ path: 'calc.py', startLine: 1, endLine: 2, symbol: 'add', text: 'def add', score: 1 }],
          ms: 1,
        }),
      );
    },
  });
  await curator.nc.flush();
  const answer = curatorClient(agent, { timeoutMs: 20_000 })(
    '/r',
    'HEAD',
    'add',
    new AbortController().signal,
  );
  await waitFor('the first question', () => asked === 1 || undefined);
  await outage(agent, curator);
  // Without asking again this would be [] after the whole timeout.
  expect((await answer).map((s) => s.path)).toEqual(['calc.py']);
  expect(asked).toBe(2);
}, 60_000);
