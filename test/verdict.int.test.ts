// The test step's verdict end to end (real nats-server, git, bwrap, pytest; scripted model): pre-existing
// failures do not block, a regression does, a flaky test is marked and not counted, the base run is cached
// for the next attempt, a timeout reads as one, and a repository whose tests cannot run fails saying so.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestRun } from '../schemas/index.ts';
import { git, makeFixtureRepo } from './fixture-repo.ts';
import { type Harness, readSse, startHarness } from './harness.ts';
import { byRole, type ScriptedReply } from './scripted-llm/index.ts';

// Generous: on a loaded machine one pytest start in bwrap takes 10 s or more.
const TEST_TIMEOUT_MS = 40_000;

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
const FIXED = 'def subtract(a, b):\n    return a - b';

/** py-calc plus extra committed files. */
function repoWith(files: Record<string, string>): string {
  const repo = makeFixtureRepo('py-calc');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(repo, name), text);
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '--allow-empty', '-m', 'extra tests');
  return repo;
}

interface TaskBody {
  task: { id: string; status: string; reason?: string };
  testRuns: TestRun[];
  reviews: Array<{ decision: string; critique: string }>;
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ testTimeoutMs: TEST_TIMEOUT_MS });
});
afterAll(async () => h?.stop());

async function runTask(
  repo: string,
  replies: { coder: string[]; reviewer?: string[] },
  status: string,
): Promise<TaskBody> {
  const u = (content: string): ScriptedReply => ({ content });
  h.setScript(
    byRole({
      planner: [u(PLAN)],
      coder: replies.coder.map(u),
      reviewer: (replies.reviewer ?? replies.coder.map(() => APPROVE)).map(u),
    }),
  );
  const res = await h.api('/v1/tasks', {
    method: 'POST',
    body: JSON.stringify({
      repo,
      title: 'Fix subtract',
      description: 'subtract(5, 3) returns 8',
      approve: 'auto',
      // The verdict categories are about every test of the suite; by default only related tests would run.
      config: { test: { scope: 'all' } },
    }),
  });
  expect(res.status).toBe(201);
  const { task } = (await res.json()) as { task: { id: string } };
  // Polled here, not with h.waitForStatus: on a loaded machine a poll may hit a reset keep-alive socket.
  const deadline = Date.now() + 150_000;
  for (;;) {
    const body = (await getJson(`/v1/tasks/${task.id}`)) as TaskBody | undefined;
    const now = body?.task.status;
    if (now === status) return body!;
    if (now && ['completed', 'failed'].includes(now)) {
      throw new Error(
        `task ended ${now} (${body!.task.reason}), wanted ${status}\n${body!.testRuns.map((t) => `${t.outcome} ${t.reason}\n${t.log.slice(-2000)}`).join('\n----\n')}`,
      );
    }
    if (Date.now() > deadline) throw new Error(`task ${task.id} still ${now} after 150 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function getJson(path: string): Promise<unknown> {
  try {
    return await (await h.api(path)).json();
  } catch {
    return undefined;
  }
}

const reviewerPrompts = () =>
  h.llm.calls
    .filter((c) => c.roleHint === 'reviewer')
    .map((c) => JSON.stringify((c.body as { messages: unknown[] }).messages));

describe('the test verdict on a Python repository', () => {
  it('pre-existing failures (one an import error) do not block: the task completes', async () => {
    const repo = repoWith({
      'test_legacy.py': 'def test_legacy():\n    assert False, "broken before any patch"\n',
      'test_optional.py': 'def test_yaml_support():\n    import not_installed_module_xyz  # noqa\n',
    });
    const before = h.llm.calls.length;
    const body = await runTask(repo, { coder: [block(SUBTRACT, FIXED)] }, 'completed');
    expect(body.testRuns).toHaveLength(1);
    const run = body.testRuns[0]!;
    expect(run.outcome).toBe('pass');
    expect(run.passed).toBe(true);
    expect(run.verdict?.fixed).toEqual(['test_calc::test_subtract']);
    expect(run.verdict?.regressions).toEqual([]);
    expect(run.verdict?.stillFailing.sort()).toEqual([
      'test_legacy::test_legacy',
      'test_optional::test_yaml_support',
    ]);
    expect(run.verdict?.envErrors).toEqual([
      expect.objectContaining({ name: 'test_optional::test_yaml_support', onBase: true }),
    ]);
    expect(run.verdict?.envErrors[0]?.message).toMatch(/ModuleNotFoundError/);
    expect(run.baseline).toMatchObject({ cached: false, counts: { passed: 1, failed: 3 } });
    expect(run.reason).toBe(
      '1 fixed, 0 regressions, 2 pre-existing failures (not blocking), 1 environment error',
    );
    // The Reviewer saw the categories.
    const prompt = reviewerPrompts().slice(-1)[0] ?? '';
    expect(h.llm.calls.length).toBeGreaterThan(before);
    expect(prompt).toContain('Pre-existing failures, not blocking (2)');
    expect(prompt).toContain('Fixed by the patch (1): test_calc::test_subtract');
  }, 180_000);

  it('a regression blocks (revise), the next attempt reuses the cached base run and completes', async () => {
    const repo = repoWith({});
    const body = await runTask(
      repo,
      {
        coder: [
          block(
            `def add(a, b):\n    return a + b\n\n\n${SUBTRACT}`,
            `def add(a, b):\n    return a * b\n\n\n${FIXED}`,
          ),
          block('    return a * b', '    return a + b'),
        ],
      },
      'completed',
    );
    const [first, second] = body.testRuns;
    expect(first).toMatchObject({ outcome: 'regression', passed: false });
    expect(first!.verdict?.regressions).toEqual(['test_calc::test_add']);
    expect(first!.verdict?.fixed).toEqual(['test_calc::test_subtract']);
    // Confirmed by three re-runs alone before it counted.
    expect(first!.log).toMatch(/re-run 3\/3 \(test_calc\.py::test_add\): test_calc::test_add=failed/);
    expect(body.reviews[0]?.decision).toBe('revise');
    expect(body.reviews[0]?.critique).toMatch(/Regressions .*: test_calc::test_add/);
    expect(first!.baseline?.cached).toBe(false);
    // Attempt 2: the base run came from the blackboard, no base run happened (it would have left a log).
    expect(second).toMatchObject({ outcome: 'pass', passed: true, baseline: { cached: true } });
    expect(second!.baseline?.key).toBe(first!.baseline?.key);
    const logs = join(h.dataDir, 'logs');
    expect(existsSync(join(logs, `${body.task.id}-test-1-base.log`))).toBe(true);
    expect(existsSync(join(logs, `${body.task.id}-test-2-base.log`))).toBe(false);
  }, 180_000);

  it('a test that fails once and passes on a re-run is flaky: marked, suggested for quarantine, not a regression', async () => {
    // Fails on its first run in a checkout once calc.py carries the marker the patch adds (state left
    // behind, like a warm cache): deterministic flakiness. Each sandbox job works on a copy of the tree and
    // only the report directory comes back, so that is where the state survives from one run to the next.
    const repo = repoWith({
      'test_flaky.py': [
        'import os',
        '',
        'def test_warm_cache():',
        "    if 'warm-cache' not in open('calc.py').read():",
        '        return',
        "    state = '.codemesh-report/flaky-count'",
        '    n = int(open(state).read()) + 1 if os.path.exists(state) else 1',
        "    open(state, 'w').write(str(n))",
        "    assert n % 2 == 0, f'cold cache on run {n}'",
        '',
      ].join('\n'),
    });
    const body = await runTask(repo, { coder: [block(SUBTRACT, `${FIXED}  # warm-cache`)] }, 'completed');
    const run = body.testRuns[0]!;
    expect(run.outcome).toBe('pass');
    expect(run.verdict?.flaky).toEqual(['test_flaky::test_warm_cache']);
    expect(run.verdict?.regressions).toEqual([]);
    expect(run.quarantine).toEqual([{ name: 'test_flaky::test_warm_cache', runs: ['failed', 'passed'] }]);
    const events = await readSse(
      await h.api(`/v1/tasks/${body.task.id}/events`),
      (e) => e.type === 'task.completed',
    );
    const flaky = events.find((e) => e.event.type === 'test.flaky');
    expect(flaky?.event.data).toMatchObject({ tests: ['test_flaky::test_warm_cache'] });
  }, 180_000);

  it('a patch that makes the tests hang is reported as a timeout and sent back', async () => {
    const repo = repoWith({});
    const body = await runTask(
      repo,
      {
        coder: [
          block(SUBTRACT, 'def subtract(a, b):\n    while True:\n        pass'),
          block('    while True:\n        pass', '    return a - b'),
        ],
      },
      'completed',
    );
    const first = body.testRuns[0]!;
    expect(first).toMatchObject({
      outcome: 'timeout',
      timedOut: true,
      envFault: false,
      reason: 'timed out after 40s',
    });
    expect(body.reviews[0]).toMatchObject({ decision: 'revise' });
    expect(body.reviews[0]?.critique).toContain('timed out after 40s');
    expect(body.testRuns[1]?.outcome).toBe('pass');
  }, 180_000);

  it('tests that cannot run on the base commit either end the task saying so, not as a Coder error', async () => {
    const repo = repoWith({
      'pyproject.toml':
        '[project]\nname = "py-calc"\nversion = "0.1.0"\n\n[tool.pytest.ini_options]\npythonpath = ["."]\naddopts = "--no-such-option"\n',
    });
    const body = await runTask(repo, { coder: [block(SUBTRACT, FIXED)], reviewer: [] }, 'failed');
    expect(body.task.reason).toMatch(/^tests never ran: /);
    expect(body.testRuns[0]).toMatchObject({ outcome: 'env_error', envFault: true, passed: false });
    expect(body.reviews).toEqual([]);
  }, 180_000);
});
