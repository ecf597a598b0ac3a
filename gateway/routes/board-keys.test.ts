// Which task a blackboard key belongs to decides who sees it on the board feed: fan-out keys included.
import { describe, expect, it } from 'vitest';
import { candidatePart, keys, patchId, stepId, subtaskPart } from '../../schemas/index.ts';
import { taskOfKey } from './board.ts';

describe('taskOfKey', () => {
  const t = 't-abc123';
  it('knows the keys of a fanned-out code step', () => {
    expect(taskOfKey(keys.subtask(t, 1, 'api_v2'))).toBe(t);
    expect(taskOfKey(keys.award(stepId(t, 'code', 1, subtaskPart('Fix-it', 2))))).toBe(t);
    expect(taskOfKey(keys.award(stepId(t, 'code', 1, 'm3')))).toBe(t);
    expect(taskOfKey(keys.award(stepId(t, 'code', 1)))).toBe(t);
  });
  it('knows the keys of k candidates', () => {
    expect(taskOfKey(keys.candidate(t, 1, 3))).toBe(t);
    expect(taskOfKey(keys.selection(t, 1))).toBe(t);
    expect(taskOfKey(keys.patch(patchId(t, 1, 2)))).toBe(t);
    expect(taskOfKey(keys.testrun(t, 1, 2))).toBe(t);
    expect(taskOfKey(keys.award(stepId(t, 'test', 1, candidatePart(2))))).toBe(t);
    expect(taskOfKey('candidate.t-abc123-1')).toBeUndefined();
  });
  it('still refuses keys that name no task', () => {
    expect(taskOfKey('subtask.x-1-a')).toBeUndefined();
    expect(taskOfKey('award.t-abc123-code-1-zz')).toBeUndefined();
  });
});
