// Per-org daily quotas against a real nats-server and the scripted model: an org over its token quota makes
// no further call (QuotaExceededError naming the quota and the reset), parallel calls from two connections
// cannot overshoot together, and the next UTC day (an injected clock) starts from zero. The conductor fails
// the task with the error's text (`quota.exceeded` → the workflow's BUDGET_EXCEEDED).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MeshConnection } from '../../blackboard/index.ts';
import {
  keys,
  type OrgQuota,
  OrgModelSettings,
  QuotaDay,
  TaskEvent,
  TaskRecord,
} from '../../schemas/index.ts';
import { type NatsFixture, startNatsFixture } from '../../test/nats.ts';
import { startScriptedLlm, type Script, type ScriptedLlm } from '../../test/scripted-llm/index.ts';
import { planningTask } from '../../test/task-record.ts';
import { ChatQuestion } from '../../schemas/api.ts';
import { answerQuestion } from '../chat/agent.ts';
import { toWorkflowEvent } from '../conductor/conductor.ts';
import { createModelClient, type ModelClient } from '../llm/index.ts';
import { DEFAULT_MODEL_GUARD } from './guard-options.ts';
import { callModel } from './model-call.ts';
import { QuotaExceededError } from './quota.ts';
import type { StepInput } from './types.ts';

let nats: NatsFixture;
let a: MeshConnection;
let b: MeshConnection;
let llm: ScriptedLlm;
let script: Script = () => ({ content: 'ok' });
let client: ModelClient;
const events: Array<Parameters<StepInput['deps']['emit']>[0]> = [];
/** The injected clock of every step below. */
let clock = Date.UTC(2026, 11, 2, 23, 50, 0);

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

function step(mesh: MeshConnection, task: TaskRecord): StepInput {
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
      now: () => clock,
      sandbox: undefined as never,
      modelGuard: { ...DEFAULT_MODEL_GUARD, pollMs: 50, reserveTokens: 500 },
    },
  };
}

/** A task of `org` with a task budget far above the quota: only the quota can stop it. */
function task(id: string, org: string): TaskRecord {
  const t = planningTask(id);
  return {
    ...t,
    orgId: org,
    request: { ...t.request, budget: { ...t.request.budget, maxTokens: 5e7, maxCostUsd: 1000 } },
  };
}

async function setQuota(org: string, quota: OrgQuota): Promise<void> {
  await a.board.mutate(keys.models(org), OrgModelSettings, () => ({
    org,
    roles: {},
    quota,
    updatedAt: new Date(clock).toISOString(),
    updatedBy: 'test',
  }));
}

const ask = (s: StepInput) => callModel(s, 'coder', { messages: [{ role: 'user', content: 'hi' }] });
const chatCalls = () => llm.calls.filter((c) => c.path === '/v1/chat/completions');

async function until(what: string, fn: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('per-org daily quota', () => {
  it('an org over its daily token quota makes no further model call, whichever task or process asks', async () => {
    clock = Date.UTC(2026, 11, 2, 23, 50, 0);
    // Each call reserves ~505 tokens (a few prompt tokens + 500 answer tokens) and really uses 600.
    script = () => ({ content: 'ok', usage: { prompt_tokens: 300, completion_tokens: 300 } });
    await setQuota('acme', { tokensPerDay: 1000 });
    const before = chatCalls().length;
    await ask(step(a, task('t-q1', 'acme')));
    expect(chatCalls().length - before).toBe(1);
    // 600 used + ~505 for the next call passes 1000: refused before the model is asked, on another task and
    // another connection (the count is the org's, on the blackboard).
    const err = await ask(step(b, task('t-q2', 'acme'))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuotaExceededError);
    const q = err as QuotaExceededError;
    expect(q.code).toBe('QUOTA_EXCEEDED');
    expect(q.detail).toMatchObject({ org: 'acme', quota: 'tokensPerDay', limit: 1000, used: 600 });
    expect(q.detail.resetsAt).toBe('2026-12-03T00:00:00.000Z');
    expect(q.message).toMatch(/org acme's tokensPerDay quota of 1000 tokens for 2026-12-02 \(UTC\)/);
    expect(chatCalls().length - before).toBe(1);
    // The task is told why (the conductor fails it with this reason), and nothing stays reserved.
    const ev = events.find((e) => e.taskId === 't-q2' && e.type === 'quota.exceeded');
    expect(ev?.data).toMatchObject({ quota: 'tokensPerDay', resetsAt: '2026-12-03T00:00:00.000Z' });
    expect(String(ev?.data?.reason)).toBe(q.message);
    expect(toWorkflowEvent(TaskEvent.parse({ ...ev, at: new Date(clock).toISOString() }))).toEqual({
      type: 'BUDGET_EXCEEDED',
      reason: q.message,
    });
    const d = (await a.board.get(keys.quota('acme', '2026-12-02'), QuotaDay))!.value;
    expect(d.spent).toEqual({ tokens: 600, usd: 0.6, calls: 1 });
    expect(d.reservations).toEqual([]);
    // Another org is not affected.
    await setQuota('other', { tokensPerDay: 1000 });
    await ask(step(a, task('t-q3', 'other')));
    expect(chatCalls().length - before).toBe(2);
  });

  it("the chat agent's calls count too: an org over its quota gets the task's status, naming the quota", async () => {
    clock = Date.UTC(2026, 11, 2, 23, 55, 0);
    const t = task('t-qchat1', 'acme');
    await a.board.create(keys.task(t.id), TaskRecord, t);
    const before = chatCalls().length;
    const answer = await answerQuestion(
      a,
      ChatQuestion.parse({ taskId: t.id, threadId: 'th-quota1', message: 'where are we?', history: [] }),
      { models: () => client, now: () => clock },
    );
    expect(chatCalls().length).toBe(before);
    expect(answer.by).toBe('codemesh-status-agent');
    expect(answer.answer).toMatch(/org acme's tokensPerDay quota of 1000 tokens/);
  });

  it('the next UTC day starts from zero', async () => {
    clock = Date.UTC(2026, 11, 2, 23, 59, 59);
    await expect(ask(step(a, task('t-q4', 'acme')))).rejects.toBeInstanceOf(QuotaExceededError);
    clock = Date.UTC(2026, 11, 3, 0, 0, 1);
    const before = chatCalls().length;
    await ask(step(a, task('t-q4', 'acme')));
    expect(chatCalls().length - before).toBe(1);
    const d = (await a.board.get(keys.quota('acme', '2026-12-03'), QuotaDay))!.value;
    expect(d.spent.tokens).toBe(600);
    // The day before keeps its own count.
    expect((await a.board.get(keys.quota('acme', '2026-12-02'), QuotaDay))!.value.spent.tokens).toBe(600);
  });

  it('parallel reservations from two connections cannot overshoot the quota together', async () => {
    clock = Date.UTC(2026, 11, 4, 9, 0, 0);
    // ~505 tokens reserved per call: 1200 holds two of them, not three.
    await setQuota('par', { tokensPerDay: 1200 });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    script = async () => {
      await gate;
      return { content: 'ok', usage: { prompt_tokens: 10, completion_tokens: 10 } };
    };
    const before = chatCalls().length;
    let refused = 0;
    const calls = Array.from({ length: 6 }, (_, i) =>
      ask(step(i % 2 ? a : b, task(`t-par${i}`, 'par'))).then(
        () => undefined,
        (err: unknown) => {
          refused++;
          return err;
        },
      ),
    );
    // Answers are held until four calls were refused: all six decided while two were still in flight.
    await until('four refusals', () => refused === 4);
    release();
    const outcomes = await Promise.all(calls);
    expect(outcomes.filter((o) => o === undefined)).toHaveLength(2);
    for (const o of outcomes.filter((r) => r !== undefined)) expect(o).toBeInstanceOf(QuotaExceededError);
    expect(chatCalls().length - before).toBe(2);
    const d = (await a.board.get(keys.quota('par', '2026-12-04'), QuotaDay))!.value;
    expect(d.spent).toEqual({ tokens: 40, usd: 0.04, calls: 2 });
    expect(d.reservations).toEqual([]);
  });

  it('a USD quota refuses the same way; a model failure gives its reservation back', async () => {
    clock = Date.UTC(2026, 11, 5, 9, 0, 0);
    await setQuota('usd', { usdPerDay: 1 });
    script = () => ({ status: 400, content: 'bad request' });
    await expect(ask(step(a, task('t-u1', 'usd')))).rejects.toThrow();
    const d = (await a.board.get(keys.quota('usd', '2026-12-05'), QuotaDay))!.value;
    expect(d).toMatchObject({ spent: { tokens: 0, usd: 0, calls: 0 }, reservations: [] });
    script = () => ({ content: 'ok', usage: { prompt_tokens: 400, completion_tokens: 400 } });
    await ask(step(a, task('t-u1', 'usd')));
    const err = await ask(step(a, task('t-u1', 'usd'))).catch((e: unknown) => e);
    expect((err as QuotaExceededError).detail).toMatchObject({ quota: 'usdPerDay', limit: 1 });
  });
});
