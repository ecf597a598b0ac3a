import { describe, expect, it } from 'vitest';
import type { TestRun } from '../types.ts';
import { categorize, logLinesFor } from './testcats.ts';

const run = (over: Partial<TestRun>): TestRun => ({
  id: 'testrun.t-1-1',
  attempt: 1,
  patchId: 't-1-p1',
  runner: 'pytest',
  command: ['pytest'],
  exitCode: 1,
  timedOut: false,
  passed: false,
  counts: { passed: 3, failed: 2, skipped: 0 },
  tests: [
    { name: 'test_calc.py::test_sub', status: 'passed' },
    { name: 'test_calc.py::test_add', status: 'failed', message: 'assert 3 == 4' },
    { name: 'test_io.py::test_read', status: 'failed', message: 'ModuleNotFoundError: yaml' },
    { name: 'test_net.py::test_ping', status: 'passed' },
    { name: 'test_new.py::test_mul', status: 'passed' },
  ],
  log: [
    'collected 5 items',
    'test_calc.py::test_sub PASSED',
    'test_calc.py::test_add FAILED',
    '    assert 3 == 4',
    'E   ModuleNotFoundError: No module named yaml',
    'test_io.py::test_read ERROR',
    'done',
  ].join('\n'),
  durationMs: 1200,
  ...over,
});

describe('categorize', () => {
  it('sorts a verdict into fail→pass, regressions, flaky, environment errors and the rest', () => {
    const cats = categorize(
      run({
        verdict: {
          fixed: ['test_calc.py::test_sub', 'test_new.py::test_mul'],
          regressions: ['test_calc.py::test_add'],
          stillFailing: [],
          newTests: ['test_new.py::test_mul'],
          missing: ['test_calc.py::test_old'],
          flaky: ['test_net.py::test_ping'],
          envErrors: [{ name: 'test_io.py::test_read', message: 'No module named yaml', onBase: true }],
          passing: 1,
        },
        quarantine: [{ name: 'test_net.py::test_ping', runs: ['failed', 'passed', 'passed'] }],
      }),
    );
    expect(cats.map((c) => [c.label, c.items.map((i) => i.name)])).toEqual([
      ['fail → pass', ['test_calc.py::test_sub', 'test_new.py::test_mul']],
      ['regressions', ['test_calc.py::test_add']],
      ['flaky', ['test_net.py::test_ping']],
      ['environment errors', ['test_io.py::test_read']],
      // test_mul is new but already said under fail → pass.
      ['missing', ['test_calc.py::test_old']],
    ]);
    const regression = cats[1]!.items[0]!;
    expect(regression.message).toBe('assert 3 == 4');
    expect(regression.log).toBe(
      ['test_calc.py::test_sub PASSED', 'test_calc.py::test_add FAILED', '    assert 3 == 4'].join('\n'),
    );
    expect(cats[2]!.items[0]!.runs).toEqual(['failed', 'passed', 'passed']);
    expect(cats[3]!.items[0]).toMatchObject({ message: 'No module named yaml', onBase: true });
  });

  it('a run without a verdict lists its failing tests', () => {
    const cats = categorize(run({}));
    expect(cats).toHaveLength(1);
    expect(cats[0]).toMatchObject({ key: 'failing', label: 'failing' });
    expect(cats[0]!.items.map((i) => i.name)).toEqual(['test_calc.py::test_add', 'test_io.py::test_read']);
  });

  it('a green run with nothing to compare has no category', () => {
    const cats = categorize(
      run({
        tests: [{ name: 'a', status: 'passed' }],
        verdict: {
          fixed: [],
          regressions: [],
          stillFailing: [],
          newTests: [],
          missing: [],
          flaky: [],
          envErrors: [],
          passing: 1,
        },
      }),
    );
    expect(cats).toEqual([]);
  });
});

describe('logLinesFor', () => {
  it('finds the lines naming a test, with context, gaps marked', () => {
    const log = ['a', 'x test_add FAILED', 'b', 'c', 'd', 'again test_add', 'e'].join('\n');
    expect(logLinesFor(log, 'test_calc.py::test_add')).toBe(
      ['a', 'x test_add FAILED', 'b', '…', 'd', 'again test_add', 'e'].join('\n'),
    );
    expect(logLinesFor(log, 'test_mul')).toBeUndefined();
    expect(logLinesFor('', 'x')).toBeUndefined();
  });
  it('stops at max lines', () => {
    const log = Array.from({ length: 100 }, (_, i) => `line ${i} test_x`).join('\n');
    expect(logLinesFor(log, 'test_x', 0, 5)?.split('\n')).toHaveLength(5);
  });
});
