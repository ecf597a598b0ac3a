import { describe, expect, it } from 'vitest';
import { type DecisionState, decide, decisionText } from './optimistic.ts';

describe('optimistic gate decisions', () => {
  it('shows an approval at once as pending, then accepted', () => {
    let s: DecisionState = { phase: 'idle' };
    s = decide(s, { type: 'send', decision: 'approve', at: 5 });
    expect(s).toEqual({ phase: 'pending', decision: 'approve', since: 5 });
    expect(decisionText(s, 't-a-p1')).toBe('Approved t-a-p1 — pending, waiting for the server…');
    s = decide(s, { type: 'accepted' });
    expect(s).toEqual({ phase: 'accepted', decision: 'approve' });
    expect(decisionText(s, 't-a-p1')).toBe('Approved t-a-p1 — integrating.');
  });

  it('rolls back to idle with the reason when the server refuses', () => {
    const pending = decide({ phase: 'idle', error: 'old' }, { type: 'send', decision: 'approve', at: 1 });
    const s = decide(pending, { type: 'refused', message: 'patch t-a-p1 is not awaiting approval' });
    expect(s).toEqual({ phase: 'idle', error: 'patch t-a-p1 is not awaiting approval' });
    expect(decisionText(s, 't-a-p1')).toBeUndefined();
  });

  it('takes one decision at a time and ignores late answers', () => {
    const pending = decide({ phase: 'idle' }, { type: 'send', decision: 'request_changes', at: 1 });
    expect(decide(pending, { type: 'send', decision: 'approve', at: 2 })).toBe(pending);
    expect(decisionText(pending, 'p')).toBe('Changes requested on p — pending, waiting for the server…');
    const idle: DecisionState = { phase: 'idle' };
    expect(decide(idle, { type: 'accepted' })).toBe(idle);
    expect(decide(idle, { type: 'refused', message: 'x' })).toBe(idle);
  });
});
