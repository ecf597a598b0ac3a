import { describe, expect, it } from 'vitest';
import type { TaskEvent } from '../types.ts';
import { memoriesUsed } from './memories.ts';

const recalled = (kind: string, attempt: number, memories: unknown[]): TaskEvent => ({
  id: `${kind}${attempt}`,
  taskId: 't-now',
  type: 'memory.recalled',
  at: '2026-12-02T10:00:00Z',
  step: { kind, attempt },
  data: { memories },
});

describe('memoriesUsed', () => {
  it('one row per earlier patch, with the steps that were shown it, best score first', () => {
    const rejected = {
      taskId: 't-1',
      patchId: 't-1-p1',
      title: 'Fix sub',
      outcome: 'rejected',
      score: 0.4,
      via: 'lexical',
    };
    const merged = {
      taskId: 't-2',
      patchId: 't-2-p2',
      title: 'Fix add',
      outcome: 'integrated',
      score: 0.9,
      via: 'vector',
    };
    const used = memoriesUsed([
      recalled('plan', 1, [rejected, merged]),
      { id: 'x', taskId: 't-now', type: 'step.completed', at: '', data: {} },
      recalled('code', 1, [{ ...rejected, score: 0.7, via: 'vector' }]),
    ]);
    expect(used).toEqual([
      { ...merged, via: ['vector'], steps: ['plan #1'] },
      { ...rejected, score: 0.7, via: ['lexical', 'vector'], steps: ['plan #1', 'code #1'] },
    ]);
  });

  it('ignores malformed entries and events without memories', () => {
    expect(
      memoriesUsed([
        recalled('plan', 1, [null, 'x', { title: 'no id' }]),
        { id: 'y', taskId: 't', type: 'memory.recalled', at: '', data: { memories: 'nope' } },
      ]),
    ).toEqual([]);
  });
});
