// Experience memory on the whole mesh (issue 14 item 3): a task's integrated patch is stored by the memory
// role, and a second, similar task on the same repository gets it in its Planner's and Coder's prompts, with a
// `memory.recalled` event naming it; a third task's patch sent back by a person is stored as rejected with
// the comment, and the second task's prompts say so.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { tables } from '../actors/recorder/index.ts';
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
const REJECT_COMMENT = 'Do not touch subtract, fix the caller instead';

let h: Harness;
beforeAll(async () => {
  // An embedding model configured: the recorder role keeps a vector per entry (hash vectors: they do not
  // make unlike texts near, so recall here is still by words).
  h = await startHarness({ embeddings: true });
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

it('a second, similar task gets the first one’s integrated patch and a rejected one (with the comment) in its prompts', {
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

  // A similar task whose patch a person sends back with a comment: stored as rejected, the comment with it,
  // and the recorder keeps it as a row (it answers recall).
  const callsOfFirst = h.llm.calls.length;
  const rejected = await runToGate(
    repo,
    'subtract adds its arguments',
    'subtract(9, 4) returns 13 instead of 5.',
  );
  const asked = await h.api(`/v1/patches/${rejected}-p1/approve`, {
    method: 'POST',
    body: JSON.stringify({ decision: 'request_changes', comment: REJECT_COMMENT }),
  });
  expect(asked.status).toBe(202);
  const rkey = keys.memory(memoryRepoKey(repo), rejected, `${rejected}-p1`);
  const rowOf = async () =>
    (
      await h.record.db
        .select()
        .from(tables.memoryEntries)
        .where(eq(tables.memoryEntries.patchId, `${rejected}-p1`))
    )[0];
  while (!(await rowOf()) && Date.now() < deadline + 30_000) await new Promise((r) => setTimeout(r, 100));
  expect((await h.client.board.get(rkey, MemoryEntry))?.value).toMatchObject({
    outcome: 'rejected',
    note: expect.stringContaining(`: ${REJECT_COMMENT}`),
  });
  expect(await rowOf()).toMatchObject({ taskId: rejected, outcome: 'rejected' });
  // Both entries get a vector through the configured model (off the projection path, so waited for).
  const vectors = async () =>
    (await h.record.db.select({ patchId: tables.memoryEmbeddings.patchId }).from(tables.memoryEmbeddings))
      .map((r) => r.patchId)
      .sort();
  while ((await vectors()).length < 2 && Date.now() < deadline + 60_000)
    await new Promise((r) => setTimeout(r, 100));
  expect(await vectors()).toEqual([`${first}-p1`, `${rejected}-p1`].sort());

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
    expect(prompt, role).toMatch(
      new RegExp(
        `subtract adds its arguments \\[${rejected}\\] — REJECTED \\(changes requested by [^:]+: ${REJECT_COMMENT}`,
      ),
    );
    expect(prompt, role).toContain('do not propose it again');
  }
  // Its patch is the rejected one's again: the Reviewer is told so, naming it and the comment.
  const review = later
    .filter((c) => c.roleHint === 'reviewer')
    .map(text)
    .join('\n');
  expect(review).toContain('this patch repeats an approach that was turned down before');
  expect(review).toContain(`patch ${rejected}-p1 of task ${rejected}`);
  expect(review).toContain(REJECT_COMMENT);
  const recalled = (await h.client.bus.history(second))
    .map((x) => x.event)
    .filter((e) => e.type === 'memory.recalled');
  // One per step that built a prompt: the plan and the code step.
  expect(recalled.map((e) => e.step?.kind).sort()).toEqual(['code', 'plan']);
  for (const e of recalled)
    expect(e.data.memories).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ taskId: first, outcome: 'integrated', title: 'subtract returns the sum' }),
        expect.objectContaining({
          taskId: rejected,
          outcome: 'rejected',
          via: ['lexical'],
          // Answered by the recorder from its rows, not read off the blackboard.
          from: 'record',
        }),
      ]),
    );
  // The first task's own prompts had no memory (nothing was stored before it).
  const firstPrompts = h.llm.calls.slice(0, callsOfFirst).map(text).join('\n');
  expect(firstPrompts).not.toContain('experience memory');
});
