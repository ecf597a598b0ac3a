// Budgets on the whole mesh (issue 11 item 4): a soft limit pauses the task at the `budget` gate, which
// survives a restart of every actor and opens on a raise over HTTP; a hard limit stops the task; a flapping
// model endpoint opens the shared circuit breaker and the task waits and completes; the Coder's loop guard.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbedded } from '../actors/mesh.ts';
import { git, makeFixtureRepo } from './fixture-repo.ts';
import { type Harness, startHarness } from './harness.ts';
import type { Script } from './scripted-llm/index.ts';
import { APPROVE, subtractCoder } from './ts-calc-answers.ts';

const PLAN = {
  summary: 'Fix subtract',
  subtasks: [{ id: 'fix', title: 'Make subtract return a - b', successCriteria: ['subtract(5, 3) == 2'] }],
  risks: [],
};
const usage = { prompt_tokens: 50, completion_tokens: 10 };

// Stateless (decided from the conversation): planner 1 call, coder 2 (a tool call, then the edit), reviewer 1.
const normal: Script = (req) => {
  const { roleHint } = req;
  if (roleHint === 'planner') return { usage, content: JSON.stringify(PLAN) };
  if (roleHint === 'reviewer') return APPROVE;
  return subtractCoder(req);
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { CODEMESH_BREAKER_FAILURES: '2', CODEMESH_BREAKER_COOLDOWN_MS: '400' } });
  h.setScript(normal);
});
afterAll(async () => h?.stop());

async function submit(repo: string, budget: Record<string, unknown>): Promise<string> {
  const res = await h.api('/v1/tasks', {
    method: 'POST',
    body: JSON.stringify({
      repo,
      title: 'Fix subtract',
      description: 'subtract(5, 3) is 8',
      approve: 'auto',
      budget,
    }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { task: { id: string } }).task.id;
}

const chats = () => h.llm.calls.filter((c) => c.path === '/v1/chat/completions');
const types = async (id: string) => (await h.client.bus.history(id)).map((e) => e.event.type);

describe('budgets that pause and ask', () => {
  it('a soft limit pauses at the budget gate, survives a restart of every actor, and resumes when raised over HTTP', async () => {
    const repo = makeFixtureRepo('ts-calc');
    const base = git(repo, 'rev-parse', 'HEAD');
    const before = chats().length;
    const id = await submit(repo, { soft: { modelCalls: 2 } });
    await h.waitForStatus(id, 'awaiting_budget');
    const gate = (await (await h.api(`/v1/tasks/${id}/budget`)).json()) as {
      gate: string;
      paused: { reason: string; role: string };
      spent: { calls: number };
    };
    expect(gate.gate).toBe('budget');
    expect(gate.paused).toMatchObject({
      role: 'coder',
      reason: "soft budget: 2 model calls + this coder call would pass the task's limit of 2 calls",
    });
    expect(gate.spent.calls).toBe(2);
    // The planner's call and the Coder's first; the Coder's second waits for the decision, unsent.
    expect(chats().length - before).toBe(2);

    await Promise.all(h.mesh.actors.splice(0).map((a) => a.stop()));
    const again = await startEmbedded({
      natsUrl: h.mesh.natsUrl,
      dataDir: h.dataDir,
      env: h.env,
      leaseMs: 10_000,
    });
    h.mesh.actors.push(...again.actors);
    await new Promise((r) => setTimeout(r, 1500));
    const still = (await (await h.api(`/v1/tasks/${id}`)).json()) as { task: { status: string } };
    expect(still.task.status).toBe('awaiting_budget');
    expect(chats().length - before).toBe(2);

    const res = await h.api(`/v1/tasks/${id}/budget`, {
      method: 'POST',
      body: JSON.stringify({ action: 'raise', soft: { modelCalls: 10 }, comment: 'go on' }),
    });
    expect(res.status, await res.clone().text()).toBe(202);
    const done = (await h.waitForStatus(id, 'completed', 90_000)) as { task: { branch: string } };
    expect(git(repo, 'diff', base, done.task.branch)).toContain('+  return a - b;');
    const t = await types(id);
    expect(t.filter((x) => x === 'budget.paused')).toHaveLength(1);
    expect(t.indexOf('budget.raised')).toBeGreaterThan(t.indexOf('budget.paused'));
    const after = (await (await h.api(`/v1/tasks/${id}/budget`)).json()) as {
      version: number;
      spent: { calls: number };
      raises: unknown[];
    };
    expect(after.version).toBe(1);
    expect(after.raises).toHaveLength(1);
    // The Coder's step ran again after the restart (its two calls), then the reviewer: 2 + 2 + 1.
    expect(after.spent.calls).toBe(5);
  }, 180_000);

  it('without a restart the waiting call itself goes on after the raise (no call repeated); a stop fails the task', async () => {
    const before = chats().length;
    const id = await submit(makeFixtureRepo('ts-calc'), { soft: { modelCalls: 3 } });
    await h.waitForStatus(id, 'awaiting_budget');
    const gate = (await (await h.api(`/v1/tasks/${id}/budget`)).json()) as { paused: { role: string } };
    expect(gate.paused.role).toBe('reviewer');
    const res = await h.api(`/v1/tasks/${id}/budget`, {
      method: 'POST',
      body: JSON.stringify({ action: 'raise', soft: { modelCalls: 4 } }),
    });
    expect(res.status).toBe(202);
    await h.waitForStatus(id, 'completed');
    // Planner 1, Coder 2, Reviewer 1: the paused reviewer call was made once, after the raise.
    expect(chats().length - before).toBe(4);

    const stopped = await submit(makeFixtureRepo('ts-calc'), { soft: { modelCalls: 1 } });
    await h.waitForStatus(stopped, 'awaiting_budget');
    const stop = await h.api(`/v1/tasks/${stopped}/budget`, {
      method: 'POST',
      body: JSON.stringify({ action: 'stop', comment: 'not worth more' }),
    });
    expect(stop.status).toBe(202);
    const body = (await h.waitForStatus(stopped, 'failed')) as { task: { reason: string } };
    expect(body.task.reason).toMatch(/^stopped at the budget gate by .+: not worth more$/);
  }, 180_000);

  it('a hard limit stops the task before the call that would pass it', async () => {
    const before = chats().length;
    const id = await submit(makeFixtureRepo('ts-calc'), { hard: { modelCalls: 2 } });
    const body = (await h.waitForStatus(id, 'failed')) as { task: { reason: string } };
    expect(body.task.reason).toBe(
      "hard budget: 2 model calls + this coder call would pass the task's limit of 2 calls",
    );
    expect(chats().length - before).toBe(2);
    expect(await types(id)).toContain('budget.exceeded');
  }, 120_000);

  it('the Coder repeating the same tool call is stopped by its loop guard, with a clear failure event', async () => {
    h.setScript((req) =>
      req.roleHint === 'coder'
        ? { usage, toolCalls: [{ name: 'read_file', arguments: { path: 'src/calc.ts' } }] }
        : normal(req),
    );
    try {
      const id = await submit(makeFixtureRepo('ts-calc'), {});
      const body = (await h.waitForStatus(id, 'failed')) as { task: { reason: string } };
      expect(body.task.reason).toBe(
        'loop guard: the coder sent the tool call read_file {"path":"src/calc.ts"} 3 times; stopped',
      );
      const loop = (await h.client.bus.history(id)).find((e) => e.event.type === 'loop.detected');
      expect(loop?.event.data).toMatchObject({ repeats: 3 });
    } finally {
      h.setScript(normal);
    }
  }, 120_000);

  it('a flapping model endpoint opens the breaker; the task waits instead of failing and completes when it recovers', async () => {
    // down → (the test brings it up) → down again at the Coder's first call → (up) → the task completes.
    let phase: 'down1' | 'up1' | 'down2' | 'up2' = 'down1';
    const failed: string[] = [];
    h.setScript((req) => {
      if (phase === 'up1' && req.roleHint === 'coder') phase = 'down2';
      if (phase === 'down1' || phase === 'down2') {
        failed.push(req.roleHint ?? '?');
        return { status: 503, content: 'overloaded' };
      }
      return normal(req);
    });
    const repo = makeFixtureRepo('ts-calc');
    const id = await submit(repo, {});
    // Each failed probe opens the breaker again, so openings are counted after the last closing.
    const openedAfterClose = async (closes: number) => {
      for (let i = 0; i < 600; i++) {
        const t = await types(id);
        const closedAt =
          closes === 0
            ? -1
            : t.map((x, j) => (x === 'breaker.closed' ? j : -1)).filter((j) => j >= 0)[closes - 1];
        if (closedAt !== undefined && t.slice(closedAt + 1).includes('breaker.opened')) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`the breaker did not open after closing ${closes} times`);
    };
    await openedAfterClose(0);
    await new Promise((r) => setTimeout(r, 1500));
    const status = (await (await h.api(`/v1/tasks/${id}`)).json()) as { task: { status: string } };
    expect(status.task.status).toBe('planning');
    // While open, one probe per cool-down (400 ms) at most: 2 failures + ≤ 5 probes in ~1.5 s.
    expect(failed.length).toBeLessThanOrEqual(2 + 5);
    phase = 'up1';
    // The plan is made, the Coder's first call finds the endpoint down again: it opens once more.
    await openedAfterClose(1);
    await new Promise((r) => setTimeout(r, 1000));
    phase = 'up2';
    const done = (await h.waitForStatus(id, 'completed', 90_000)) as { task: { branch: string } };
    expect(done.task.branch).toBe(`codemesh/${id}`);
    const t = await types(id);
    expect(t).toContain('model.waiting');
    expect(t.filter((x) => x === 'breaker.closed')).toHaveLength(2);
    // The Coder's calls failed too (the second flap), and still no step failed.
    expect(failed.filter((r) => r === 'coder').length).toBeGreaterThanOrEqual(2);
    expect(t).not.toContain('step.failed');
  }, 180_000);
});
