import { describe, expect, it } from 'vitest';
import { draft } from './drafts.ts';

describe('draft', () => {
  it('returns the same signal for a key, with what was written, until changed', () => {
    const [get, set] = draft('override:t-1-p1', '');
    set('internal scripts only');
    const [again] = draft('override:t-1-p1', 'ignored');
    expect(again()).toBe('internal scripts only');
    expect(get()).toBe('internal scripts only');
    expect(draft('override:t-1-p2', 'x')[0]()).toBe('x');
  });
});
