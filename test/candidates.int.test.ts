// k candidate patches end to end (real nats-server, git, bwrap, pytest; the scripted model over loopback): each
// candidate's Coder calls carry its own temperature, the Tester runs each, the choice follows the test evidence
// (then agreement, then the Reviewer's ranking), and a task where no candidate earns it ends abstained.
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../actors/recorder/index.ts';
import type { CandidateRecord, Selection, TaskEvent, TestRun } from '../schemas/index.ts';
import { git, makeFixtureRepo } from './fixture-repo.ts';
import { type Harness, readSse, startHarness } from './harness.ts';
import type { ScriptedReply, ScriptRequest } from './scripted-llm/index.ts';

const PLAN = JSON.stringify({
  summary: 'Fix subtract',
  subtasks: [
    { id: 'fix', title: 'Fix subtract', successCriteria: ['subtract(5, 3) == 2'], files: ['calc.py'] },
  ],
});
const APPROVE = JSON.stringify({ decision: 'approve', confidence: 0.9, critique: 'Looks right.', risks: [] });
const block = (search: string, replace: string) =>
  `calc.py\n<<<<<<< SEARCH\n${search}\n=======\n${replace}\n>>>>>>> REPLACE\n`;
const SUBTRACT = 'def subtract(a, b):\n    return a + b';
const ADD = 'def add(a, b):\n    return a + b';

/** What a candidate's Coder sends. */
const EDITS = {
  // Wrong: changes subtract, but test_subtract still fails (no test goes from failing to passing).
  wrong: block(SUBTRACT, 'def subtract(a, b):\n    return b - a'),
  // Failing: fixes subtract and breaks add (a regression).
  failing: block(
    `${ADD}\n\n\n${SUBTRACT}`,
    'def add(a, b):\n    return a * b\n\n\ndef subtract(a, b):\n    return a - b',
  ),
  passing: block(SUBTRACT, 'def subtract(a, b):\n    return a - b'),
  // The same change as `passing`, spaced differently: it agrees with it once diffs are normalized.
  passingSpaced: block(SUBTRACT, 'def subtract(a, b):\n    return a  -  b'),
  passingOther: block(SUBTRACT, 'def subtract(a, b):\n    return -(b - a)'),
  // No patch: a SEARCH that matches nothing, every time.
  noMatch: block('def multiply(a, b):\n    return a * b', 'def multiply(a, b):\n    return a * b * 1'),
} as const;

/** Candidate i of 3 gets temperature 0.2, 0.6 or 1.0 (the default spread): the script answers by it. */
const byTemperature = (t: unknown): number | undefined => ({ 0.2: 1, 0.6: 2, 1: 3 })[String(t) as '0.2'];

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ testTimeoutMs: 60_000 });
});
afterAll(async () => h?.stop());
// Every scripted answer was one the test meant (a script that threw, or a call it did not expect, shows here).
afterEach(() => expect(h.llm.errors).toEqual([]));

interface TaskBody {
  task: { id: string; status: string; reason?: string; branch?: string };
  candidates: Array<{ candidate: number; record: CandidateRecord | null; testRun: TestRun | null }>;
  selection: Selection | null;
  patches: Array<{ id: string; diff: string }>;
}

function script(edits: Record<number, string>, reviewer: (req: ScriptRequest) => ScriptedReply) {
  const temperatures: unknown[] = [];
  h.setScript((req) => {
    if (req.roleHint === 'planner') return { content: PLAN };
    if (req.roleHint === 'reviewer') return reviewer(req);
    temperatures.push(req.body.temperature);
    const n = byTemperature(req.body.temperature);
    return { content: n ? edits[n]! : 'no temperature: not a candidate call' };
  });
  return temperatures;
}

async function runTask(repo: string, status: string): Promise<TaskBody> {
  const res = await h.api('/v1/tasks', {
    method: 'POST',
    body: JSON.stringify({
      repo,
      title: 'Fix subtract',
      description: 'subtract(5, 3) returns 8',
      approve: 'auto',
      candidates: 3,
    }),
  });
  expect(res.status).toBe(201);
  const { task } = (await res.json()) as { task: { id: string } };
  const deadline = Date.now() + 240_000;
  for (;;) {
    const body = (await (await h.api(`/v1/tasks/${task.id}`)).json().catch(() => undefined)) as
      | TaskBody
      | undefined;
    const now = body?.task.status;
    if (now === status) return body!;
    if (now && ['completed', 'failed', 'abstained'].includes(now))
      throw new Error(`task ended ${now} (${body!.task.reason}), wanted ${status}`);
    if (Date.now() > deadline) throw new Error(`task ${task.id} still ${now} after 240 s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const events = async (taskId: string): Promise<TaskEvent[]> =>
  (await h.client.bus.history(taskId)).map((e) => e.event);
const reviewerCalls = (taskId: string) =>
  h.llm.calls.filter((c) => c.roleHint === 'reviewer' && c.headers['x-codemesh-task-id'] === taskId);

describe('k candidates and selection', () => {
  it('k=3 with one wrong, one failing and one passing candidate: the passing one is chosen', async () => {
    const temperatures = script({ 1: EDITS.wrong, 2: EDITS.failing, 3: EDITS.passing }, () => ({
      content: APPROVE,
    }));
    const repo = makeFixtureRepo('py-calc');
    const body = await runTask(repo, 'completed');
    const id = body.task.id;

    // Each candidate's Coder calls carried its own temperature.
    expect([...new Set(temperatures)].sort()).toEqual([0.2, 0.6, 1]);
    // Every candidate is kept, with its evidence.
    expect(body.candidates.map((c) => c.record?.state)).toEqual(['not_chosen', 'not_chosen', 'chosen']);
    expect(body.candidates.map((c) => c.record?.variant)).toEqual([
      { temperature: 0.2 },
      { temperature: 0.6 },
      { temperature: 1 },
    ]);
    expect(body.candidates.map((c) => c.testRun?.outcome)).toEqual(['pass', 'regression', 'pass']);
    expect(body.candidates[0]!.testRun?.verdict?.stillFailing).toContain('test_calc::test_subtract');
    expect(body.candidates[1]!.testRun?.verdict?.regressions).toEqual(['test_calc::test_add']);
    expect(body.candidates[2]!.testRun?.verdict?.fixed).toEqual(['test_calc::test_subtract']);
    const sel = body.selection!;
    expect(sel).toMatchObject({ chosen: 3, abstained: false, k: 3 });
    expect(sel.candidates.map((c) => [c.candidate, c.tier, c.place])).toEqual([
      [1, 'none', undefined],
      [2, 'none', undefined],
      [3, 'fixes', 1],
    ]);
    expect(sel.candidates[0]!.why).toBe('fixes none of the 1 test(s) failing on the base commit');
    // The chosen patch is the attempt's patch, and it is what was committed.
    expect(git(repo, 'show', `codemesh/${id}:calc.py`)).toContain('return a - b');
    expect(git(repo, 'show', `codemesh/${id}:calc.py`)).toContain('def add(a, b):\n    return a + b');
    // One candidate earned it: one ordinary review, of that one.
    const reviews = reviewerCalls(id);
    expect(reviews).toHaveLength(1);
    expect(JSON.stringify(reviews[0]!.body)).toContain(`Patch ${id}-p1-c3`);
    const evs = await events(id);
    expect(evs.find((e) => e.type === 'candidate.selected')?.data).toMatchObject({
      chosen: 3,
      patchId: `${id}-p1`,
    });
    expect(
      evs
        .filter((e) => e.type === 'test.completed')
        .map((e) => e.step?.part)
        .sort(),
    ).toEqual(['c1', 'c2', 'c3']);
    // The record keeps every candidate's patch and test run.
    await expect
      .poll(
        async () =>
          (await h.record.db.select().from(schema.testruns).where(eq(schema.testruns.taskId, id)))
            .map((r) => r.id)
            .sort(),
        { timeout: 20_000 },
      )
      .toEqual([`${id}-1-c1`, `${id}-1-c2`, `${id}-1-c3`]);
    const patches = (await h.record.db.select().from(schema.patches).where(eq(schema.patches.taskId, id)))
      .map((r) => r.id)
      .sort();
    expect(patches).toEqual([`${id}-p1`, `${id}-p1-c1`, `${id}-p1-c2`, `${id}-p1-c3`]);
  }, 300_000);

  it('all failing (wrong, a regression, no patch): the task abstains with the evidence, proposing nothing', async () => {
    script({ 1: EDITS.wrong, 2: EDITS.failing, 3: EDITS.noMatch }, () => ({ content: APPROVE }));
    const repo = makeFixtureRepo('py-calc');
    const first = await runTask(repo, 'abstained');
    const id = first.task.id;
    // The evidence is on the board before `task.abstained` is published (the status may show a moment earlier).
    const feed = await readSse(await h.api(`/v1/tasks/${id}/events`), (e) => e.type === 'task.abstained');
    const body = (await (await h.api(`/v1/tasks/${id}`)).json()) as TaskBody;
    expect(body.task.reason).toMatch(/^no candidate earned selection \(3 tried\)/);
    expect(body.task.reason).toContain('c1: fixes none of the 1 test(s) failing on the base commit');
    expect(body.task.reason).toContain('c2: tests regression (1 regression(s))');
    expect(body.task.reason).toMatch(/c3: no patch \(/);
    expect(body.selection).toMatchObject({ abstained: true, k: 3 });
    expect(body.selection?.chosen).toBeUndefined();
    expect(body.selection?.candidates.map((c) => c.tier)).toEqual(['none', 'none', 'none']);
    expect(body.candidates.map((c) => c.record?.state)).toEqual(['not_chosen', 'not_chosen', 'no_patch']);
    // Nothing was reviewed, approved or committed; no attempt patch exists.
    expect(reviewerCalls(id)).toHaveLength(0);
    expect(body.patches).toEqual([]);
    expect(() => git(repo, 'rev-parse', '--verify', '-q', `codemesh/${id}`)).toThrow();
    // The feed ends with the abstention and its evidence, and the record says abstained.
    const last = feed.at(-1)!.event;
    expect(last.data).toMatchObject({ reason: body.task.reason });
    expect((last.data.candidates as Array<{ tier: string }>).map((c) => c.tier)).toEqual([
      'none',
      'none',
      'none',
    ]);
    await expect
      .poll(
        async () => (await h.record.db.select().from(schema.tasks).where(eq(schema.tasks.id, id)))[0]?.status,
        { timeout: 20_000 },
      )
      .toBe('abstained');
  }, 300_000);

  it('two passing candidates that agree win over the Reviewer’s first choice; its ranking breaks their tie', async () => {
    script({ 1: EDITS.passing, 2: EDITS.passingSpaced, 3: EDITS.passingOther }, (req) => {
      const prompt = JSON.stringify(req.body.messages);
      expect(prompt).toContain('=== Candidate 1');
      return {
        content: JSON.stringify({
          ranking: [3, 2, 1].map((candidate) => ({
            candidate,
            decision: 'approve',
            confidence: 0.8,
            critique: `candidate ${candidate} is fine`,
            risks: [],
          })),
        }),
      };
    });
    const repo = makeFixtureRepo('py-calc');
    const body = await runTask(repo, 'completed');
    const sel = body.selection!;
    expect(sel.candidates.map((c) => [c.candidate, c.tier, c.votes, c.reviewRank, c.place])).toEqual([
      [1, 'fixes', 2, 3, 2],
      [2, 'fixes', 2, 2, 1],
      [3, 'fixes', 1, 1, 3],
    ]);
    expect(sel.chosen).toBe(2);
    expect(sel.ranking?.map((r) => r.candidate)).toEqual([3, 2, 1]);
    expect(sel.verdict?.critique).toBe('candidate 2 is fine');
    expect(reviewerCalls(body.task.id)).toHaveLength(1);
    expect(git(repo, 'show', `codemesh/${body.task.id}:calc.py`)).toContain('return a  -  b');
  }, 300_000);
});
