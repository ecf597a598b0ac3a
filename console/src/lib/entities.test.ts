import { describe, expect, it } from 'vitest';
import { entityMatches, entityOf } from './entities.ts';

const row = (key: string, value: unknown, op: 'PUT' | 'DEL' | 'PURGE' = 'PUT') => ({
  key,
  kind: key.slice(0, key.indexOf('.')),
  op,
  value,
});

describe('blackboard entities', () => {
  it('names a task by its title and status', () => {
    const e = entityOf(
      row('task.t-abc123', {
        id: 't-abc123',
        request: { title: 'Fix subtract' },
        status: 'awaiting_approval',
        attempt: 2,
        updatedAt: '2026-12-02T10:00:00.000Z',
      }),
    );
    expect(e).toMatchObject({
      kind: 'task',
      title: 'Fix subtract',
      state: 'awaiting approval',
      taskId: 't-abc123',
    });
    expect(e.at).toBe(Date.parse('2026-12-02T10:00:00.000Z'));
    expect(e.facts).toContainEqual({ label: 'attempt', value: '2' });
  });

  it('gives an award its holder and lease while it runs, not after', () => {
    const award = {
      stepId: 't-abc123-code-2',
      taskId: 't-abc123',
      kind: 'code',
      attempt: 2,
      round: 1,
      instanceId: 'coder-7',
      state: 'running',
      leaseUntil: 50_000,
      awardedAt: 20_000,
    };
    expect(entityOf(row('award.t-abc123-code-2', award))).toMatchObject({
      title: 'code #2 of t-abc123',
      state: 'running',
      holder: 'coder-7',
      leaseUntil: 50_000,
      at: 20_000,
    });
    const done = entityOf(row('award.t-abc123-code-2', { ...award, state: 'done' }));
    expect(done.holder).toBe('coder-7');
    expect(done.leaseUntil).toBeUndefined();
  });

  it('says whether a lock is held, by whom and until when', () => {
    const lock = {
      repoKey: 'r',
      path: 'src/calc.ts',
      holder: 't-abc123',
      leaseUntil: 9_000,
      lastCommit: null,
      lastTask: null,
    };
    expect(entityOf(row('lock.r.h', lock))).toMatchObject({
      title: 'src/calc.ts',
      state: 'held',
      holder: 't-abc123',
      leaseUntil: 9_000,
    });
    const free = entityOf(
      row('lock.r.h', { ...lock, holder: null, lastCommit: 'abcdef0123456789', lastTask: 't-old' }),
    );
    expect(free).toMatchObject({ state: 'free' });
    expect([free.holder, free.leaseUntil]).toEqual([undefined, undefined]);
    expect(free.facts).toContainEqual({ label: 'last commit', value: 'abcdef0' });
  });

  it('shows a subtask with its owner, dependencies and patch size', () => {
    const e = entityOf(
      row('subtask.t-abc123-1-fix', {
        taskId: 't-abc123',
        attempt: 1,
        subtaskId: 'fix',
        title: 'Fix the sign',
        dependsOn: ['read'],
        state: 'done',
        owner: 'coder-2',
        patch: { additions: 3, deletions: 1 },
        updatedAt: '2026-12-02T10:00:00.000Z',
      }),
    );
    expect(e).toMatchObject({ title: 'fix: Fix the sign', state: 'done', holder: 'coder-2' });
    expect(e.facts).toEqual(
      expect.arrayContaining([
        { label: 'after', value: 'read' },
        { label: 'patch', value: '+3 −1' },
      ]),
    );
  });

  it('summarises patches, test runs, reviews, approvals and cost', () => {
    const patch = entityOf(
      row('patch.t-a-p1', {
        id: 't-a-p1',
        taskId: 't-a',
        files: ['a.ts', 'b.ts', 'c.ts', 'd.ts'],
        stats: { additions: 4, deletions: 2 },
        summary: 's',
        createdAt: '2026-12-02T10:00:00.000Z',
        policy: { blocked: true },
      }),
    );
    expect(patch).toMatchObject({ title: 't-a-p1', state: 'blocked' });
    expect(patch.facts).toContainEqual({ label: 'files', value: 'a.ts, b.ts, c.ts +1' });
    expect(
      entityOf(row('testrun.t-a-1', { patchId: 't-a-p1', passed: true, counts: { passed: 5, failed: 0 } })),
    ).toMatchObject({ title: 'tests of t-a-p1', state: 'passed' });
    expect(
      entityOf(row('review.t-a-1', { patchId: 't-a-p1', decision: 'approve', confidence: 0.9 })).facts,
    ).toEqual([{ label: 'confidence', value: '90%' }]);
    expect(
      entityOf(row('approval.t-a-p1', { patchId: 't-a-p1', decision: 'approve', by: 'u1', byName: 'Ada' })),
    ).toMatchObject({ state: 'approved', facts: [{ label: 'by', value: 'Ada' }] });
    expect(entityOf(row('cost.t-a', { totals: { costUsd: 0.01234, calls: 3 } })).facts).toEqual([
      { label: 'USD', value: '$0.0123' },
      { label: 'calls', value: '3' },
    ]);
  });

  it('names a memory entry by its task and title, not its hashed key', () => {
    expect(
      entityOf(
        row('memory.ee138d4751ec.t-a', { taskId: 't-a', title: 'Fix subtract', outcome: 'integrated' }),
      ),
    ).toMatchObject({ title: 'what t-a did: Fix subtract', state: 'integrated', taskId: 't-a' });
  });

  it('keeps unknown kinds and odd values readable, and marks deletions', () => {
    expect(entityOf(row('breaker.abc', { state: 'open' }))).toMatchObject({
      title: 'abc',
      state: 'open',
      facts: [],
    });
    expect(entityOf(row('task.t-x', 'not an object'))).toMatchObject({ title: 't-x', state: undefined });
    expect(entityOf(row('task.t-x', null, 'DEL'))).toMatchObject({ title: 't-x', state: 'deleted' });
  });

  it('filters by key, title, holder or state', () => {
    const r = row('award.t-a-code-1', { kind: 'code', attempt: 1, instanceId: 'coder-7', state: 'running' });
    const e = entityOf(r);
    expect(entityMatches(r, e, 'CODER-7')).toBe(true);
    expect(entityMatches(r, e, 'running')).toBe(true);
    expect(entityMatches(r, e, 'award.t-a')).toBe(true);
    expect(entityMatches(r, e, 'planner')).toBe(false);
    expect(entityMatches(r, e, '  ')).toBe(true);
  });
});
