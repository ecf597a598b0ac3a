import { describe, expect, it } from 'vitest';
import type { TaskEvent } from '../types.ts';
import { describeEvent } from './timeline.ts';

const ev = (type: string, data: Record<string, unknown> = {}, step?: TaskEvent['step']): TaskEvent => ({
  id: `x:${type}`,
  taskId: 't-a',
  type,
  at: '2026-12-02T10:00:00.000Z',
  data,
  ...(step ? { step } : {}),
});

describe('timeline sentences', () => {
  it('says what each step did and who did it', () => {
    expect(describeEvent(ev('task.created', { title: 'Fix subtract' }))).toEqual({
      text: 'Task created: Fix subtract',
      tone: 'info',
    });
    expect(
      describeEvent(ev('step.awarded', { instanceId: 'coder-1' }, { kind: 'code', attempt: 2 })).text,
    ).toBe('Coding #2 started by coder-1');
    expect(
      describeEvent(ev('step.failed', { reason: 'no edits' }, { kind: 'code', attempt: 1, part: 's0-fix' })),
    ).toEqual({ text: 'Coding #1 (s0-fix) failed: no edits', tone: 'bad' });
    expect(describeEvent(ev('patch.proposed', { patchId: 't-a-p1' })).text).toBe('Patch proposed t-a-p1');
  });

  it('reads test counts, review verdicts and gate decisions', () => {
    expect(describeEvent(ev('test.completed', { passed: true, counts: { passed: 4, failed: 0 } }))).toEqual({
      text: 'Tests passed (4 passed, 0 failed)',
      tone: 'good',
    });
    expect(
      describeEvent(ev('test.completed', { passed: false, counts: { passed: 3, failed: 1 } })).tone,
    ).toBe('bad');
    expect(describeEvent(ev('review.completed', { decision: 'approve', confidence: 0.9 })).text).toBe(
      'Review approves (90% sure)',
    );
    expect(describeEvent(ev('approval.requested', { patchId: 't-a-p1' }))).toEqual({
      text: 'Waiting for your decision on t-a-p1',
      tone: 'gate',
    });
    expect(describeEvent(ev('approval.granted', { patchId: 't-a-p2', by: 'u1', byName: 'Ada' })).text).toBe(
      'Approved t-a-p2 by Ada',
    );
    expect(
      describeEvent(
        ev('approval.changes_requested', { patchId: 't-a-p1', byName: 'Ada', comment: 'add a test' }),
      ).text,
    ).toBe('Changes requested on t-a-p1 by Ada: add a test');
  });

  it('shortens commits and names branches, costs and pull requests', () => {
    expect(
      describeEvent(ev('task.completed', { commit: '0123456789abcdef', branch: 'codemesh/t-a' })).text,
    ).toBe('Task completed at 0123456 on codemesh/t-a');
    expect(
      describeEvent(
        ev('cost.recorded', { role: 'coder', promptTokens: 1000, completionTokens: 234, costUsd: 0.0123 }),
      ).text,
    ).toBe('Model call by the coder (1,234 tokens, $0.0123)');
    expect(describeEvent(ev('pr.opened', { number: 12, draft: true })).text).toBe(
      'Pull request #12 opened as a draft',
    );
    expect(describeEvent(ev('task.failed', {})).text).toBe('Task failed');
  });

  it('keeps an unknown type as its name', () => {
    expect(describeEvent(ev('something.new', { a: 1 }))).toEqual({ text: 'something.new', tone: 'info' });
  });
});
