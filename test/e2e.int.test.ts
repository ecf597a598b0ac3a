// End to end, with real nats-server, git, bwrap and a scripted OpenAI-compatible model over HTTP:
// wrong patch → failing tests → reviewer sends it back → right patch → passing tests → gate → approve → commit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskEvent } from '../schemas/index.ts';
import { git, makeFixtureRepo } from './fixture-repo.ts';
import { type Harness, PRICE_IN, PRICE_OUT, readSse, startHarness } from './harness.ts';
import { byRole, type ScriptedReply } from './scripted-llm/index.ts';

const USAGE = { prompt_tokens: 100, completion_tokens: 20 };
const COST_PER_CALL = (100 / 1000) * PRICE_IN + (20 / 1000) * PRICE_OUT;

const plan = (file: string) =>
  JSON.stringify({
    summary: 'Make subtract return a - b',
    subtasks: [
      { id: 'fix', title: 'Fix subtract', successCriteria: ['subtract(5, 3) == 2'], files: [file] },
      {
        id: 'verify',
        title: 'Run the tests',
        role: 'tester',
        dependsOn: ['fix'],
        successCriteria: ['all tests pass'],
      },
    ],
    risks: [],
  });

const block = (file: string, search: string, replace: string) =>
  `${file}\n<<<<<<< SEARCH\n${search}\n=======\n${replace}\n>>>>>>> REPLACE\n`;

interface Lang {
  fixture: 'ts-calc' | 'py-calc';
  file: string;
  head: string;
  wrong: string;
  right: string;
  original: string;
  failingTest: RegExp;
}

const LANGS: Lang[] = [
  {
    fixture: 'ts-calc',
    file: 'src/calc.ts',
    head: 'export function subtract(a: number, b: number): number {',
    original: '  return a + b;',
    wrong: '  return b - a;',
    right: '  return a - b;',
    failingTest: /subtracts/,
  },
  {
    fixture: 'py-calc',
    file: 'calc.py',
    head: 'def subtract(a, b):',
    original: '    return a + b',
    wrong: '    return b - a',
    right: '    return a - b',
    failingTest: /test_subtract/,
  },
];

function script(l: Lang) {
  const u = (r: ScriptedReply): ScriptedReply => ({ usage: USAGE, ...r });
  return byRole({
    planner: [u({ content: plan(l.file) })],
    coder: [
      u({ toolCalls: [{ name: 'read_file', arguments: { path: l.file } }] }),
      u({ content: block(l.file, `${l.head}\n${l.original}`, `${l.head}\n${l.wrong}`) }),
      u({ content: block(l.file, l.wrong, l.right) }),
    ],
    reviewer: [
      u({
        content: JSON.stringify({
          decision: 'revise',
          confidence: 0.3,
          critique: 'subtract returns b - a; it must return a - b',
          risks: [],
        }),
      }),
      u({
        content: JSON.stringify({
          decision: 'approve',
          confidence: 0.86,
          critique: 'Correct and tested.',
          risks: [{ level: 'low', note: 'one-line change' }],
        }),
      }),
    ],
  });
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.stop());

describe.each(LANGS)('a task on the $fixture fixture', (l) => {
  it('goes wrong patch → revise → right patch → gate → approve → one commit', async () => {
    h.setScript(script(l));
    const repo = makeFixtureRepo(l.fixture);
    const mainBefore = git(repo, 'rev-parse', 'main');
    const res = await h.api('/v1/tasks', {
      method: 'POST',
      body: JSON.stringify({
        repo,
        title: 'Fix subtract',
        description: 'subtract(5, 3) returns 8, expected 2.',
      }),
    });
    expect(res.status).toBe(201);
    const { task } = (await res.json()) as { task: { id: string } };

    const sse = h
      .api(`/v1/tasks/${task.id}/events`)
      .then((r) => readSse(r, (e) => e.type === 'task.completed'));
    await h.waitForStatus(task.id, 'awaiting_approval').catch(async (err) => {
      const dump = (await (await h.api(`/v1/tasks/${task.id}`)).json()) as {
        testRuns: Array<{ log: string }>;
      };
      throw new Error(
        `${(err as Error).message}\n${dump.testRuns.map((t) => t.log.slice(-3000)).join('\n----\n')}`,
      );
    });
    const patchId = `${task.id}-p2`;
    const approve = await h.api(`/v1/patches/${patchId}/approve`, {
      method: 'POST',
      body: JSON.stringify({ decision: 'approve', comment: 'ship it' }),
    });
    expect(approve.status).toBe(202);
    const body = (await h.waitForStatus(task.id, 'completed')) as {
      task: { branch: string; commit: string };
      testRuns: Array<{
        attempt: number;
        passed: boolean;
        tests: Array<{ name: string; status: string }>;
        verdict: { fixed: string[]; stillFailing: string[]; regressions: string[] };
      }>;
      reviews: Array<{ decision: string; confidence: number }>;
      cost: { promptTokens: number; completionTokens: number; costUsd: number; calls: number };
    };

    // The branch: exactly one commit on top of the base, with the right change, and main untouched.
    const branch = `codemesh/${task.id}`;
    expect(body.task.branch).toBe(branch);
    expect(git(repo, 'rev-list', '--count', `${mainBefore}..${branch}`)).toBe('1');
    const diff = git(repo, 'diff', mainBefore, branch);
    expect(diff).toContain(`-${l.original}`);
    expect(diff).toContain(`+${l.right}`);
    expect(diff).not.toContain(l.wrong.trim());
    expect(git(repo, 'rev-parse', 'main')).toBe(mainBefore);
    expect(git(repo, 'log', '-1', '--format=%B', branch)).toContain(`Codemesh-Patch: ${patchId}`);

    // Test runs: attempt 1 still fails the subtract test, which failed on the base too (pre-existing: it
    // does not block by itself, the Reviewer sends the patch back); attempt 2 fixes it.
    expect(body.testRuns.map((t) => [t.attempt, t.passed])).toEqual([
      [1, true],
      [2, true],
    ]);
    const failed = body.testRuns[0]!.tests.filter((t) => t.status === 'failed').map((t) => t.name);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatch(l.failingTest);
    expect(body.testRuns[0]!.verdict).toMatchObject({ fixed: [], stillFailing: failed, regressions: [] });
    expect(body.testRuns[1]!.verdict).toMatchObject({ fixed: failed, stillFailing: [], regressions: [] });
    expect(body.testRuns[1]!.tests.every((t) => t.status === 'passed')).toBe(true);
    expect(body.reviews.map((r) => r.decision)).toEqual(['revise', 'approve']);

    // Tokens and cost: 1 planner + 3 coder + 2 reviewer calls.
    expect(body.cost.calls).toBe(6);
    expect(body.cost.promptTokens).toBe(600);
    expect(body.cost.completionTokens).toBe(120);
    expect(body.cost.costUsd).toBeCloseTo(6 * COST_PER_CALL, 10);
    expect(h.llm.errors).toEqual([]);

    // The SSE feed, in order (the memory role's `memory.stored` comes when it comes: it is not a step).
    const events = await sse;
    const types = events
      .map((e) => e.event.type)
      .filter((t) => !['step.awarded', 'cost.recorded', 'memory.stored'].includes(t));
    expect(types).toEqual([
      'task.created',
      'plan.ready',
      'step.completed',
      'patch.proposed',
      'step.completed',
      'test.completed',
      'step.completed',
      'review.completed',
      'step.completed',
      'patch.proposed',
      'step.completed',
      'test.completed',
      'step.completed',
      'review.completed',
      'step.completed',
      'approval.requested',
      'approval.granted',
      'integrate.committed',
      'step.completed',
      'task.completed',
    ]);
    const ids = events.map((e) => e.id);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    expect(events.filter((e) => e.event.type === 'cost.recorded')).toHaveLength(6);
    // The model's API key never reaches an event or the blackboard.
    const stored = JSON.stringify(events) + JSON.stringify(body);
    expect(stored).not.toContain(h.env.CODEMESH_LLM_API_KEY);

    // Resuming from Last-Event-ID replays only what came after it.
    const resumeFrom = events[5]!.id;
    const resumed = await readSse(
      await h.api(`/v1/tasks/${task.id}/events`, { headers: { 'last-event-id': String(resumeFrom) } }),
      (e: TaskEvent) => e.type === 'task.completed',
    );
    expect(resumed[0]!.id).toBeGreaterThan(resumeFrom);
    expect(resumed.map((e) => e.id)).toEqual(ids.filter((i) => i > resumeFrom));

    // Rollback: a revert of the integrated commit on a new branch; the task branch stays as it was.
    const rb = await h.api(`/v1/patches/${patchId}/rollback`, {
      method: 'POST',
      body: JSON.stringify({ reason: 'undo' }),
    });
    expect(rb.status).toBe(202);
    const rolled = (await h.waitForStatus(task.id, 'rolled_back')) as { task: { rollbackBranch: string } };
    expect(rolled.task.rollbackBranch).toBe(`${branch}-rollback`);
    expect(git(repo, 'rev-parse', `${branch}-rollback~1`)).toBe(git(repo, 'rev-parse', branch));
    expect(git(repo, 'rev-parse', `${branch}-rollback^{tree}`)).toBe(
      git(repo, 'rev-parse', `${mainBefore}^{tree}`),
    );
    expect(git(repo, 'rev-parse', 'main')).toBe(mainBefore);
    // The rollback is visible: the resource says who, when and what; the stream ends at task.rolled_back.
    const { rollback } = (await (await h.api(`/v1/tasks/${task.id}`)).json()) as {
      rollback: Record<string, unknown>;
    };
    expect(rollback).toMatchObject({
      state: 'rolled_back',
      patchId,
      reason: 'undo',
      branch: `${branch}-rollback`,
      commit: git(repo, 'rev-parse', `${branch}-rollback`),
      reverts: git(repo, 'rev-parse', branch),
      byName: expect.any(String),
      doneAt: expect.any(String),
    });
    const after = (await readSse(await h.api(`/v1/tasks/${task.id}/events`))).map((e) => e.event.type);
    expect(after.at(-1)).toBe('task.rolled_back');
    expect(after.filter((t) => t.startsWith('rollback.') || t.startsWith('task.'))).toEqual([
      'task.created',
      'task.completed',
      'rollback.requested',
      'rollback.committed',
      'task.rolled_back',
    ]);
    // Two rounds of real tests in bubblewrap: 20–30 s on a quiet machine, past 60 s on a loaded one.
  }, 180_000);
});
