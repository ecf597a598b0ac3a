import { describe, expect, it } from 'vitest';
import type { ReviewVerdict, TestRun } from '../../schemas/index.ts';
import { enforceSecrets, enforceTests } from './machine.ts';
import { coverageLine, testLines } from './prompts.ts';

const approve: ReviewVerdict = { decision: 'approve', confidence: 0.9, critique: 'Fine.', risks: [] };
const emptyVerdict = {
  fixed: [],
  regressions: [],
  stillFailing: [],
  newTests: [],
  missing: [],
  flaky: [],
  envErrors: [],
  passing: 4,
};
const run = (over: Partial<TestRun>): TestRun => ({
  id: 't-1-1',
  taskId: 't-1',
  attempt: 1,
  patchId: 't-1-p1',
  runner: 'pytest',
  command: ['pytest'],
  exitCode: 1,
  timedOut: false,
  passed: true,
  counts: { passed: 4, failed: 2, skipped: 0 },
  tests: [
    { name: 'a::legacy', status: 'failed', message: 'assert False' },
    { name: 'a::opt', status: 'failed', message: "ModuleNotFoundError: No module named 'yaml'" },
  ],
  log: '',
  durationMs: 1,
  createdAt: '2026-12-02T00:00:00Z',
  outcome: 'pass',
  reason: '0 fixed, 0 regressions, 2 pre-existing failures (not blocking)',
  verdict: {
    ...emptyVerdict,
    stillFailing: ['a::legacy', 'a::opt'],
    envErrors: [{ name: 'a::opt', message: "ModuleNotFoundError: No module named 'yaml'", onBase: true }],
  },
  ...over,
});

describe('enforceTests', () => {
  it('pre-existing failures and flaky tests do not block; environment errors become a risk', () => {
    // The old rule ("failing tests are never approved") sent this back although the patch broke nothing.
    const v = enforceTests(approve, run({ verdict: { ...run({}).verdict!, flaky: ['a::f'] } }));
    expect(v.decision).toBe('approve');
    expect(v.risks).toEqual([
      { level: 'medium', note: expect.stringMatching(/environment errors.*a::opt.*also on the base commit/) },
    ]);
  });

  it('a regression is never approved and the critique names it', () => {
    const v = enforceTests(
      approve,
      run({
        passed: false,
        outcome: 'regression',
        verdict: { ...emptyVerdict, regressions: ['a::add'] },
      }),
    );
    expect(v.decision).toBe('revise');
    expect(v.confidence).toBeLessThanOrEqual(0.2);
    expect(v.critique).toMatch(/Regressions \(passed before the patch, fail with it\): a::add/);
  });

  it('a timeout blocks and says it timed out', () => {
    const v = enforceTests(
      approve,
      run({ passed: false, outcome: 'timeout', timedOut: true, reason: 'timed out after 300s', tests: [] }),
    );
    expect(v.decision).toBe('revise');
    expect(v.critique).toContain('The tests timed out after 300s with this patch.');
  });

  it('a run recorded before verdicts still blocks on failures', () => {
    const legacy = run({ passed: false });
    delete legacy.outcome;
    delete legacy.verdict;
    expect(enforceTests(approve, legacy).decision).toBe('revise');
  });
});

describe('the test part of the Reviewer prompt', () => {
  it('lists the categories compactly, failing messages only for regressions', () => {
    const lines = testLines(
      run({
        baseline: {
          commit: 'abc',
          cached: true,
          exitCode: 1,
          timedOut: false,
          counts: { passed: 4, failed: 2, skipped: 0 },
          durationMs: 5,
        },
      }),
    );
    expect(lines).toEqual([
      'Tests (pytest, exit 1): 4 passed, 2 failed, 0 skipped.',
      'Outcome: pass — 0 fixed, 0 regressions, 2 pre-existing failures (not blocking)',
      'Base commit (no patch, cached): 4 passed, 2 failed.',
      'Pre-existing failures, not blocking (2): a::legacy, a::opt',
      'Environment errors (1), report them, they do not block:',
      "- a::opt: ModuleNotFoundError: No module named 'yaml' (also on the base commit)",
    ]);
  });
});

describe('enforceSecrets', () => {
  const finding = {
    ruleId: 'github-token',
    description: 'GitHub token',
    file: 'src/a.ts',
    line: 7,
    preview: 'const t = "[REDACTED:github-token]";',
  };
  it('turns an approval of a patch with secrets into a revise naming rule, file and line', () => {
    const v = enforceSecrets(approve, { secrets: [finding] });
    expect(v.decision).toBe('revise');
    expect(v.confidence).toBe(0);
    expect(v.critique).toContain('github-token');
    expect(v.critique).toContain('src/a.ts:7');
    expect(v.risks.at(-1)?.level).toBe('high');
  });
  it('leaves a patch without secrets alone', () => {
    expect(enforceSecrets(approve, {})).toEqual(approve);
    expect(enforceSecrets(approve, { secrets: [] })).toEqual(approve);
  });
});

describe('the coverage line of the review prompt', () => {
  it('says how much of the change the tests run, against the base', () => {
    const files = [
      {
        path: 'calc.py',
        changedLines: 5,
        changedCovered: 2,
        covered: 5,
        statements: 8,
        pct: 62.5,
        basePct: 100,
      },
    ];
    expect(
      coverageLine({
        tool: 'coverage.py',
        measured: true,
        files,
        changedLines: 5,
        changedCovered: 2,
        changedPct: 40,
        pct: 62.5,
        basePct: 100,
        deltaPct: -37.5,
      }),
    ).toBe(
      'Coverage (coverage.py): added lines run by the tests 2/5 (40%); changed files 62.5% (base 100%, -37.5).',
    );
    expect(coverageLine({ tool: 'coverage.py', measured: false, files: [] })).toBe(
      'Coverage: not measured (no coverage.py for the interpreter).',
    );
    expect(
      coverageLine({
        tool: 'go cover',
        measured: true,
        files,
        changedLines: 5,
        changedCovered: 1,
        changedPct: 20,
      }),
    ).toBe('Coverage (go cover): added lines run by the tests 1/5 (20%).');
    expect(
      coverageLine({
        tool: '@vitest/coverage-v8',
        measured: false,
        files: [],
        reason: 'the repository has no @vitest/coverage-v8',
      }),
    ).toBe('Coverage: not measured (the repository has no @vitest/coverage-v8).');
  });
});
