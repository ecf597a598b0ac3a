import { describe, expect, it } from 'vitest';
import type { TaskEvent } from '../schemas/index.ts';
import { renderEvent } from './progress.ts';

const ev = (type: TaskEvent['type'], data: Record<string, unknown>): TaskEvent => ({
  id: 'x',
  taskId: 't-1',
  type,
  at: '2026-12-02T00:00:00Z',
  step: { kind: 'test', attempt: 1 },
  data,
});
const counts = (passed: number, failed: number) => ({ passed, failed, skipped: 0 });
const verdict = {
  fixed: 3,
  regressions: 0,
  stillFailing: 2,
  newTests: 0,
  missing: 0,
  flaky: 1,
  envErrors: 0,
};
const totals = () => ({ tokens: 0, costUsd: 0 });

describe('test lines of codemesh run', () => {
  it('print the verdict categories', () => {
    const line = renderEvent(
      ev('test.completed', {
        runner: 'pytest',
        passed: true,
        outcome: 'pass',
        counts: counts(10, 3),
        verdict,
      }),
      totals(),
    );
    expect(line).toBe(
      'tests #1 (pytest): PASS — 10 passed, 3 failed, 0 skipped; 3 fixed, 0 regressions, 2 pre-existing failures (not blocking), 1 flaky',
    );
  });

  it('name the regressions and say when the baseline came from the cache', () => {
    const line = renderEvent(
      ev('test.completed', {
        runner: 'pytest',
        passed: false,
        outcome: 'regression',
        counts: counts(1, 1),
        verdict: { ...verdict, regressions: 1, stillFailing: 0, flaky: 0, fixed: 0 },
        regressions: ['test_calc::test_add'],
        baselineCached: true,
      }),
      totals(),
    );
    expect(line).toBe(
      'tests #1 (pytest): FAIL — 1 passed, 1 failed, 0 skipped; 0 fixed, 1 regression (test_calc::test_add); baseline cached',
    );
  });

  it('a timed-out run reads as a timeout, not as "FAIL — 0 passed, 0 failed"', () => {
    const line = renderEvent(
      ev('test.completed', {
        runner: 'pytest',
        passed: false,
        outcome: 'timeout',
        reason: 'timed out after 300s',
        counts: counts(0, 0),
        verdict: { ...verdict, fixed: 0, stillFailing: 0, flaky: 0 },
      }),
      totals(),
    );
    expect(line).toBe('tests #1 (pytest): timed out after 300s');
  });

  it('tests that could not run say so', () => {
    const line = renderEvent(
      ev('test.completed', {
        runner: 'pytest',
        passed: false,
        outcome: 'env_error',
        reason: 'tests never ran: command not found: python3',
        counts: counts(0, 0),
      }),
      totals(),
    );
    expect(line).toBe('tests #1 (pytest): could not run — tests never ran: command not found: python3');
  });

  it('flaky tests come with a quarantine suggestion', () => {
    const line = renderEvent(ev('test.flaky', { tests: ['a::b', 'c::d'] }), totals());
    expect(line).toBe(
      'flaky #1: a::b, c::d — changed outcome between runs of the same code; consider quarantining them',
    );
  });

  it('events from before verdicts keep the old line', () => {
    const line = renderEvent(
      ev('test.completed', { runner: 'vitest', passed: true, counts: counts(2, 0) }),
      totals(),
    );
    expect(line).toBe('tests #1 (vitest): PASS — 2 passed, 0 failed, 0 skipped');
  });
});

describe('gate lines of codemesh run', () => {
  it('name the approver, not only the user id', () => {
    expect(renderEvent(ev('approval.granted', { by: 'u-1', byName: 'Alice' }), totals())).toBe(
      'approved by Alice',
    );
    expect(
      renderEvent(ev('approval.changes_requested', { by: 'u-1', byName: 'Alice', comment: 'x' }), totals()),
    ).toBe('changes requested by Alice: x');
    expect(renderEvent(ev('approval.granted', { by: 'u-1' }), totals())).toBe('approved by u-1');
    expect(renderEvent(ev('plan.approved', { by: 'u-1', byName: 'Alice' }), totals())).toBe(
      'plan approved by Alice',
    );
    expect(
      renderEvent(ev('budget.stopped', { by: 'u-1', byName: 'Alice', comment: 'enough' }), totals()),
    ).toBe('stopped at the budget gate by Alice: enough');
  });
});
