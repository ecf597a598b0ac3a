// The test-writing step end to end (real nats-server, git, bwrap, pytest; the scripted model over loopback):
// the issue has no failing test, so a Coder instance writes one before the fix and codemesh runs it on the base
// commit. One that passes there is sent back once with the evidence and then rejected; one that fails there is
// kept, the fix is asked to make it pass, and it is part of the patch the Tester confirms.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { keys, Patch, patchId, ReproTest, type TaskEvent, TestRun } from '../schemas/index.ts';
import { git, makeFixtureRepo } from './fixture-repo.ts';
import { type Harness, startHarness } from './harness.ts';
import type { ScriptRequest } from './scripted-llm/index.ts';

const PLAN = JSON.stringify({
  summary: 'Fix subtract',
  subtasks: [
    { id: 'fix', title: 'Fix subtract', successCriteria: ['subtract(5, 3) == 2'], files: ['calc.py'] },
  ],
});
const APPROVE = JSON.stringify({ decision: 'approve', confidence: 0.9, critique: 'Looks right.', risks: [] });
const block = (file: string, search: string, replace: string) =>
  `${file}\n<<<<<<< SEARCH\n${search}\n=======\n${replace}\n>>>>>>> REPLACE\n`;
const TEST_ADD = 'def test_add():\n    assert add(2, 3) == 5';
const FIX = block(
  'calc.py',
  'def subtract(a, b):\n    return a + b',
  'def subtract(a, b):\n    return a - b',
);

/** The py-calc fixture without its test of subtract: no test shows the bug. */
function repoWithoutFailingTest(): string {
  const repo = makeFixtureRepo('py-calc');
  writeFileSync(join(repo, 'test_calc.py'), `from calc import add, subtract\n\n\n${TEST_ADD}\n`);
  git(repo, 'commit', '-qam', 'no test of subtract');
  return repo;
}

const isWriter = (req: ScriptRequest) =>
  (req.body.messages ?? []).some(
    (m) => typeof m.content === 'string' && m.content.includes('You are the test writer'),
  );
const textOf = (req: ScriptRequest) =>
  (req.body.messages ?? []).map((m) => String(m.content ?? '')).join('\n');

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ testTimeoutMs: 60_000 });
});
afterAll(async () => h?.stop());
afterEach(() => expect(h.llm.errors).toEqual([]));

/** Scripts the mesh; the test writer answers `tests` in turn. Returns the writer's and the fixer's requests. */
function script(tests: string[]) {
  const writer: ScriptRequest[] = [];
  const fixer: ScriptRequest[] = [];
  h.setScript((req) => {
    if (req.roleHint === 'planner') return { content: PLAN };
    if (req.roleHint === 'reviewer') return { content: APPROVE };
    if (isWriter(req)) {
      writer.push(req);
      return { content: tests[writer.length - 1] ?? 'no more tests scripted' };
    }
    fixer.push(req);
    return { content: FIX };
  });
  return { writer, fixer };
}

async function runTask(repo: string): Promise<string> {
  const res = await h.api('/v1/tasks', {
    method: 'POST',
    body: JSON.stringify({
      repo,
      title: 'Fix subtract',
      description: 'subtract(5, 3) returns 8',
      approve: 'auto',
      config: { test: { reproduce: true } },
    }),
  });
  expect(res.status).toBe(201);
  const { task } = (await res.json()) as { task: { id: string } };
  await h.waitForStatus(task.id, 'completed', 240_000);
  return task.id;
}

const events = async (taskId: string): Promise<TaskEvent[]> =>
  (await h.client.bus.history(taskId)).map((e) => e.event);

describe('the test-writing step', () => {
  it('a written test that passes on the base commit is sent back with the evidence, then rejected', async () => {
    const { writer, fixer } = script([
      // subtract(2, 0) is 2 with the bug too: both pass on the base commit.
      block(
        'test_calc.py',
        TEST_ADD,
        `${TEST_ADD}\n\n\ndef test_subtract_zero():\n    assert subtract(2, 0) == 2`,
      ),
      block(
        'test_calc.py',
        'def test_subtract_zero():\n    assert subtract(2, 0) == 2',
        'def test_subtract_zero():\n    assert subtract(0, 0) == 0',
      ),
    ]);
    const id = await runTask(repoWithoutFailingTest());

    const checked = (await events(id)).filter((e) => e.type === 'reproduction.checked');
    expect(checked.map((e) => [e.data.verdict, e.data.try, e.step?.part])).toEqual([
      ['rejected', 1, 'r1'],
      ['rejected', 2, 'r1'],
    ]);
    expect(checked[0]!.data.tests).toEqual([expect.objectContaining({ status: 'passed' })]);
    // The second try was sent the evidence: the test passed on the base commit.
    expect(writer).toHaveLength(2);
    expect(textOf(writer[1]!)).toMatch(
      /Your test was rejected: passes on the base commit.*test_subtract_zero passed/,
    );
    const done = (await events(id)).find((e) => e.type === 'step.completed' && e.step?.part === 'r1');
    expect(done?.data).toMatchObject({ state: 'rejected' });
    // Nothing is kept: the fix starts from the base commit, and its patch has no written test.
    expect(await h.client.board.get(keys.repro(id), ReproTest)).toBeUndefined();
    expect(textOf(fixer[0]!)).not.toContain(
      'A test that reproduces the issue is already in the working tree',
    );
    const patch = (await h.client.board.get(keys.patch(patchId(id, 1)), Patch))!.value;
    expect(patch.files).toEqual(['calc.py']);
  }, 300_000);

  it('a written test that fails on the base commit is kept, the fix makes it pass, and it is in the patch', async () => {
    const { writer, fixer } = script([
      block(
        'test_calc.py',
        TEST_ADD,
        `${TEST_ADD}\n\n\ndef test_subtract():\n    assert subtract(5, 3) == 2`,
      ),
    ]);
    const id = await runTask(repoWithoutFailingTest());

    expect(writer).toHaveLength(1);
    const checked = (await events(id)).filter((e) => e.type === 'reproduction.checked');
    expect(checked.map((e) => e.data.verdict)).toEqual(['kept']);
    const kept = (await h.client.board.get(keys.repro(id), ReproTest))!.value;
    expect(kept.files).toEqual(['test_calc.py']);
    expect(kept.tests).toEqual([expect.objectContaining({ status: 'failed' })]);
    expect(kept.tests[0]!.name).toMatch(/test_subtract$/);
    // The Coder was told, and started from it: the patch holds the test and the fix.
    expect(textOf(fixer[0]!)).toContain('A test that reproduces the issue is already in the working tree');
    const patch = (await h.client.board.get(keys.patch(patchId(id, 1)), Patch))!.value;
    expect([...patch.files].sort()).toEqual(['calc.py', 'test_calc.py']);
    expect(patch.diff).toContain('+def test_subtract():');
    // The Tester: it fails without the fix, passes with it.
    const run = (await h.client.board.get(keys.testrun(id, 1), TestRun))!.value;
    expect(run.verdict?.reproduction?.status).toBe('confirmed');
    expect(run.verdict?.fixed.some((n) => n.endsWith('test_subtract'))).toBe(true);
    expect(run.outcome).toBe('pass');
  }, 300_000);
});
