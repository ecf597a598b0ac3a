import { describe, expect, it } from 'vitest';
import { burndownPoints, burndownSegments, burndownSeries, endedCount } from './campaign.ts';

describe('campaign burndown', () => {
  it('the bar: non-empty states in order, shares summing to 100', () => {
    const s = burndownSegments({ pending: 2, running: 1, merged: 1, failed: 0 });
    expect(s.map((x) => x.state)).toEqual(['running', 'pending', 'merged']);
    expect(s.map((x) => x.percent)).toEqual([25, 50, 25]);
    expect(burndownSegments({})).toEqual([]);
    expect(endedCount({ merged: 2, failed: 1, cancelled: 1, pending: 3 })).toBe(4);
  });

  it('the line: open repositories fall at each end, rise at a retry (with the ones behind it)', () => {
    const at = (m: number) => new Date(Date.UTC(2026, 11, 2, 10, m)).toISOString();
    const series = burndownSeries(
      3,
      [
        { seq: 1, at: at(0), type: 'campaign.created' },
        { seq: 2, at: at(1), type: 'repo.started', repoId: 'a', state: 'running' },
        { seq: 3, at: at(5), type: 'repo.state', repoId: 'a', state: 'failed' },
        { seq: 4, at: at(5), type: 'repo.state', repoId: 'b', state: 'failed' },
        { seq: 5, at: at(6), type: 'repo.state', repoId: 'b', state: 'failed' },
        {
          seq: 6,
          at: at(7),
          type: 'repo.retried',
          repoId: 'a',
          detail: 'by u; with b (not started behind it)',
        },
        { seq: 7, at: at(9), type: 'repo.state', repoId: 'c', state: 'merged' },
        // b ends again after the retry: counted again.
        { seq: 8, at: at(9), type: 'repo.state', repoId: 'b', state: 'merged' },
      ],
      new Map([['b', 'b']]),
    );
    expect(series.map((p) => p.open)).toEqual([3, 2, 1, 3, 2, 1]);
    expect(burndownPoints(series, 3, 90, 30).split(' ')).toEqual([
      '0.0,0.0',
      '50.0,10.0',
      '50.0,20.0',
      '70.0,0.0',
      '90.0,10.0',
      '90.0,20.0',
    ]);
    expect(burndownPoints([], 3, 90, 30)).toBe('');
  });
});
