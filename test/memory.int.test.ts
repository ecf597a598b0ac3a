// Experience memory on the whole mesh (issue 14 item 3): a task's integrated patch is stored by the memory
// role, and a second, similar task on the same repository gets it in its Planner's and Coder's prompts, with a
// `memory.recalled` event naming it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MemoryEntry } from '../schemas/index.ts';
import { memoryRepoKey } from '../actors/memory/index.ts';
import { keys } from '../schemas/index.ts';
import { makeFixtureRepo } from './fixture-repo.ts';
import { type Harness, startHarness } from './harness.ts';
import type { Script } from './scripted-llm/index.ts';
import { APPROVE, SUBTRACT_PLAN, subtractCoder, USAGE } from './ts-calc-answers.ts';

const script: Script = (req) => {
  if (req.roleHint === 'planner') return { usage: USAGE, content: JSON.stringify(SUBTRACT_PLAN) };
  if (req.roleHint === 'reviewer') return APPROVE;
  return subtractCoder(req);
};

const text = (call: { body: unknown }) => JSON.stringify(call.body);

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  h.setScript(script);
});
afterAll(async () => h?.stop());

async function runToGate(repo: string, title: string, description: string): Promise<string> {
  const created = await h.api('/v1/tasks', {
    method: 'POST',
    body: JSON.stringify({ repo, title, description }),
  });
  expect(created.status).toBe(201);
  const id = ((await created.json()) as { task: { id: string } }).task.id;
  await h.waitForStatus(id, 'awaiting_approval', 150_000);
  return id;
}

it('a second, similar task gets the first one’s integrated patch in its prompts', {
  timeout: 300_000,
}, async () => {
  const repo = makeFixtureRepo('ts-calc');
  const first = await runToGate(repo, 'subtract returns the sum', 'subtract(5, 3) returns 8 instead of 2.');
  const approved = await h.api(`/v1/patches/${first}-p1/approve`, {
    method: 'POST',
    body: JSON.stringify({ decision: 'approve' }),
  });
  expect(approved.status).toBe(202);
  await h.waitForStatus(first, 'completed', 60_000);
  // The memory role stores it (asynchronously, from the events).
  const key = keys.memory(memoryRepoKey(repo), first, `${first}-p1`);
  const deadline = Date.now() + 30_000;
  while (!(await h.client.board.get(key, MemoryEntry)) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  const entry = (await h.client.board.get(key, MemoryEntry))?.value;
  expect(entry).toMatchObject({ outcome: 'integrated', patchId: `${first}-p1`, files: ['src/calc.ts'] });
  expect(entry!.diff).toContain('+  return a - b;');

  const callsBefore = h.llm.calls.length;
  const second = await runToGate(
    repo,
    'subtract gives the sum of its arguments',
    'subtract(7, 2) returns 9; subtract should return the difference.',
  );
  const later = h.llm.calls.slice(callsBefore);
  for (const role of ['planner', 'coder'] as const) {
    const prompt = later
      .filter((c) => c.roleHint === role)
      .map(text)
      .join('\n');
    expect(prompt, role).toContain(`subtract returns the sum [${first}] — INTEGRATED`);
    expect(prompt, role).toContain('+  return a - b;');
  }
  const recalled = (await h.client.bus.history(second))
    .map((x) => x.event)
    .filter((e) => e.type === 'memory.recalled');
  // One per step that built a prompt: the plan and the code step.
  expect(recalled.map((e) => e.step?.kind).sort()).toEqual(['code', 'plan']);
  for (const e of recalled)
    expect(e.data.memories).toEqual([
      expect.objectContaining({ taskId: first, outcome: 'integrated', title: 'subtract returns the sum' }),
    ]);
  // The first task's own prompts had no memory (nothing was stored before it).
  const firstPrompts = h.llm.calls.slice(0, callsBefore).map(text).join('\n');
  expect(firstPrompts).not.toContain('experience memory');
});
