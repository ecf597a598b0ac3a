// The test step against a real blackboard and git, with a scripted sandbox: which runs happen (base run
// cached, re-runs), what is stored, and that a stopped step stores nothing and leaves no worktree behind.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActor, toPromise } from 'xstate';
import type { MeshConnection } from '../../blackboard/index.ts';
import { createSandbox, type SandboxJob, type SandboxResult } from '../../sandbox-agent/index.ts';
import {
  CandidateRecord,
  evidenceTier,
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

  /**
   * A repository with a related test file (it imports the changed module) besides calc's own tests, and a
   * patch that fixes subtract and touches test_calc.py (a primary test): a selection in two stages.
   */
  async function stagedTask(candidate?: number): Promise<TaskRecord> {
    const task = await newTask();
    writeFileSync(
      join(repo, 'test_ops.py'),
      'from calc import add\n\n\ndef test_ops():\n    assert add(1, 1) == 2\n',
    );
    git(repo, 'add', 'test_ops.py');
    git(repo, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'ops tests');
    base = git(repo, 'rev-parse', 'HEAD');
    const t = TaskRecord.parse({ ...task, baseCommit: base });
    await putFixPatch(t, '\n# covers subtract\n', candidate);
    return t;
  }

  /** A patch that fixes subtract and appends `testTail` to test_calc.py (a test file the patch touches). */
  async function putFixPatch(task: TaskRecord, testTail: string, candidate?: number): Promise<void> {
    writeFileSync(
      join(repo, 'calc.py'),
      'def add(a, b):\n    return a + b\n\n\ndef subtract(a, b):\n    return a - b\n',
    );
    writeFileSync(join(repo, 'test_calc.py'), `${git(repo, 'show', 'HEAD:test_calc.py')}${testTail}`);
    const diff = `${git(repo, 'diff')}\n`;
    git(repo, 'checkout', '--', '.');
    await mesh.board.putOnce(keys.patch(patchId(task.id, 1, candidate)), Patch, {
      id: patchId(task.id, 1, candidate),
      taskId: task.id,
      attempt: 1,
      baseCommit: base,
      diff,
      files: ['calc.py', 'test_calc.py'],
      summary: 'fix',
      stats: { additions: 2, deletions: 1 },
      createdAt: new Date().toISOString(),
    });
  }

  /** A sandbox for stagedTask: `primary` answers test_calc's run, `related` test_ops's (undefined: timeout). */
  function stagedSandbox(
    jobs: string[],
    primary: (onBase: boolean) => Outcomes,
    related: ((onBase: boolean) => Outcomes) | undefined,
  ) {
    return async (job: SandboxJob) => {
      const onBase = job.workDir.endsWith('-base');
      const ops = job.command.some((a) => a.includes('test_ops.py'));
      const calc = job.command.some((a) => a.includes('test_calc.py'));
      jobs.push(`${onBase ? 'base' : 'patched'}:${ops && calc ? 'all' : ops ? 'related' : 'primary'}`);
      const answer = ops ? related : primary;
      if (!answer) return ok({ exitCode: null, signal: 'SIGKILL', timedOut: true });
      junit(job, answer(onBase));
      return ok();
    };
  }

  it('runs the tests the patch touches first, then the related files, and joins both in one verdict', async () => {
    const t = await stagedTask();
    const jobs: string[] = [];
    const events: TaskEventInput[] = [];
    const d = deps(
      stagedSandbox(
        jobs,
        (onBase) => ({
          'test_calc::test_add': 'passed',
          'test_calc::test_subtract': onBase ? 'failed' : 'passed',
        }),
        (onBase) => ({ 'test_ops::test_ops': onBase ? 'passed' : 'failed' }),
      ),
      events,
    );
    const out = await runStep(step(t, 1, d));
    // test_ops passed on the base and fails with the patch on every re-run: a regression of the second stage.
    expect(out).toMatchObject({ ok: true, data: { outcome: 'regression', passed: false } });
    expect(jobs.slice(0, 2).sort()).toEqual(['base:primary', 'patched:primary']);
    expect(jobs.slice(2, 4).sort()).toEqual(['base:related', 'patched:related']);
    expect(jobs).not.toContain('patched:all');
    const run = (await mesh.board.get(keys.testrun(t.id, 1), TestRun))!.value;
    expect(run.verdict?.fixed).toEqual(['test_calc::test_subtract']);
    expect(run.verdict?.regressions).toEqual(['test_ops::test_ops']);
    expect(run.tests.map((x) => x.name).sort()).toEqual([
      'test_calc::test_add',
      'test_calc::test_subtract',
      'test_ops::test_ops',
    ]);
    expect(run.reason).toMatch(/^related tests: 1 regression: test_ops::test_ops/);
    // The first verdict was published before the related files ran, and said they were pending.
    const first = events.find((e) => e.type === 'test.primary');
    expect(first?.data).toMatchObject({ passed: true, outcome: 'pass', files: 1, pending: 1 });
    expect(events.findIndex((e) => e.type === 'test.primary')).toBeLessThan(
      events.findIndex((e) => e.type === 'test.completed'),
    );
  });

  it('does not run the related files when the tests the patch touches already fail', async () => {
    const t = await stagedTask();
    const jobs: string[] = [];
    const events: TaskEventInput[] = [];
    const d = deps(
      stagedSandbox(
        jobs,
        () => ({ 'test_calc::test_add': 'passed', 'test_calc::test_subtract': 'failed' }),
        () => ({ 'test_ops::test_ops': 'passed' }),
      ),
      events,
    );
    const out = await runStep(step(t, 1, d));
    expect(out).toMatchObject({ ok: true, data: { passed: true } });
    // Still failing on both sides is not blocking; but a regression in the first stage must stop the second.
    const t2 = await stagedTask();
    const jobs2: string[] = [];
    const d2 = deps(
      stagedSandbox(
        jobs2,
        (onBase) => ({
          'test_calc::test_add': onBase ? 'passed' : 'failed',
          'test_calc::test_subtract': 'passed',
        }),
        () => ({ 'test_ops::test_ops': 'passed' }),
      ),
      events,
    );
    const out2 = await runStep(step(t2, 1, d2));
    expect(out2).toMatchObject({ ok: true, data: { outcome: 'regression', passed: false } });
    expect(jobs2.filter((j) => j.endsWith(':related'))).toEqual([]);
    const run = (await mesh.board.get(keys.testrun(t2.id, 1), TestRun))!.value;
    expect(run.reason).toMatch(
      /the 1 related test file\(s\) did not run: the 1 the issue names or the patch touches already decide/,
    );
    expect(events.filter((e) => e.taskId === t2.id && e.type === 'test.primary')).toEqual([]);
  });

  it('when the related files time out, the verdict rests on the tests the patch touches and says so', async () => {
    const t = await stagedTask();
    const jobs: string[] = [];
    const d = deps(
      stagedSandbox(
        jobs,
        (onBase) => ({
          'test_calc::test_add': 'passed',
          'test_calc::test_subtract': onBase ? 'failed' : 'passed',
        }),
        undefined,
      ),
      [],
    );
    const out = await runStep(step(t, 1, d));
    expect(out).toMatchObject({ ok: true, data: { outcome: 'pass', passed: true } });
    expect(jobs.sort()).toEqual(['base:primary', 'base:related', 'patched:primary', 'patched:related']);
    const run = (await mesh.board.get(keys.testrun(t.id, 1), TestRun))!.value;
    expect(run.command.join(' ')).not.toContain('test_ops.py');
    expect(run.verdict?.fixed).toEqual(['test_calc::test_subtract']);
    expect(run.reason).toMatch(
      /the 1 related test file\(s\) did not finish within 1s; the verdict rests on the 1 the issue names or the patch touches/,
    );
  });

  /** A patch that fixes subtract and adds `test_subtract_negative` to test_calc.py. */
  async function putPatchWithTest(task: TaskRecord, candidate?: number): Promise<void> {
    await putFixPatch(
      task,
      '\n\ndef test_subtract_negative():\n    assert subtract(1, 3) == -2\n',
      candidate,
    );
  }

  /** A sandbox where the added test has `onBase` status without the fix; it records what the base tree held. */
  function reproSandbox(onBase: 'passed' | 'failed', withFix: 'passed' | 'failed', seen: string[]) {
    return async (job: SandboxJob) => {
      const isBase = job.workDir.endsWith('-base');
      if (isBase) seen.push(readFileSync(join(job.workDir, 'test_calc.py'), 'utf8'));
      junit(job, {
        'test_calc::test_add': 'passed',
        'test_calc::test_subtract': 'passed',
        'test_calc::test_subtract_negative': isBase ? onBase : withFix,
      });
      return ok({ exitCode: (isBase ? onBase : withFix) === 'failed' ? 1 : 0 });
    };
  }

  it('rejects a reproduction test that passes on the base commit (with the patch tests, without its fix)', async () => {
    const task = await newTask();
    await putPatchWithTest(task);
    const seen: string[] = [];
    const out = await runStep(step(task, 1, deps(reproSandbox('passed', 'passed', seen), [])));
    expect(out).toMatchObject({ ok: true, data: { outcome: 'unreproduced', passed: false } });
    // The base run ran the base code with the patch's test changes: the added test was there.
    expect(seen[0]).toContain('def test_subtract_negative');
    const run = (await mesh.board.get(keys.testrun(task.id, 1), TestRun))!.value;
    expect(run.verdict?.reproduction).toEqual({
      status: 'rejected',
      added: ['test_subtract_negative'],
      reproduced: [],
      passOnBase: ['test_calc::test_subtract_negative'],
    });
    expect(run.reason).toMatch(
      /the 1 test the patch adds pass without its fix too: it does not reproduce the issue/,
    );
  });

  it('runs an added test that passed on the base commit beside other tests alone there: failing alone, it reproduces', async () => {
    const task = await newTask();
    await putPatchWithTest(task);
    const commands: string[][] = [];
    // pytest-10081's shape: on base the added test passes only when the other selected tests ran before it.
    const sandbox = async (job: SandboxJob) => {
      const isBase = job.workDir.endsWith('-base');
      const alone = job.command.some((a) => a.endsWith('::test_subtract_negative'));
      if (isBase) commands.push(job.command);
      junit(
        job,
        alone
          ? { 'test_calc::test_subtract_negative': isBase ? 'failed' : 'passed' }
          : {
              'test_calc::test_add': 'passed',
              'test_calc::test_subtract': 'passed',
              'test_calc::test_subtract_negative': 'passed',
            },
      );
      const stdout = isBase
        ? alone
          ? 'base run: the added test alone'
          : 'base run: every selected test'
        : '';
      return ok({ exitCode: alone && isBase ? 1 : 0, stdout });
    };
    const d = deps(sandbox, []);
    const out = await runStep(step(task, 1, d));
    expect(out).toMatchObject({ ok: true, data: { outcome: 'pass', passed: true } });
    expect(commands).toHaveLength(2);
    // Each base run keeps its own log: the run alone used to overwrite the whole base run's.
    const logs = join(d.dataDir, 'logs');
    expect(readFileSync(join(logs, `${task.id}-test-1-base.log`), 'utf8')).toContain('every selected test');
    expect(readFileSync(join(logs, `${task.id}-test-1-base-alone.log`), 'utf8')).toContain(
      'the added test alone',
    );
    expect(commands[1]!.at(-1)).toBe('test_calc.py::test_subtract_negative');
    const run = (await mesh.board.get(keys.testrun(task.id, 1), TestRun))!.value;
    expect(run.verdict?.reproduction).toMatchObject({
      status: 'confirmed',
      reproduced: ['test_calc::test_subtract_negative'],
    });
    expect(run.verdict?.fixed).toEqual(['test_calc::test_subtract_negative']);
    expect(run.log).toContain('fail there alone: test_calc::test_subtract_negative');
  });

  it('accepts a reproduction test that fails without the fix and passes with it; one failing with the fix blocks', async () => {
    const task = await newTask();
    await putPatchWithTest(task);
    const out = await runStep(step(task, 1, deps(reproSandbox('failed', 'passed', []), [])));
    expect(out).toMatchObject({ ok: true, data: { outcome: 'pass', passed: true } });
    const run = (await mesh.board.get(keys.testrun(task.id, 1), TestRun))!.value;
    expect(run.verdict?.reproduction?.status).toBe('confirmed');
    expect(run.verdict?.fixed).toEqual(['test_calc::test_subtract_negative']);

    // The added test fails with the fix as well: not a pre-existing failure, it blocks.
    const t2 = await newTask();
    await putPatchWithTest(t2);
    const out2 = await runStep(step(t2, 1, deps(reproSandbox('failed', 'failed', []), [])));
    expect(out2).toMatchObject({ ok: true, data: { outcome: 'regression', passed: false } });
    const run2 = (await mesh.board.get(keys.testrun(t2.id, 1), TestRun))!.value;
    expect(run2.verdict?.regressions).toEqual(['test_calc::test_subtract_negative']);
    expect(run2.verdict?.stillFailing).toEqual([]);
  });

  it('a candidate’s test step runs the reproduction check too: unreproduced is its evidence, earning nothing', async () => {
    const task = await newTask();
    await putPatchWithTest(task, 2);
    const seen: string[] = [];
    const d = deps(reproSandbox('passed', 'passed', seen), []);
    const out = await runStep({ ...step(task, 1, d), part: 'c2', stepId: `${task.id}-test-1-c2` });
    expect(out).toMatchObject({ ok: true, data: { outcome: 'unreproduced', passed: false, candidate: 2 } });
    expect(seen[0]).toContain('def test_subtract_negative');
    const run = (await mesh.board.get(keys.testrun(task.id, 1, 2), TestRun))!.value;
    expect(run.verdict?.reproduction?.status).toBe('rejected');
    const rec = (await mesh.board.get(keys.candidate(task.id, 1, 2), CandidateRecord))!.value;
    expect(rec.evidence).toMatchObject({ outcome: 'unreproduced', regressions: 0 });
    expect(evidenceTier(rec.evidence).tier).toBe('none');
  });

  it('a candidate’s test step runs in two stages; its first verdict names the candidate', async () => {
    const t = await stagedTask(3);
    const jobs: string[] = [];
    const events: TaskEventInput[] = [];
    const d = deps(
      stagedSandbox(
        jobs,
        (onBase) => ({
          'test_calc::test_add': 'passed',
          'test_calc::test_subtract': onBase ? 'failed' : 'passed',
        }),
        () => ({ 'test_ops::test_ops': 'passed' }),
      ),
      events,
    );
    const out = await runStep({ ...step(t, 1, d), part: 'c3', stepId: `${t.id}-test-1-c3` });
    expect(out).toMatchObject({ ok: true, data: { outcome: 'pass', candidate: 3, verdict: { fixed: 1 } } });
    expect(jobs.slice(0, 2).sort()).toEqual(['base:primary', 'patched:primary']);
    expect(jobs.slice(2).sort()).toEqual(['base:related', 'patched:related']);
    const first = events.find((e) => e.type === 'test.primary');
    expect(first?.step).toEqual({ kind: 'test', attempt: 1, part: 'c3' });
    const run = (await mesh.board.get(keys.testrun(t.id, 1, 3), TestRun))!.value;
    expect(run.tests.map((x) => x.name)).toContain('test_ops::test_ops');
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

const hasCoverage = spawnSync('/usr/bin/python3', ['-c', 'import coverage'], { cwd: '/' }).status === 0;

describe('coverage of the change (real sandbox, pytest, coverage.py)', () => {
  const sandbox = createSandbox();
  const real = (events: TaskEventInput[]) => ({
    ...deps((job) => sandbox.run(job), events),
    testTimeoutMs: 120_000,
  });
  // The fix, and a new function the tests never call: its body is the uncovered part of the change.
  const fixAndSign = '    return a - b\n\n\ndef sign(x):\n    if x < 0:\n        return -1\n    return 1';

  it.skipIf(!hasCoverage)('measures the added lines run and the changed file against the base', async () => {
    const task = await newTask();
    const events: TaskEventInput[] = [];
    await putPatch(task, 1, fixAndSign);
    const out = await runStep(step(task, 1, real(events)));
    expect(out).toMatchObject({ ok: true, data: { outcome: 'pass', verdict: { fixed: 1 } } });
    const run = (await mesh.board.get(keys.testrun(task.id, 1), TestRun))!.value;
    // Added executable lines: `return a - b` (6), `def sign` (9, run at import), its body (10–12, never run).
    expect(run.coverage).toEqual({
      tool: 'coverage.py',
      measured: true,
      files: [
        {
          path: 'calc.py',
          changedLines: 5,
          changedCovered: 2,
          covered: 5,
          statements: 8,
          pct: 62.5,
          basePct: 100,
        },
      ],
      changedLines: 5,
      changedCovered: 2,
      changedPct: 40,
      pct: 62.5,
      basePct: 100,
      deltaPct: -37.5,
    });
    expect(out.ok && out.data?.coverage).toEqual({ changedPct: 40, pct: 62.5, deltaPct: -37.5 });
    // The second attempt takes the base run, with its coverage, from the blackboard.
    await putPatch(task, 2, fixAndSign);
    const again = await runStep(step(task, 2, real(events)));
    expect(again).toMatchObject({ ok: true, data: { baselineCached: true } });
    expect((await mesh.board.get(keys.testrun(task.id, 2), TestRun))!.value.coverage).toEqual(run.coverage);
  });

  it('measures nothing with `test.coverage: false`', async () => {
    const task = await newTask();
    const off = TaskRecord.parse({
      ...task,
      request: { ...task.request, config: { test: { coverage: false } } },
    });
    await putPatch(off, 1, fixAndSign);
    const out = await runStep(step(off, 1, real([])));
    expect(out).toMatchObject({ ok: true, data: { outcome: 'pass' } });
    const run = (await mesh.board.get(keys.testrun(off.id, 1), TestRun))!.value;
    expect(run.coverage).toBeUndefined();
    expect(run.command.some((a) => a.endsWith('cover.py'))).toBe(false);
  });
});
