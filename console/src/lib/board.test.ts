import { describe, expect, it } from 'vitest';
import { applyBoardChanges, type BoardState, keyOfTask, sortedRows } from './board.ts';

const put = (key: string, revision: number, value: unknown = {}) => ({
  key,
  revision,
  op: 'PUT' as const,
  value,
});

describe('board state', () => {
  it('keeps the newest revision per key and marks later revisions as changes', () => {
    let s: BoardState = {};
    s = applyBoardChanges(s, [put('task.t-aaaaaa', 3), put('plan.t-aaaaaa', 4)], 1000);
    expect(s['task.t-aaaaaa']).toMatchObject({ revision: 3, kind: 'task', changed: false, seenAt: 1000 });
    s = applyBoardChanges(s, [put('task.t-aaaaaa', 9, { status: 'testing' })], 2000);
    expect(s['task.t-aaaaaa']).toMatchObject({ revision: 9, changed: true, seenAt: 2000 });
    expect(s['plan.t-aaaaaa']!.seenAt).toBe(1000);
  });

  it('returns the same state when a reconnect replays revisions it already holds', () => {
    const s = applyBoardChanges({}, [put('task.t-aaaaaa', 3)], 1);
    expect(applyBoardChanges(s, [put('task.t-aaaaaa', 3), put('task.t-aaaaaa', 2)], 5)).toBe(s);
  });

  it('records deletes', () => {
    let s = applyBoardChanges({}, [put('lock.r.p', 1)], 1);
    s = applyBoardChanges(s, [{ key: 'lock.r.p', revision: 2, op: 'DEL', value: null }], 2);
    expect(s['lock.r.p']).toMatchObject({ op: 'DEL', value: null, changed: true });
  });

  it('sorts newest first and filters by key text', () => {
    const s = applyBoardChanges(applyBoardChanges({}, [put('b.x', 1), put('a.x', 2)], 1), [put('c.y', 3)], 2);
    expect(sortedRows(s).map((r) => r.key)).toEqual(['c.y', 'a.x', 'b.x']);
    expect(sortedRows(s, '.X').map((r) => r.key)).toEqual(['a.x', 'b.x']);
  });

  it('matches a task’s keys without matching a task whose id extends it', () => {
    expect(keyOfTask('patch.t-abc-p1', 't-abc')).toBe(true);
    expect(keyOfTask('task.t-abc', 't-abc')).toBe(true);
    expect(keyOfTask('task.t-abcd', 't-abc')).toBe(false);
    expect(keyOfTask('award.t-abcd-code-1', 't-abc')).toBe(false);
  });
});
