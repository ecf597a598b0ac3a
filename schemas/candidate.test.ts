// The choice among k candidates: test evidence first, then votes on normalized diffs, then the Reviewer's rank.
import { describe, expect, it } from 'vitest';
import {
  type CandidateEvidence,
  diffHash,
  evidenceTier,
  judgeCandidates,
  normalizeDiff,
} from './candidate.ts';

const ev = (e: Partial<CandidateEvidence>): CandidateEvidence => ({
  outcome: 'pass',
  fixed: 1,
  regressions: 0,
  baseFailed: 1,
  envFault: false,
  ...e,
});

const diff = (body: string, hunk = '@@ -1,2 +1,2 @@') =>
  `diff --git a/calc.py b/calc.py\nindex 1111111..2222222 100644\n--- a/calc.py\n+++ b/calc.py\n${hunk}\n${body}`;

describe('normalizeDiff', () => {
  it('ignores hunk positions, index lines, context and whitespace', () => {
    const a = diff(' def subtract(a, b):\n-    return a + b\n+    return a - b\n');
    const b = diff('-    return a  +  b\n+\treturn a - b\n', '@@ -7,3 +7,3 @@ def x');
    expect(normalizeDiff(a)).toBe('calc.py\n-return a + b\n+return a - b');
    expect(normalizeDiff(b)).toBe(normalizeDiff(a));
    expect(diffHash(a)).toBe(diffHash(b));
    expect(diffHash(a)).not.toBe(diffHash(diff('-    return a + b\n+    return b - a\n')));
  });

  it('reads a removed line that starts with dashes inside a hunk as a change, not a header', () => {
    const d = diff('--- old comment\n+-- new comment\n');
    expect(normalizeDiff(d)).toBe('calc.py\n--- old comment\n+-- new comment');
  });
});

describe('evidenceTier', () => {
  it('needs a fixed test when something failed on the base commit', () => {
    expect(evidenceTier(ev({})).tier).toBe('fixes');
    expect(evidenceTier(ev({ fixed: 0 }))).toEqual({
      tier: 'none',
      why: 'fixes none of the 1 test(s) failing on the base commit',
    });
    expect(evidenceTier(ev({ fixed: 0, baseFailed: 0 })).tier).toBe('clean');
    expect(evidenceTier(ev({ outcome: 'regression', regressions: 2 })).tier).toBe('none');
    expect(evidenceTier(ev({ outcome: 'timeout' })).tier).toBe('none');
    expect(evidenceTier(undefined).tier).toBe('none');
  });
});

describe('judgeCandidates', () => {
  it('chooses the one with test evidence over a wrong one and a failing one', () => {
    const r = judgeCandidates([
      { candidate: 1, diffHash: 'a', evidence: ev({ fixed: 0 }) },
      { candidate: 2, diffHash: 'b', evidence: ev({ outcome: 'regression', regressions: 1 }) },
      { candidate: 3, diffHash: 'c', evidence: ev({}) },
    ]);
    expect(r.chosen).toBe(3);
    expect(r.judged.map((j) => [j.candidate, j.tier, j.place])).toEqual([
      [1, 'none', undefined],
      [2, 'none', undefined],
      [3, 'fixes', 1],
    ]);
  });

  it('abstains when none earns it', () => {
    const r = judgeCandidates([
      { candidate: 1, diffHash: 'a', evidence: ev({ fixed: 0 }) },
      { candidate: 2 },
      { candidate: 3, diffHash: 'c', evidence: ev({ outcome: 'timeout' }) },
    ]);
    expect(r.chosen).toBeUndefined();
    expect(r.judged[1]).toMatchObject({ tier: 'none', why: 'no patch', votes: 0 });
  });

  it('among equal evidence, agreement wins over the Reviewer’s rank, and the rank over the number', () => {
    const r = judgeCandidates([
      { candidate: 1, diffHash: 'x', evidence: ev({}), reviewRank: 1 },
      { candidate: 2, diffHash: 'y', evidence: ev({}), reviewRank: 3 },
      { candidate: 3, diffHash: 'y', evidence: ev({}), reviewRank: 2 },
    ]);
    expect(r.chosen).toBe(3);
    expect(r.judged.map((j) => [j.votes, j.place])).toEqual([
      [1, 3],
      [2, 2],
      [2, 1],
    ]);
    // A failing candidate with the same diff still votes (agreement is over every candidate with a patch).
    expect(
      judgeCandidates([
        { candidate: 1, diffHash: 'x', evidence: ev({}), reviewRank: 2 },
        { candidate: 2, diffHash: 'y', evidence: ev({}), reviewRank: 1 },
        { candidate: 3, diffHash: 'x', evidence: ev({ outcome: 'timeout' }) },
      ]).chosen,
    ).toBe(1);
  });

  it('more tests fixed comes first; clean candidates only when none fixes anything', () => {
    expect(
      judgeCandidates([
        { candidate: 1, diffHash: 'x', evidence: ev({ fixed: 1, baseFailed: 2 }) },
        { candidate: 2, diffHash: 'y', evidence: ev({ fixed: 2, baseFailed: 2 }) },
      ]).chosen,
    ).toBe(2);
    expect(
      judgeCandidates([
        { candidate: 1, diffHash: 'x', evidence: ev({ fixed: 0, baseFailed: 0 }) },
        { candidate: 2, diffHash: 'y', evidence: ev({ fixed: 0, baseFailed: 0 }), reviewRank: 1 },
      ]).chosen,
    ).toBe(2);
  });
});
