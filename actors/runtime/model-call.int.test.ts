// Guarded model calls against a real nats-server and the scripted model: reservations under k parallel calls,
// a soft limit that waits for a raise, a circuit breaker shared by two connections over a flapping endpoint.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MeshConnection } from '../../blackboard/index.ts';
import { BreakerState, BudgetState, keys, type TaskRecord } from '../../schemas/index.ts';
import { type NatsFixture, startNatsFixture } from '../../test/nats.ts';
import { startScriptedLlm, type Script, type ScriptedLlm } from '../../test/scripted-llm/index.ts';
import { planningTask } from '../../test/task-record.ts';
import { createModelClient, type ModelClient } from '../llm/index.ts';
import { BudgetExceededError, BudgetStoppedError, reserveBudget } from './budget.ts';
import { DEFAULT_MODEL_GUARD, type ModelGuardOptions } from './guard-options.ts';
import { callModel } from './model-call.ts';
import type { StepInput } from './types.ts';

let nats: NatsFixture;
let a: MeshConnection;
let b: MeshConnection;
let llm: ScriptedLlm;
let script: Script = () => ({ content: 'ok' });
let client: ModelClient;
const events: Array<Parameters<StepInput['deps']['emit']>[0]> = [];

beforeAll(async () => {
  nats = await startNatsFixture();
  a = await nats.connect('agent-a');
  b = await nats.connect('agent-b');
  llm = await startScriptedLlm((r) => script(r));
  client = createModelClient({
    baseURL: llm.url,
    apiKey: 'sk-test',
    model: 'scripted-model',
    timeoutMs: 5000,
    maxRetries: 0,
    priceInPer1k: 1,
    priceOutPer1k: 1,
  });
});
afterAll(async () => {
  await llm?.close();
  await nats?.stop();
});

const GUARD: ModelGuardOptions = {
  ...DEFAULT_MODEL_GUARD,
  breakerFailures: 3,
  breakerCooldownMs: 300,
  pollMs: 50,
  reserveTokens: 500,
};

function step(mesh: MeshConnection, task: TaskRecord, guard: Partial<ModelGuardOptions> = {}): StepInput {
  return {
    mesh,
    task,
    kind: 'code',
    attempt: 1,
    round: 1,
    stepId: `${task.id}:code:1`,
    instanceId: `coder-${mesh === a ? 'a' : 'b'}`,
    deps: {
      dataDir: '/tmp',
      models: () => client,
      emit: async (e) => {
        events.push(e);
      },
      now: Date.now,
      sandbox: undefined as never,
      modelGuard: { ...GUARD, ...guard },
    },
  };
}

function task(id: string, budget: Partial<TaskRecord['request']['budget']>): TaskRecord {
  const t = planningTask(id);
  return { ...t, request: { ...t.request, budget: { ...t.request.budget, maxTokens: 1e6, ...budget } } };
}

const ask = (s: StepInput) => callModel(s, 'coder', { messages: [{ role: 'user', content: 'hi' }] });
const chatCalls = () => llm.calls.filter((c) => c.path === '/v1/chat/completions');
const ofTask = (id: string) => events.filter((e) => e.taskId === id);

async function until(what: string, fn: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('budget reservations', () => {
  it('k parallel calls cannot overshoot a hard limit together: only the reserved ones reach the model', async () => {
    // Each call reserves ~$0.51 (a few prompt tokens + 500 answer tokens at $1/1k); $1.2 holds two of them.
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    script = async () => {
      await gate;
      return { content: 'ok', usage: { prompt_tokens: 50, completion_tokens: 50 } };
    };
    const t = task('t-par', { maxCostUsd: 1.2 });
    const before = chatCalls().length;
    let refused = 0;
    const calls = Array.from({ length: 5 }, () =>
      ask(step(a, t)).then(
        () => undefined,
        (err: unknown) => {
          refused++;
          return err;
        },
      ),
    );
    // Answers are held until three calls were refused: all five decided while two were still in flight.
    await until('three refusals', () => refused === 3);
    release();
    const outcomes = await Promise.all(calls);
    expect(outcomes.filter((o) => o === undefined)).toHaveLength(2);
    for (const o of outcomes.filter((r) => r !== undefined)) expect(o).toBeInstanceOf(BudgetExceededError);
    expect(chatCalls().length - before).toBe(2);
    const budget = (await a.board.get(keys.budget(t.id), BudgetState))!.value;
    // Settled with the real usage ($0.1 each), nothing left reserved.
    expect(budget.spent.calls).toBe(2);
    expect(budget.spent.usd).toBeCloseTo(0.2, 10);
    expect(budget.reservations).toEqual([]);
    expect(ofTask(t.id).map((e) => e.type)).toContain('budget.exceeded');
  });

  it('a soft limit makes the call wait until the limit is raised; a stop ends it', async () => {
    script = () => ({ content: 'ok', usage: { prompt_tokens: 5, completion_tokens: 5 } });
    const t = task('t-soft', { soft: { modelCalls: 1 } });
    await ask(step(a, t));
    const before = chatCalls().length;
    let done = false;
    const second = ask(step(b, t)).then(() => {
      done = true;
    });
    await until('the pause', () => ofTask(t.id).some((e) => e.type === 'budget.paused'));
    await new Promise((r) => setTimeout(r, 300));
    expect(done).toBe(false);
    expect(chatCalls().length).toBe(before);
    const paused = (await a.board.get(keys.budget(t.id), BudgetState))!.value;
    expect(paused.paused).toMatchObject({ version: 0, role: 'coder' });
    expect(paused.paused!.reason).toBe(
      "soft budget: 1 model calls + this coder call would pass the task's limit of 1 calls",
    );
    // What the gateway's raise does: new soft limits under a new version, the pause cleared.
    await a.board.mutate(keys.budget(t.id), BudgetState, (s) =>
      s ? { ...s, version: s.version + 1, soft: { modelCalls: 2 }, paused: undefined } : undefined,
    );
    await second;
    expect(chatCalls().length).toBe(before + 1);
    // The third call pauses at the raised limit (version 1); stopping the task there ends the call.
    const third = ask(step(a, t)).catch((e: unknown) => e);
    await until('the second pause', () => ofTask(t.id).some((e) => e.id === `${t.id}:budget-paused:1`));
    await a.board.mutate(keys.budget(t.id), BudgetState, (s) =>
      s ? { ...s, stopped: { by: 'ann', comment: 'enough', at: new Date().toISOString() } } : undefined,
    );
    const err = await third;
    expect(err).toBeInstanceOf(BudgetStoppedError);
    expect((err as Error).message).toBe('stopped at the budget gate by ann: enough');
  });

  it("a role's soft limit pauses that role's calls only", async () => {
    script = () => ({ content: 'ok', usage: { prompt_tokens: 5, completion_tokens: 5 } });
    const t = task('t-role', { roles: { coder: { soft: { modelCalls: 1 } } } });
    await ask(step(a, t));
    const waiting = ask(step(a, t));
    await until('the coder to pause', () => ofTask(t.id).some((e) => e.type === 'budget.paused'));
    // The reviewer's call is not held by the coder's limit.
    const r = await callModel(step(b, t), 'reviewer', { messages: [{ role: 'user', content: 'review' }] });
    expect(r.message.content).toBe('ok');
    const paused = (await a.board.get(keys.budget(t.id), BudgetState))!.value;
    expect(paused.paused?.reason).toBe(
      "soft budget: 1 model calls + this coder call would pass the coder's limit of 1 calls",
    );
    expect(paused.byRole).toMatchObject({ coder: { calls: 1 }, reviewer: { calls: 1 } });
    await a.board.mutate(keys.budget(t.id), BudgetState, (s) =>
      s
        ? { ...s, version: s.version + 1, roles: { coder: { soft: { modelCalls: 3 } } }, paused: undefined }
        : undefined,
    );
    expect((await waiting).message.content).toBe('ok');
  });

  it("a reservation of a step's earlier round (its agent died mid-call) no longer counts", async () => {
    script = () => ({ content: 'ok', usage: { prompt_tokens: 5, completion_tokens: 5 } });
    // One call's reservation (~$0.51) fits $0.8, two do not.
    const t = task('t-round', { maxCostUsd: 0.8 });
    const dead = await reserveBudget(step(a, t), 'coder', { tokens: 510, usd: 0.51, calls: 1 }, GUARD);
    expect(dead.holder).toBe(`${t.id}:code:1#1`);
    await expect(ask(step(a, t))).rejects.toBeInstanceOf(BudgetExceededError);
    const r2 = await ask({ ...step(a, t), round: 2 });
    expect(r2.message.content).toBe('ok');
    const s = (await a.board.get(keys.budget(t.id), BudgetState))!.value;
    expect(s.reservations).toEqual([]);
    expect(s.spent.calls).toBe(1);
  });
});

describe('circuit breaker', () => {
  it('a flapping endpoint opens the shared breaker; callers on both connections wait, a probe closes it', async () => {
    let down = true;
    script = () => (down ? { status: 500, content: 'down' } : { content: 'ok' });
    const ta = task('t-brk-a', {});
    const tb = task('t-brk-b', {});
    const before = chatCalls().length;
    const first = ask(step(a, ta));
    await until('the breaker to open', () => ofTask(ta.id).some((e) => e.type === 'breaker.opened'));
    expect(chatCalls().length - before).toBe(3);
    // The other connection's call sees the open breaker and waits instead of calling.
    const second = ask(step(b, tb));
    await until('b to wait', () => ofTask(tb.id).some((e) => e.type === 'model.waiting'));
    await new Promise((r) => setTimeout(r, 1000));
    const whileDown = chatCalls().length - before;
    // 3 failures, then one probe per cool-down (300 ms) at most: not a call per waiting caller per poll.
    expect(whileDown).toBeLessThanOrEqual(3 + 5);
    down = false;
    const [ra, rb] = await Promise.all([first, second]);
    expect(ra.message.content).toBe('ok');
    expect(rb.message.content).toBe('ok');
    const endpoint = client.baseURL;
    let brk = (await a.board.get(keys.breaker(endpoint), BreakerState))!.value;
    expect(brk).toMatchObject({ state: 'closed', failures: 0 });
    const opens = brk.opens;
    expect(opens).toBeGreaterThanOrEqual(1);
    expect([...ofTask(ta.id), ...ofTask(tb.id)].map((e) => e.type)).toContain('breaker.closed');

    // It flaps: down again, open again (one more opening), up again, closed again; no call failed.
    down = true;
    const again = ask(step(b, tb));
    await until('the second opening', async () => {
      const s = (await b.board.get(keys.breaker(endpoint), BreakerState))?.value;
      return s?.state === 'open' && s.opens === opens + 1;
    });
    down = false;
    expect((await again).message.content).toBe('ok');
    brk = (await a.board.get(keys.breaker(endpoint), BreakerState))!.value;
    expect(brk).toMatchObject({ state: 'closed', opens: opens + 1 });
  });

  it("a call waits no longer than the task's hard wall time", async () => {
    script = () => ({ status: 503, content: 'still down' });
    const t = { ...task('t-wall', { hard: { wallSeconds: 2 } }), createdAt: new Date().toISOString() };
    const started = Date.now();
    const err = await ask(step(a, t)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as { code?: string }).code).toMatch(/MODEL_WAIT_EXPIRED|MODEL_SERVER|BUDGET_EXCEEDED/);
    expect(Date.now() - started).toBeGreaterThan(1500);
    expect(Date.now() - started).toBeLessThan(6000);
    // The call gave up holding nothing: the next caller probes at once (not after the 30 s probe lease) and
    // its success closes the breaker.
    script = () => ({ content: 'ok' });
    const next = Date.now();
    await ask(step(a, task('t-after', {}), { breakerCooldownMs: 10 }));
    expect(Date.now() - next).toBeLessThan(3000);
    expect((await a.board.get(keys.breaker(client.baseURL), BreakerState))!.value.state).toBe('closed');
  });
});
