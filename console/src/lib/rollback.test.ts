import { describe, expect, it } from 'vitest';
import type { RollbackView } from '../types.ts';
import { rollbackLines } from './rollback.ts';

const asked: RollbackView = {
  state: 'requested',
  patchId: 't-1-p1',
  by: 'u-123',
  byName: null,
  reason: 'broke prod',
  requestedAt: '2026-12-02T10:00:00.000Z',
  branch: null,
  commit: null,
  reverts: null,
  committedAt: null,
  doneAt: null,
};

describe('the rollback in the task view', () => {
  it('says it is under way, who asked, when and why', () => {
    expect(rollbackLines(asked)).toEqual({
      title: 'Rollback asked, under way',
      who: 'asked by u-123 at 2026-12-02 10:00:00 UTC: broke prod',
    });
  });

  it('names the revert branch and commit once done, and the asker by name when known', () => {
    const done = rollbackLines({
      ...asked,
      state: 'rolled_back',
      byName: 'Alice',
      branch: 'codemesh/t-1-rollback',
      commit: 'd'.repeat(40),
      reverts: 'c'.repeat(40),
      doneAt: '2026-12-02T10:00:07.000Z',
    });
    expect(done.title).toBe('Rolled back at 2026-12-02 10:00:07 UTC');
    expect(done.who).toMatch(/^asked by Alice/);
    expect(done.made).toBe(`revert ${'d'.repeat(12)} on codemesh/t-1-rollback (reverts ${'c'.repeat(12)})`);
  });
});
