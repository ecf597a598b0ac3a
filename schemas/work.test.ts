// Step results: durations are whole milliseconds (per test: hundredths), whatever the clock gave.
import { describe, expect, it } from 'vitest';
import { BaselineSummary, TestRun } from './work.ts';

const run = {
  id: 't-x-1',
  taskId: 't-x',
  attempt: 1,
  patchId: 't-x-p1',
  runner: 'pytest',
  command: ['pytest'],
  exitCode: 0,
  timedOut: false,
  passed: true,
  counts: { passed: 1, failed: 0, skipped: 0 },
  tests: [{ name: 'a', status: 'passed' as const, durationMs: 0.0123 * 1000 }],
  log: '',
  durationMs: 7613.290539000001,
  createdAt: '2026-12-02T00:00:00.000Z',
};

describe('durations', () => {
  it('rounds float noise away from test runs and their tests', () => {
    const parsed = TestRun.parse(run);
    expect(parsed.durationMs).toBe(7613);
    expect(parsed.tests[0]!.durationMs).toBe(12.3);
    expect(JSON.stringify(parsed)).not.toMatch(/\.\d{5,}/);
  });

  it('rounds baselines too, and leaves whole numbers as they are', () => {
    const b = {
      commit: 'c',
      cached: false,
      exitCode: 0,
      timedOut: false,
      counts: { passed: 0, failed: 0, skipped: 0 },
    };
    expect(BaselineSummary.parse({ ...b, durationMs: 99.5000001 }).durationMs).toBe(100);
    expect(BaselineSummary.parse({ ...b, durationMs: 42 }).durationMs).toBe(42);
  });
});
