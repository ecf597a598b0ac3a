// Contract-net against a real nats-server: racing coordinators, a silent winner, the lease taking over.
import { planningTask } from '../../test/task-record.ts';
import { createInbox } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MeshConnection } from '../../blackboard/index.ts';
import { createSandbox } from '../../sandbox-agent/index.ts';
import { Announce, Award, keys, stepId, subjects, TaskRecord } from '../../schemas/index.ts';
import { startNatsFixture, type NatsFixture } from '../../test/nats.ts';
import { AgentHost } from '../runtime/agent-host.ts';
import { oneEffectMachine } from '../runtime/step-machine.ts';
import type { AgentDeps } from '../runtime/types.ts';
import { Conductor } from './conductor.ts';
import { runAuction, runAuctions } from './auction.ts';

let nats: NatsFixture;
let mesh: MeshConnection;
beforeAll(async () => {
  nats = await startNatsFixture();
  mesh = await nats.connect('coordinator');
});
afterAll(async () => nats?.stop());

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

async function putTask(id: string): Promise<void> {
  await mesh.board.create(keys.task(id), TaskRecord, planningTask(id));
}

async function host(
  name: string,
  ran: string[],
  opts: { leaseMs?: number; capability?: 'planner' | 'coder' } = {},
) {
  const m = await nats.connect(name);
  const h = new AgentHost(m, {
    definition: {
      capability: opts.capability ?? 'planner',
      machine: oneEffectMachine('fake', async (input) => {
        ran.push(`${name}:${input.stepId}#${input.round}`);
        return { ok: true, data: { by: name } };
      }),
    },
    deps: deps(m),
    instanceId: name,
    leaseMs: opts.leaseMs ?? 5000,
  });
  h.start();
  await m.nc.flush();
  return h;
}

async function waitFor<T>(fn: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('contract-net bidding', () => {
  it('two racing coordinators award a step to exactly one bidder, which runs it once', async () => {
    const ran: string[] = [];
    const hosts = [await host('pa', ran), await host('pb', ran), await host('pc', ran)];
    await putTask('t-race00001');
    const other = await nats.connect('coordinator-2');
    const step = { taskId: 't-race00001', kind: 'plan' as const, attempt: 1 };
    const [a, b] = await Promise.all([runAuction(mesh, step, 1), runAuction(other, step, 1)]);
    expect(a?.instanceId).toBeDefined();
    expect(a?.instanceId).toBe(b?.instanceId);
    const award = await waitFor(async () => {
      const e = await mesh.board.get(keys.award(stepId('t-race00001', 'plan', 1)), Award);
      return e?.value.state === 'done' ? e.value : undefined;
    });
    expect(award.instanceId).toBe(a?.instanceId);
    await new Promise((r) => setTimeout(r, 200));
    expect(ran).toEqual([`${a?.instanceId}:t-race00001-plan-1#1`]);
    await Promise.all(hosts.map((h) => h.stop()));
  });

  it('a winner that goes silent loses its lease and the step is re-announced and done by another', async () => {
    // A bidder that always bids first (load 0, lowest name) and never accepts: a crashed agent.
    const m = await nats.connect('silent');
    m.nc.subscribe(subjects.announce('planner'), {
      callback: (_e, msg) => {
        const a = Announce.parse(msg.json());
        m.nc.publish(
          a.replyTo,
          JSON.stringify({
            stepId: a.stepId,
            round: a.round,
            instanceId: 'a-silent',
            load: 0,
            estCostUsd: 0,
          }),
        );
      },
    });
    await m.nc.flush();
    const ran: string[] = [];
    await putTask('t-lease0001');
    const conductor = new Conductor(mesh, { leaseMs: 300, sweepMs: 100, reannounceMs: 100 });
    await conductor.start();
    await mesh.bus.publish({
      id: 't-lease0001:created',
      taskId: 't-lease0001',
      type: 'task.created',
      at: new Date().toISOString(),
    });
    // The silent bidder wins the first round (alone: an idle bid closes the round at once, so a live host
    // bidding beside it could win by arriving first); the live host starts once it holds the award.
    await waitFor(async () => {
      const e = await mesh.board.get(keys.award(stepId('t-lease0001', 'plan', 1)), Award);
      return e?.value.instanceId === 'a-silent' ? e.value : undefined;
    });
    const live = await host('z-live', ran);
    const award = await waitFor(async () => {
      const e = await mesh.board.get(keys.award(stepId('t-lease0001', 'plan', 1)), Award);
      return e?.value.state === 'done' ? e.value : undefined;
    });
    expect(award.instanceId).toBe('z-live');
    expect(award.round).toBeGreaterThanOrEqual(2);
    expect(ran).toEqual([`z-live:t-lease0001-plan-1#${award.round}`]);
    const task = await waitFor(async () => {
      const t = (await mesh.board.get(keys.task('t-lease0001'), TaskRecord))?.value;
      return t?.status === 'coding' ? t : undefined;
    });
    expect(task.attempt).toBe(1);
    await conductor.stop();
    await live.stop();
  });

  it('a step whose winner closed the award but never published its event is finished by the conductor', async () => {
    // The winner was killed (or lost NATS) between closing its award and publishing step.completed.
    await putTask('t-unsent001');
    const sid = stepId('t-unsent001', 'plan', 1);
    await mesh.board.create(keys.award(sid), Award, {
      stepId: sid,
      taskId: 't-unsent001',
      kind: 'plan',
      attempt: 1,
      round: 1,
      instanceId: 'p-killed',
      state: 'done',
      leaseUntil: Date.now() - 1000,
      awardedAt: Date.now() - 2000,
      outcome: { ok: true, data: { subtasks: 1 } },
    });
    const conductor = new Conductor(mesh, { leaseMs: 300, sweepMs: 100, reannounceMs: 100 });
    await conductor.start();
    await mesh.bus.publish({
      id: 't-unsent001:created',
      taskId: 't-unsent001',
      type: 'task.created',
      at: new Date().toISOString(),
    });
    const task = await waitFor(async () => {
      const t = (await mesh.board.get(keys.task('t-unsent001'), TaskRecord))?.value;
      return t?.status === 'coding' ? t : undefined;
    });
    expect(task.attempt).toBe(1);
    const completed = (await mesh.bus.history('t-unsent001', { repeats: true })).filter(
      (e) => e.event.type === 'step.completed',
    );
    expect(completed.map((e) => [e.event.id, e.event.data])).toEqual([[`${sid}:completed`, { subtasks: 1 }]]);
    await conductor.stop();
  });

  it('parts announced together are awarded in one round, spread over idle bidders, without waiting out the grace', async () => {
    const ran: string[] = [];
    // Coders: the silent planner bidder of an earlier test still listens on the planners' subject.
    const hosts = await Promise.all(['qa', 'qb', 'qc'].map((n) => host(n, ran, { capability: 'coder' })));
    await putTask('t-batch0001');
    const parts = ['s0-a', 's0-b', 's0-c'].map((part) => ({
      step: { taskId: 't-batch0001', kind: 'code' as const, attempt: 1, part },
      round: 1,
    }));
    const t0 = Date.now();
    // Before, each part was auctioned after the previous one and each waited its grace after the first bid.
    const won = await runAuctions(mesh, parts, { graceMs: 5000 });
    const took = Date.now() - t0;
    expect(took).toBeLessThan(2500);
    expect(won.map((w) => w?.part)).toEqual(['s0-a', 's0-b', 's0-c']);
    expect(new Set(won.map((w) => w?.instanceId))).toEqual(new Set(['qa', 'qb', 'qc']));
    await Promise.all(hosts.map((h) => h.stop()));
  });

  it('with fewer idle bidders than parts, the round waits its grace and counts what it gave out as load', async () => {
    const ran: string[] = [];
    const hosts = await Promise.all(['ra', 'rb'].map((n) => host(n, ran, { capability: 'coder' })));
    await putTask('t-batch0002');
    const parts = ['s0-a', 's0-b', 's0-c'].map((part) => ({
      step: { taskId: 't-batch0002', kind: 'code' as const, attempt: 1, part },
      round: 1,
    }));
    const t0 = Date.now();
    const won = await runAuctions(mesh, parts, { graceMs: 400 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(390);
    expect(won.map((w) => w?.instanceId)).toEqual(['ra', 'rb', 'ra']);
    await Promise.all(hosts.map((h) => h.stop()));
  });

  it('nobody bidding leaves the step unawarded (it is announced again later)', async () => {
    const inbox = createInbox();
    expect(inbox).toBeTruthy();
    const r = await runAuction(mesh, { taskId: 't-nobody001', kind: 'review', attempt: 1 }, 1, {
      maxWaitMs: 100,
    });
    expect(r).toBeUndefined();
    expect(await mesh.board.get(keys.award(stepId('t-nobody001', 'review', 1)), Award)).toBeUndefined();
  });
});
