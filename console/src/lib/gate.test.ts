import { describe, expect, it } from 'vitest';
import type { TaskDetail } from '../types.ts';
import { changeRequestProblem, gatePatches } from './gate.ts';

const detail = (task: Partial<TaskDetail['task']>): TaskDetail => ({
  task: { id: 't-1', status: 'awaiting_approval', attempt: 1, ...task },
  plan: null,
  patches: [],
  testRuns: [],
  reviews: [],
  cost: { promptTokens: 0, completionTokens: 0, costUsd: 0, calls: 0 },
});

describe('the patch gate in the console', () => {
  it('a change request needs a comment that says something', () => {
    expect(changeRequestProblem('')).toMatch(/what should change/);
    expect(changeRequestProblem(' \n\t')).toMatch(/what should change/);
    expect(changeRequestProblem('handle NaN')).toBeUndefined();
  });

  it('offers every approvable patch; while a revision runs, the kept one for approval only', () => {
    expect(gatePatches(detail({ approvable: ['t-1-p2', 't-1-p1'] }))).toEqual({
      ids: ['t-1-p2', 't-1-p1'],
      requestChanges: true,
    });
    expect(gatePatches(detail({ status: 'coding', attempt: 2, approvable: ['t-1-p1'] }))).toEqual({
      ids: ['t-1-p1'],
      requestChanges: false,
    });
    expect(gatePatches(detail({ status: 'testing' }))).toEqual({ ids: [], requestChanges: false });
    // Older records: the patch at the gate.
    expect(
      gatePatches(detail({ workflow: { value: 'awaiting_approval', context: { patchId: 't-1-p1' } } })).ids,
    ).toEqual(['t-1-p1']);
  });
});
