// Repeats of a turned-down approach: changed lines in common with a rejected or reverted memory.
import { describe, expect, it } from 'vitest';
import type { MemoryEntry } from '../../schemas/index.ts';
import { changedLines, repeatedRejections, repeatSection } from './repeat.ts';

const diff = (...lines: string[]) =>
  ['diff --git a/calc.py b/calc.py', '--- a/calc.py', '+++ b/calc.py', '@@ -1,2 +1,2 @@', ...lines].join(
    '\n',
  );
const entry = (id: string, outcome: MemoryEntry['outcome'], d: string, note?: string): MemoryEntry => ({
  taskId: id,
  repoPath: '/r',
  title: `task ${id}`,
  description: '',
  patchId: `${id}-p1`,
  files: ['calc.py'],
  diff: d,
  outcome,
  ...(note ? { note } : {}),
  createdAt: '2026-12-02T00:00:00.000Z',
  updatedAt: '2026-12-02T00:00:00.000Z',
});
const recalled = (...entries: MemoryEntry[]) =>
  entries.map((e) => ({ entry: e, score: 1, via: ['lexical' as const] }));

describe('repeats of a turned-down approach', () => {
  const floor = diff('-    return round(x, 2)', '+    return math.floor(x * 100) / 100');
  it('reads the changed lines only, trimmed, without headers or blank changes', () => {
    expect([...changedLines(`${floor}\n+   \n context`)]).toEqual([
      '-return round(x, 2)',
      '+return math.floor(x * 100) / 100',
    ]);
  });

  it('names a rejected or reverted patch with the same changes; never an integrated one or a different change', () => {
    const mine = { diff: `${floor}\n+    # keep cents` };
    const got = repeatedRejections(
      mine,
      recalled(
        entry('t-a', 'rejected', floor, 'changes requested by ana: use banker rounding'),
        entry('t-b', 'integrated', floor),
        entry('t-c', 'reverted', diff('-    return x', '+    return abs(x)')),
        entry('t-d', 'reverted', floor, 'rolled back'),
      ),
    );
    expect(got.map((r) => [r.entry.taskId, r.overlap])).toEqual([
      ['t-a', 1],
      ['t-d', 1],
    ]);
    const text = repeatSection(got);
    expect(text).toContain(
      'REJECTED (changes requested by ana: use banker rounding): patch t-a-p1 of task t-a "task t-a" — 100% of the changed lines are the same.',
    );
    expect(text).toMatch(/otherwise ask for a revision that names the earlier rejection/);
    expect(repeatSection([])).toBe('');
    expect(repeatedRejections({ diff: '' }, recalled(entry('t-a', 'rejected', floor)))).toEqual([]);
  });
});
