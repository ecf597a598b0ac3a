// The test step against a real blackboard and git, with a scripted sandbox: which runs happen (base run
// cached, re-runs), what is stored, and that a stopped step stores nothing and leaves no worktree behind.
import { writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActor, toPromise } from 'xstate';
import type { MeshConnection } from '../../blackboard/index.ts';
import type { SandboxJob, SandboxResult } from '../../sandbox-agent/index.ts';
import {
  CandidateRecord,
  keys,
  Patch,
  patchId,
  TaskRecord,
  type TaskEventInput,
  TestRun,
} from '../../schemas/index.ts';
import { git, makeFixtureRepo } from '../../test/fixture-repo.ts';
import { type NatsFixture, startNatsFixture } from '../../test/nats.ts';
import type { AgentDeps, StepInput, StepOutput } from '../runtime/types.ts';
import { testerMachine } from './machine.ts';

type Outcomes = Record<string, 'passed' | 'failed'>;

/** Writes the JUnit report pytest would have written for these outcomes. */
function junit(job: SandboxJob, outcomes: Outcomes): void {
  const file = job.command.find((a) => a.startsWith('--junitxml='))!.slice('--junitxml='.length);
  const cases = Object.entries(outcomes).map(([name, s]) => {
    const [cls, test] = name.split('::');
    return s === 'passed'
      ? `<testcase classname="${cls}" name="${test}" time="0.01"/>`
      : `<testcase classname="${cls}" name="${test}" time="0.01"><failure message="assert 8 == 2">boom</failure></testcase>`;
  });
  writeFileSync(file, `<testsuites><testsuite>${cases.join('')}</testsuite></testsuites>`);
}

const ok = (over: Partial<SandboxResult> = {}): SandboxResult => ({
  exitCode: 0,
  signal: null,
  timedOut: false,
  durationMs: 5,
  stdout: '',
  stderr: '',
  capsEnforced: false,
  ...over,
});

let nats: NatsFixture;
let mesh: MeshConnection;
let repo: string;
let base: string;
beforeAll(async () => {
  nats = await startNatsFixture();
  mesh = await nats.connect('tester-test');
});
afterAll(async () => nats?.stop());

let taskN = 0;
/** A task on a fresh repository (baselines are cached per repository and commit). */
async function newTask(): Promise<TaskRecord> {
  repo = makeFixtureRepo('py-calc');
  base = git(repo, 'rev-parse', 'HEAD');
  const now = new Date().toISOString();
  const task = TaskRecord.parse({
    id: `t-tester${++taskN}`,
    request: { repo, title: 'Fix subtract' },
    repoPath: repo,
    baseCommit: base,
    status: 'testing',
    attempt: 1,
    workflow: { value: 'testing', context: {} },
    createdAt: now,
    updatedAt: now,
  });
  return task;
}

async function putPatch(task: TaskRecord, attempt: number, line: string, candidate?: number): Promise<void> {
  writeFileSync(
    join(repo, 'calc.py'),
    `def add(a, b):\n    return a + b\n\n\ndef subtract(a, b):\n${line}\n`,
  );
  const diff = `${git(repo, 'diff')}\n`;
  git(repo, 'checkout', '--', 'calc.py');
  const p: Patch = {
    id: patchId(task.id, attempt, candidate),
    taskId: task.id,
    attempt,
    baseCommit: base,
    diff,
    files: ['calc.py'],
    summary: 'fix',
    stats: { additions: 1, deletions: 1 },
    createdAt: new Date().toISOString(),
  };
  await mesh.board.putOnce(keys.patch(p.id), Patch, p);
}

function deps(
  run: (job: SandboxJob) => Promise<SandboxResult>,
  events: TaskEventInput[],
  dataDir = mkdtempSync(join(tmpdir(), 'cm-tester-')),
): AgentDeps {
  return {
    dataDir,
    models: () => {
      throw new Error('the tester uses no model');
    },
    emit: async (e) => {
      events.push({ ...e, at: new Date().toISOString() });
    },
    now: Date.now,
    sandbox: { run },
    binDirs: [],
    testTimeoutMs: 1000,
  };
}

function step(task: TaskRecord, attempt: number, d: AgentDeps): StepInput {
  return {
    mesh,
    task,
    kind: 'test',
    attempt,
    round: 1,
    stepId: `${task.id}-test-${attempt}`,
    instanceId: 'tester-1',
    deps: d,
  };
}

const runStep = (input: StepInput) =>
  toPromise(createActor(testerMachine, { input }).start()) as Promise<StepOutput>;
const worktrees = () =>
  git(repo, 'worktree', 'list', '--porcelain')
    .split('\n')
    .filter((l) => l.startsWith('worktree '));

describe('the test step', () => {
  it('tests candidate i of k on its own patch, keeps its run apart and records its evidence', async () => {
    const task = await newTask();
    const events: TaskEventInput[] = [];
    const d = deps(async (job) => {
      const onBase = !job.workDir.includes('-c2-') || job.workDir.endsWith('-base');
      junit(job, {
        'test_calc::test_add': 'passed',
        'test_calc::test_subtract': onBase ? 'failed' : 'passed',
      });
      return ok();
    }, events);
    await putPatch(task, 1, '    return a - b', 2);
    const out = await runStep({ ...step(task, 1, d), part: 'c2', stepId: `${task.id}-test-1-c2` });
    expect(out).toMatchObject({
      ok: true,
      data: {
        outcome: 'pass',
        candidate: 2,
        patchId: `${task.id}-p1-c2`,
        baseFailed: 1,
        verdict: { fixed: 1 },
      },
    });
    const run = (await mesh.board.get(keys.testrun(task.id, 1, 2), TestRun))!.value;
    expect(run).toMatchObject({ id: `${task.id}-1-c2`, patchId: `${task.id}-p1-c2`, outcome: 'pass' });
    expect(await mesh.board.get(keys.testrun(task.id, 1), TestRun)).toBeUndefined();
    const rec = (await mesh.board.get(keys.candidate(task.id, 1, 2), CandidateRecord))!.value;
    expect(rec).toMatchObject({
      state: 'tested',
      testRunId: `${task.id}-1-c2`,
      evidence: { outcome: 'pass', fixed: 1, regressions: 0, baseFailed: 1, envFault: false },
    });
    expect(events.find((e) => e.type === 'test.completed')?.step).toEqual({
      kind: 'test',
      attempt: 1,
      part: 'c2',
    });
  });

  it('runs the base once per base commit and plan: the second attempt takes it from the blackboard', async () => {
    const task = await newTask();
    const jobs: string[] = [];
    const events: TaskEventInput[] = [];
    const d = deps(async (job) => {
      const onBase = job.workDir.endsWith('-base');
      jobs.push(onBase ? 'base' : 'patched');
      junit(job, {
        'test_calc::test_add': 'passed',
        'test_calc::test_subtract': onBase ? 'failed' : 'passed',
      });
      return ok();
    }, events);
    await putPatch(task, 1, '    return a - b');
    const out1 = await runStep(step(task, 1, d));
    expect(out1).toMatchObject({ ok: true, data: { outcome: 'pass', baselineCached: false } });
    expect(jobs.sort()).toEqual(['base', 'patched']);
    const run1 = (await mesh.board.get(keys.testrun(task.id, 1), TestRun))!.value;
    expect(run1.verdict).toMatchObject({ fixed: ['test_calc::test_subtract'], regressions: [], passing: 1 });

    jobs.length = 0;
    await putPatch(task, 2, '    return -(b - a)');
    const out2 = await runStep(step(task, 2, d));
    expect(jobs).toEqual(['patched']);
    expect(out2).toMatchObject({ ok: true, data: { outcome: 'pass', baselineCached: true } });
    const run2 = (await mesh.board.get(keys.testrun(task.id, 2), TestRun))!.value;
    expect(run2.baseline).toMatchObject({
      cached: true,
      key: run1.baseline!.key,
      counts: { passed: 1, failed: 1 },
    });
    expect(run2.verdict?.fixed).toEqual(['test_calc::test_subtract']);
    expect(worktrees()).toEqual([`worktree ${repo}`]);
  });

  it('re-runs a newly failing test alone; one that passes on a re-run is flaky and a test.flaky event goes out', async () => {
    const task = await newTask();
    const commands: string[][] = [];
    const events: TaskEventInput[] = [];
    let patchedRuns = 0;
    const d = deps(async (job) => {
      if (job.workDir.endsWith('-base')) {
        junit(job, { 'test_calc::test_add': 'passed', 'test_calc::test_subtract': 'passed' });
        return ok();
      }
      commands.push(job.command);
      patchedRuns++;
      // Fails in the suite run and on the first re-run, passes on the second.
      junit(job, {
        'test_calc::test_add': 'passed',
        'test_calc::test_subtract': patchedRuns >= 3 ? 'passed' : 'failed',
      });
      return ok({ exitCode: patchedRuns >= 3 ? 0 : 1 });
    }, events);
    await putPatch(task, 1, '    return a - b');
    const out = await runStep(step(task, 1, d));
    expect(out).toMatchObject({
      ok: true,
      data: { outcome: 'pass', passed: true, flaky: ['test_calc::test_subtract'] },
    });
    // The re-runs select the one test by its node id.
    expect(commands.slice(1).map((c) => c.at(-1))).toEqual([
      'test_calc.py::test_subtract',
      'test_calc.py::test_subtract',
    ]);
    const run = (await mesh.board.get(keys.testrun(task.id, 1), TestRun))!.value;
    expect(run.quarantine).toEqual([
      { name: 'test_calc::test_subtract', runs: ['failed', 'failed', 'passed'] },
    ]);
    expect(events.find((e) => e.type === 'test.flaky')?.data).toMatchObject({
      tests: ['test_calc::test_subtract'],
    });
  });

  it('a run that hits the time limit is stored as a timeout', async () => {
    const task = await newTask();
    const d = deps(async (job) => {
      if (job.workDir.endsWith('-base')) {
        junit(job, { 'test_calc::test_add': 'passed' });
        return ok();
      }
      return ok({ exitCode: null, signal: 'SIGKILL', timedOut: true });
    }, []);
    await putPatch(task, 1, '    return a - b');
    const out = await runStep(step(task, 1, d));
    expect(out).toMatchObject({
      ok: true,
      data: { outcome: 'timeout', reason: 'timed out after 1s', envFault: false },
    });
  });

  it('when the whole selection times out, re-runs the tests the patch touches alone and decides on them', async () => {
    const task = await newTask();
    // A related test file (it imports the changed module) that never finishes in time.
    writeFileSync(
      join(repo, 'test_ops.py'),
      'from calc import add\n\n\ndef test_ops():\n    assert add(1, 1) == 2\n',
    );
    git(repo, 'add', 'test_ops.py');
    git(repo, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'ops tests');
    base = git(repo, 'rev-parse', 'HEAD');
    const t = TaskRecord.parse({ ...task, baseCommit: base });
    // The patch fixes subtract and changes its test file (a primary test).
    writeFileSync(
      join(repo, 'calc.py'),
      'def add(a, b):\n    return a + b\n\n\ndef subtract(a, b):\n    return a - b\n',
    );
    writeFileSync(
      join(repo, 'test_calc.py'),
      `${git(repo, 'show', 'HEAD:test_calc.py')}\n# covers subtract\n`,
    );
    const diff = `${git(repo, 'diff')}\n`;
    git(repo, 'checkout', '--', '.');
    await mesh.board.putOnce(keys.patch(patchId(t.id, 1)), Patch, {
      id: patchId(t.id, 1),
      taskId: t.id,
      attempt: 1,
      baseCommit: base,
      diff,
      files: ['calc.py', 'test_calc.py'],
      summary: 'fix',
      stats: { additions: 2, deletions: 1 },
      createdAt: new Date().toISOString(),
    });
    const jobs: string[] = [];
    const d = deps(async (job) => {
      const onBase = job.workDir.endsWith('-base');
      const all = job.command.some((a) => a.includes('test_ops.py'));
      jobs.push(`${onBase ? 'base' : 'patched'}:${all ? 'all' : 'primary'}`);
      if (all) return ok({ exitCode: null, signal: 'SIGKILL', timedOut: true });
      junit(job, {
        'test_calc::test_add': 'passed',
        'test_calc::test_subtract': onBase ? 'failed' : 'passed',
      });
      return ok();
    }, []);
    const out = await runStep(step(t, 1, d));
    expect(out).toMatchObject({ ok: true, data: { outcome: 'pass', passed: true } });
    expect(jobs.sort()).toEqual(['base:all', 'base:primary', 'patched:all', 'patched:primary']);
    const run = (await mesh.board.get(keys.testrun(t.id, 1), TestRun))!.value;
    expect(run.command.join(' ')).not.toContain('test_ops.py');
    expect(run.verdict?.fixed).toEqual(['test_calc::test_subtract']);
    expect(run.reason).toMatch(
      /the whole selection \(2 test files\) timed out after .*run alone \(1 related file\(s\) unchecked\)/,
    );
  });

  it('a step stopped mid-run stores no result and removes its worktrees', async () => {
    const task = await newTask();
    let started!: () => void;
    const running = new Promise<void>((r) => {
      started = r;
    });
    const d = deps(
      (job) =>
        new Promise<SandboxResult>((resolve) => {
          started();
          // Like the real sandbox: an already aborted job returns at once.
          const stopped = () => resolve(ok({ exitCode: null, aborted: true, signal: 'SIGKILL' }));
          if (job.signal?.aborted) stopped();
          job.signal?.addEventListener('abort', stopped);
        }),
      [],
    );
    await putPatch(task, 1, '    return a - b');
    const actor = createActor(testerMachine, { input: step(task, 1, d) }).start();
    await running;
    expect(worktrees().length).toBeGreaterThan(1);
    actor.stop();
    const deadline = Date.now() + 20_000;
    while (worktrees().length > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(worktrees()).toEqual([`worktree ${repo}`]);
    expect(await mesh.board.get(keys.testrun(task.id, 1), TestRun)).toBeUndefined();
  });
});
