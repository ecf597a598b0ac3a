// The `post-plan` gate on the whole mesh: the task waits after planning with its plan and retrieved context
// readable over HTTP, survives a restart of every actor, and the Coder gets the plan as a human edited it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startEmbedded } from '../actors/mesh.ts';
import { git, makeFixtureRepo } from './fixture-repo.ts';
import { type Harness, startHarness } from './harness.ts';
import type { Script } from './scripted-llm/index.ts';
import { APPROVE, subtractCoder } from './ts-calc-answers.ts';

const PROPOSED = {
  summary: 'Rewrite the calculator',
  subtasks: [
    {
      id: 'rewrite',
      title: 'Rewrite the whole calculator module',
      successCriteria: ['all tests pass'],
      files: ['src/calc.ts', 'src/extra.ts'],
    },
  ],
  risks: [],
};
const EDITED = {
  summary: 'Fix subtract only',
  subtasks: [
    {
      id: 'fix-sub',
      title: 'Change subtract to return a - b (edited by a human)',
      description: 'Leave add() alone.',
      successCriteria: ['subtract(5, 3) == 2'],
      files: ['src/calc.ts'],
    },
  ],
  risks: [],
};

// Stateless (decided from the conversation), so a step re-run after the restart gets the same answers.
const script: Script = (req) => {
  const { roleHint } = req;
  const usage = { prompt_tokens: 50, completion_tokens: 10 };
  if (roleHint === 'planner') return { usage, content: JSON.stringify(PROPOSED) };
  if (roleHint === 'reviewer') return APPROVE;
  return subtractCoder(req);
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  h.setScript(script);
});
afterAll(async () => h?.stop());

async function submit(repo: string): Promise<string> {
  const res = await h.api('/v1/tasks', {
    method: 'POST',
    body: JSON.stringify({
      repo,
      title: 'Fix subtract',
      description: 'subtract(5, 3) returns 8, expected 2.',
      approve: 'auto',
      gates: ['post-plan'],
    }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { task: { id: string } }).task.id;
}

const coderPrompts = () =>
  h.llm.calls
    .filter((c) => c.roleHint === 'coder')
    .map((c) => {
      const msgs = (c.body as { messages: Array<{ role: string; content: string }> }).messages;
      return msgs.find((m) => m.role === 'user')?.content ?? '';
    });

it('waits with plan and context, survives a restart of every actor, and the Coder gets the edited plan', async () => {
  const repo = makeFixtureRepo('ts-calc');
  const base = git(repo, 'rev-parse', 'HEAD');
  const id = await submit(repo);
  await h.waitForStatus(id, 'awaiting_plan_approval');

  const gate = (await (await h.api(`/v1/tasks/${id}/plan`)).json()) as {
    gate: string;
    plan: { summary: string };
    context: {
      commit: string;
      snippets: Array<{ path: string; startLine: number; endLine: number; why: string; text: string }>;
    };
  };
  expect(gate.gate).toBe('post-plan');
  expect(gate.plan.summary).toBe(PROPOSED.summary);
  expect(gate.context.commit).toBe(base);
  // What the Planner got from the Curator: snippets with their place and the reason they were picked.
  const calc = gate.context.snippets.find((s) => s.path === 'src/calc.ts');
  expect(calc, JSON.stringify(gate.context)).toBeDefined();
  expect(calc!.startLine).toBeGreaterThan(0);
  expect(calc!.endLine).toBeGreaterThanOrEqual(calc!.startLine);
  expect(calc!.why).toMatch(/file #\d+ of the ranking/);
  expect(coderPrompts()).toEqual([]);

  // Every actor stops and new ones start on the same NATS: the gate is held on the blackboard, not in memory.
  await Promise.all(h.mesh.actors.splice(0).map((a) => a.stop()));
  const again = await startEmbedded({
    natsUrl: h.mesh.natsUrl,
    dataDir: h.dataDir,
    env: h.env,
    leaseMs: 10_000,
  });
  h.mesh.actors.push(...again.actors);
  // The new conductor's sweeps run meanwhile; the task must still be waiting, with no Coder started.
  await new Promise((r) => setTimeout(r, 1500));
  const still = (await (await h.api(`/v1/tasks/${id}`)).json()) as { task: { status: string } };
  expect(still.task.status).toBe('awaiting_plan_approval');
  expect(coderPrompts()).toEqual([]);

  const res = await h.api(`/v1/tasks/${id}/plan/approve`, {
    method: 'POST',
    body: JSON.stringify({ decision: 'approve', comment: 'narrower scope', plan: EDITED }),
  });
  expect(res.status, await res.clone().text()).toBe(202);
  const done = (await h.waitForStatus(id, 'completed')) as { task: { branch: string } };
  expect(git(repo, 'diff', base, done.task.branch)).toContain('+  return a - b;');

  const prompts = coderPrompts();
  expect(prompts.length).toBeGreaterThan(0);
  for (const p of prompts) {
    expect(p).toContain('Plan: Fix subtract only');
    expect(p).toContain('[fix-sub] Change subtract to return a - b (edited by a human)');
    expect(p).toContain('Leave add() alone.');
    expect(p).toContain('files in scope: src/calc.ts');
    expect(p).not.toContain('Rewrite the');
  }
  const events = (await h.client.bus.history(id)).map((e) => e.event.type);
  expect(events.filter((t) => t === 'plan.approval_requested')).toHaveLength(1);
  expect(events.indexOf('plan.approved')).toBeGreaterThan(events.indexOf('plan.approval_requested'));
}, 180_000);

it('a rejected plan ends the task with the reason, and no Coder runs', async () => {
  const before = coderPrompts().length;
  const id = await submit(makeFixtureRepo('ts-calc'));
  await h.waitForStatus(id, 'awaiting_plan_approval');
  const res = await h.api(`/v1/tasks/${id}/plan/approve`, {
    method: 'POST',
    body: JSON.stringify({ decision: 'reject', comment: 'touches files it should not' }),
  });
  expect(res.status).toBe(202);
  const body = (await h.waitForStatus(id, 'failed')) as { task: { reason: string } };
  expect(body.task.reason).toBe('plan rejected: touches files it should not');
  expect(coderPrompts().length).toBe(before);
}, 120_000);
