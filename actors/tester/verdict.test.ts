import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pytestNodeId, relocatePlan, rerunPlan } from './rerun.ts';
import type { RunnerPlan } from './runners.ts';
import {
  decide,
  isAdded,
  joinVerdicts,
  type RunSummary,
  rerunCandidates,
  runProblem,
  summarize,
  type TestStatus,
} from './verdict.ts';

const T = 60_000;
const run = (tests: Record<string, TestStatus | [TestStatus, string]>, extra: Partial<RunSummary> = {}) => ({
  tests: Object.entries(tests).map(([name, s]) =>
    Array.isArray(s) ? { name, status: s[0], message: s[1] } : { name, status: s },
  ),
  exitCode: Object.values(tests).some((s) => (Array.isArray(s) ? s[0] : s) === 'failed') ? 1 : 0,
  timedOut: false,
  ...extra,
});

describe('decide', () => {
  it('separates fixed, pre-existing, new, missing and passing tests; pre-existing failures do not block', () => {
    const base = run({ a: 'passed', b: 'failed', c: 'failed', gone: 'passed', s: 'skipped' });
    const patched = run({ a: 'passed', b: 'passed', c: 'failed', added: 'passed', s: 'skipped' });
    const v = decide({ base, patched, timeoutMs: T });
    expect(v.outcome).toBe('pass');
    expect(v.passed).toBe(true);
    expect(v.verdict).toMatchObject({
      fixed: ['b'],
      regressions: [],
      stillFailing: ['c'],
      newTests: ['added'],
      missing: ['gone'],
      flaky: [],
      passing: 1,
    });
    expect(v.reason).toBe('1 fixed, 0 regressions, 1 pre-existing failure (not blocking), 1 new test');
  });

  it('a test that passed on the base and fails on every re-run is a regression and blocks', () => {
    const base = run({ a: 'passed', b: 'passed' });
    const patched = run({ a: 'failed', b: 'passed' });
    expect(rerunCandidates(base, patched)).toEqual(['a']);
    const v = decide({
      base,
      patched,
      reruns: new Map([['a', ['failed', 'failed', 'failed']]]),
      timeoutMs: T,
    });
    expect(v.outcome).toBe('regression');
    expect(v.passed).toBe(false);
    expect(v.envFault).toBe(false);
    expect(v.verdict.regressions).toEqual(['a']);
    expect(v.reason).toBe('1 regression: a');
  });

  it('a new test that fails blocks (it is a candidate for re-runs too)', () => {
    const base = run({ a: 'passed' });
    const patched = run({ a: 'passed', fresh: 'failed' });
    expect(rerunCandidates(base, patched)).toEqual(['fresh']);
    const v = decide({ base, patched, timeoutMs: T });
    expect(v.verdict.newTests).toEqual(['fresh']);
    expect(v.verdict.regressions).toEqual(['fresh']);
    expect(v.outcome).toBe('regression');
  });

  it('a new test that fails for want of the network is an environment error, not a regression', () => {
    const offline =
      "ConnectionError: HTTPConnectionPool(host='httpbin.org', port=80): Max retries exceeded (Caused by <class 'socket.gaierror'>: [Errno -3] Temporary failure in name resolution)";
    const base = run({ a: 'passed', b: 'passed' });
    const patched = run({ a: 'passed', b: 'passed', fresh: ['failed', offline] });
    const v = decide({ base, patched, timeoutMs: T });
    expect(v.verdict.newTests).toEqual(['fresh']);
    expect(v.verdict.regressions).toEqual([]);
    expect(v.verdict.envErrors).toEqual([expect.objectContaining({ name: 'fresh', onBase: false })]);
    expect(v.outcome).toBe('pass');
    // One that passed before and now wants the network is still a regression.
    const reached = decide({ base, patched: run({ a: ['failed', offline], b: 'passed' }), timeoutMs: T });
    expect(reached.verdict.regressions).toEqual(['a']);
    // A test the patch adds that fails for want of the network on the base commit (the patch's tests run
    // there) and with the fix: the same environment error (requests-1766), not a regression.
    const both = decide({
      base: run({ a: 'passed', 'm::fresh': ['failed', offline] }),
      patched: run({ a: 'passed', 'm::fresh': ['failed', offline] }),
      timeoutMs: T,
      added: ['fresh'],
    });
    expect(both.verdict.regressions).toEqual([]);
    expect(both.verdict.envErrors).toEqual([expect.objectContaining({ name: 'm::fresh', onBase: true })]);
    expect(both.outcome).toBe('pass');
    // Failing with the fix for another reason, it still blocks.
    const broken = decide({
      base: run({ a: 'passed', 'm::fresh': ['failed', offline] }),
      patched: run({ a: 'passed', 'm::fresh': ['failed', 'AssertionError: 1 != 2'] }),
      timeoutMs: T,
      added: ['fresh'],
    });
    expect(broken.verdict.regressions).toEqual(['m::fresh']);
  });

  it('a test that passes on a re-run of the same code is flaky: never a regression, suggested for quarantine', () => {
    const base = run({ a: 'passed', b: 'passed' });
    const patched = run({ a: 'failed', b: 'passed' });
    const v = decide({ base, patched, reruns: new Map([['a', ['failed', 'passed']]]), timeoutMs: T });
    expect(v.outcome).toBe('pass');
    expect(v.passed).toBe(true);
    expect(v.verdict.flaky).toEqual(['a']);
    expect(v.verdict.regressions).toEqual([]);
    expect(v.quarantine).toEqual([{ name: 'a', runs: ['failed', 'failed', 'passed'] }]);
    expect(v.reason).toMatch(/1 flaky/);
  });

  it('import errors are environment errors, marked as on the base when the base shows them', () => {
    const msg = "ModuleNotFoundError: No module named 'blinker'";
    const base = run({ 'tests.test_signals': ['failed', msg], x: 'passed' });
    const patched = run({
      'tests.test_signals': ['failed', msg],
      x: 'passed',
      y: ['failed', 'ImportError: x'],
    });
    const v = decide({
      base,
      patched,
      reruns: new Map([['y', ['failed', 'failed', 'failed']]]),
      timeoutMs: T,
    });
    expect(v.verdict.stillFailing).toEqual(['tests.test_signals']);
    expect(v.verdict.envErrors).toEqual([
      { name: 'tests.test_signals', message: msg, onBase: true },
      { name: 'y', message: 'ImportError: x', onBase: false },
    ]);
    // The patch's own import error still blocks (it is new); the base's does not.
    expect(v.verdict.regressions).toEqual(['y']);
  });

  it('a timed-out run is a timeout, not "0 passed, 0 failed"; the environment is blamed when the base timed out too', () => {
    const base = run({ a: 'passed' });
    const patched = { tests: [], exitCode: null, timedOut: true };
    const v = decide({ base, patched, timeoutMs: 300_000 });
    expect(v).toMatchObject({
      outcome: 'timeout',
      passed: false,
      envFault: false,
      reason: 'timed out after 300s',
    });
    const both = decide({ base: { ...patched }, patched, timeoutMs: 1500 });
    expect(both).toMatchObject({
      outcome: 'timeout',
      envFault: true,
      reason: 'timed out after 1.5s (on the base commit too)',
    });
  });

  it('a run with no results on the base too is an environment error: the tests never ran', () => {
    const missing = {
      tests: [],
      exitCode: 127,
      timedOut: false,
      output: 'bwrap: execvp python3: No such file or directory',
    };
    const v = decide({ base: missing, patched: missing, timeoutMs: T });
    expect(v.outcome).toBe('env_error');
    expect(v.envFault).toBe(true);
    expect(v.reason).toBe(
      'tests never ran: command not found: bwrap: execvp python3: No such file or directory',
    );
    expect(v.verdict.envErrors).toEqual([
      { name: '(run)', message: expect.stringMatching(/execvp/), onBase: true },
    ]);
  });

  it("a run that breaks only with the patch (no report) is the patch's fault", () => {
    const broken = { tests: [], exitCode: 3, timedOut: false, error: 'pytest wrote no report (x): crashed' };
    const v = decide({ base: run({ a: 'passed' }), patched: broken, timeoutMs: T });
    expect(v.outcome).toBe('regression');
    expect(v.envFault).toBe(false);
    expect(v.reason).toBe('the test run broke with the patch: pytest wrote no report (x): crashed');
  });

  it('without a usable baseline every failure is a regression candidate', () => {
    const patched = run({ a: 'failed', b: 'passed' });
    const base = { tests: [], exitCode: null, timedOut: true };
    expect(rerunCandidates(base, patched)).toEqual(['a']);
    const v = decide({ base, patched, timeoutMs: T });
    expect(v.outcome).toBe('regression');
    expect(v.reason).toBe('1 regression (no baseline to compare with): a');
  });

  it('no runner is no_tests and passes', () => {
    const v = decide({ patched: { tests: [], exitCode: 0, timedOut: false }, timeoutMs: T, noRunner: true });
    expect(v).toMatchObject({ outcome: 'no_tests', passed: true });
  });
});

describe('runProblem', () => {
  it('a run whose only results are collection errors ran no test', () => {
    const collect =
      "collection failure\nImportError while importing test module\nE   ModuleNotFoundError: No module named 'yaml'";
    const r = run({ test_env: ['failed', collect], s: 'skipped' }, { exitCode: 2 });
    expect(runProblem(r, T)).toEqual({
      kind: 'env_error',
      detail: "no test ran, a collection error: test_env: E   ModuleNotFoundError: No module named 'yaml'",
    });
    expect(decide({ base: r, patched: r, timeoutMs: T })).toMatchObject({
      outcome: 'env_error',
      envFault: true,
    });
  });

  it('is undefined for a run with results, even with a non-zero exit', () => {
    expect(runProblem(run({ a: 'failed' }), T)).toBeUndefined();
  });
  it('names a runner that exits non-zero without reporting a test', () => {
    expect(
      runProblem({ tests: [], exitCode: 5, timedOut: false, output: 'no tests ran in 0.01s\n' }, T),
    ).toEqual({
      kind: 'env_error',
      detail: 'the runner exited 5 without reporting a test: no tests ran in 0.01s',
    });
  });
});

describe('summarize', () => {
  it('prints only the categories that apply', () => {
    const none = { fixed: [], regressions: [], stillFailing: [], flaky: [], newTests: [], envErrors: [] };
    expect(summarize(none)).toBe('0 fixed, 0 regressions');
    expect(summarize({ ...none, fixed: ['a', 'b', 'c'], stillFailing: ['x', 'y'], flaky: ['f'] })).toBe(
      '3 fixed, 0 regressions, 2 pre-existing failures (not blocking), 1 flaky',
    );
  });
});

describe('rerunPlan and relocatePlan', () => {
  const wt = mkdtempSync(join(tmpdir(), 'cm-rerun-'));
  mkdirSync(join(wt, 'tests'));
  writeFileSync(join(wt, 'tests', 'test_x.py'), '');
  writeFileSync(join(wt, 'test_top.py'), '');

  it('maps JUnit names to pytest node ids through the files that exist', () => {
    expect(pytestNodeId('tests.test_x.TestA::test_b[1]', wt)).toBe('tests/test_x.py::TestA::test_b[1]');
    expect(pytestNodeId('test_top::test_c', wt)).toBe('test_top.py::test_c');
    expect(pytestNodeId('nowhere.mod::t', wt)).toBeUndefined();
  });

  it('selects the tests to re-run, or gives up when it cannot name them', () => {
    const py: RunnerPlan = { kind: 'pytest', command: ['python3', '-m', 'pytest', '-q'] };
    expect(rerunPlan(py, wt, ['test_top::test_c'])?.command).toEqual([...py.command, 'test_top.py::test_c']);
    expect(rerunPlan(py, wt, ['nowhere::t'])).toBeUndefined();
    const go: RunnerPlan = { kind: 'go', command: ['go', 'test', '-json', './...'] };
    expect(rerunPlan(go, wt, ['example.com/m/a::TestX/sub', 'example.com/m/b::TestY'])?.command).toEqual([
      'go',
      'test',
      '-json',
      '-run',
      '^(TestX|TestY)$',
      'example.com/m/a',
      'example.com/m/b',
    ]);
    expect(rerunPlan({ kind: 'npm', command: ['npm', 'test'] }, wt, ['npm test'])).toBeUndefined();
  });

  it('moves a plan to another worktree', () => {
    const p: RunnerPlan = {
      kind: 'pytest',
      command: ['pytest', `--junitxml=${wt}/.codemesh-report/junit.xml`],
      env: { X: `${wt}/cache` },
    };
    expect(relocatePlan(p, wt, '$WORKDIR')).toEqual({
      kind: 'pytest',
      command: ['pytest', '--junitxml=$WORKDIR/.codemesh-report/junit.xml'],
      env: { X: '$WORKDIR/cache' },
    });
  });
});

describe('the reproduction check and two-stage verdicts', () => {
  it("matches added test functions to each runner's names", () => {
    const fns = ['test_neg', 'TestParse', 'handles empty input'];
    expect(isAdded('tests.test_calc::test_neg', fns)).toBe(true);
    expect(isAdded('tests/test_calc.py::test_neg[1-2]', fns)).toBe(true);
    expect(isAdded('pkg/parse::TestParse/empty', fns)).toBe(true);
    expect(isAdded('src/x.test.ts > parse > handles empty input', fns)).toBe(true);
    expect(isAdded('tests.test_calc::test_negative', fns)).toBe(false);
    expect(isAdded('tests.test_calc::test_ne', fns)).toBe(false);
  });

  it('an added test that fails on the base with the patch tests, or cannot load there, reproduces the issue', () => {
    const patched = run({ 'm::test_old': 'passed', 'm::test_neg': 'passed' });
    const failing = decide({
      base: run({ 'm::test_old': 'passed', 'm::test_neg': 'failed' }),
      patched,
      timeoutMs: T,
      added: ['test_neg'],
    });
    expect(failing.outcome).toBe('pass');
    expect(failing.verdict.reproduction).toMatchObject({ status: 'confirmed', reproduced: ['m::test_neg'] });
    // Its module failed to import without the fix: the test is absent from an otherwise usable base run.
    const absent = decide({
      base: run({ 'm::test_old': 'passed' }),
      patched,
      timeoutMs: T,
      added: ['test_neg'],
    });
    expect(absent.verdict.reproduction?.status).toBe('confirmed');
    // Passing without the fix: rejected, blocking.
    const weak = decide({
      base: run({ 'm::test_old': 'passed', 'm::test_neg': 'passed' }),
      patched,
      timeoutMs: T,
      added: ['test_neg'],
    });
    expect(weak).toMatchObject({ outcome: 'unreproduced', passed: false });
    expect(weak.verdict.reproduction).toMatchObject({ status: 'rejected', passOnBase: ['m::test_neg'] });
    // A base that timed out says nothing either way.
    const unknown = decide({
      base: run({}, { timedOut: true }),
      patched,
      timeoutMs: T,
      added: ['test_neg'],
    });
    expect(unknown.verdict.reproduction?.status).toBe('unchecked');
    expect(decide({ base: run({}), patched, timeoutMs: T, added: [] }).verdict.reproduction?.status).toBe(
      'none',
    );
  });

  it("joins two stages: lists add up, the second stage decides, the first stage's reproduction stays", () => {
    const first = decide({
      base: run({ 'a::t1': 'failed' }),
      patched: run({ 'a::t1': 'passed' }),
      timeoutMs: T,
      added: ['t1'],
    });
    const clean = decide({
      base: run({ 'b::t2': 'passed' }),
      patched: run({ 'b::t2': 'passed' }),
      timeoutMs: T,
    });
    const joined = joinVerdicts(first, clean);
    expect(joined).toMatchObject({ outcome: 'pass', passed: true });
    expect(joined.verdict).toMatchObject({
      fixed: ['a::t1'],
      passing: 1,
      reproduction: { status: 'confirmed' },
    });
    const broken = decide({
      base: run({ 'b::t2': 'passed' }),
      patched: run({ 'b::t2': 'failed' }),
      timeoutMs: T,
    });
    const joined2 = joinVerdicts(first, broken);
    expect(joined2).toMatchObject({ outcome: 'regression', passed: false });
    expect(joined2.reason).toMatch(/^related tests: 1 regression: b::t2/);
    expect(joined2.verdict.fixed).toEqual(['a::t1']);
  });
});
