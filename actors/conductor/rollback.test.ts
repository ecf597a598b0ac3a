// A task's rollback read from its events.
import { describe, expect, it } from 'vitest';
import type { TaskEvent } from '../../schemas/index.ts';
import { rollbackOf } from './rollback.ts';

const ev = (type: TaskEvent['type'], at: string, data: Record<string, unknown>): TaskEvent => ({
  id: `${type}:x`,
  taskId: 't-x',
  type,
  at,
  data,
});

describe('rollbackOf', () => {
  it('is undefined when no rollback was asked', () => {
    expect(rollbackOf([ev('task.completed', 'a', {})])).toBeUndefined();
  });

  it('says who asked and when, then the revert commit, then when it was done', () => {
    const asked = ev('rollback.requested', '2026-12-02T10:00:00Z', { patchId: 't-x-p1', by: 'u-1' });
    expect(rollbackOf([asked])).toMatchObject({ state: 'requested', by: 'u-1', reason: null, branch: null });
    const committed = ev('rollback.committed', '2026-12-02T10:00:05Z', {
      branch: 'codemesh/t-x-rollback',
      commit: 'd'.repeat(40),
      reverts: 'c'.repeat(40),
    });
    expect(rollbackOf([asked, committed])).toMatchObject({
      state: 'committed',
      commit: 'd'.repeat(40),
      committedAt: '2026-12-02T10:00:05Z',
      doneAt: null,
    });
    const done = ev('task.rolled_back', '2026-12-02T10:00:06Z', { branch: 'codemesh/t-x-rollback' });
    expect(rollbackOf([asked, committed, done])).toMatchObject({
      state: 'rolled_back',
      branch: 'codemesh/t-x-rollback',
      doneAt: '2026-12-02T10:00:06Z',
    });
  });
});
