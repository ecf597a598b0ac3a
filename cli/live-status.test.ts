import { describe, expect, it } from 'vitest';
import type { TaskEvent } from '../schemas/index.ts';
import { clock, LiveStatus, stageOf, wantsLiveStatus } from './live-status.ts';
import type { Totals } from './progress.ts';

const ev = (
  type: TaskEvent['type'],
  step?: TaskEvent['step'],
  data: Record<string, unknown> = {},
): TaskEvent => ({
  id: `t-live1:${type}`,
  taskId: 't-live1',
  type,
  at: '2026-12-02T16:00:00.000Z',
  ...(step ? { step } : {}),
  data,
});

/** A terminal that keeps what is on screen: lines ended by \n, and the line being drawn. */
function screen() {
  const writes: string[] = [];
  return {
    writes,
    columns: 60,
    write(s: string) {
      writes.push(s);
    },
    /** The text as it shows: each erase (\r ESC[2K) wipes the current line. */
    shown(): string {
      const all = writes.join('');
      return all
        .split('\n')
        .map((l) => l.split('\r\u001b[2K').at(-1) ?? '')
        .join('\n');
    },
  };
}

describe('the live line of codemesh run', () => {
  it('formats times', () => {
    expect(clock(0)).toBe('0:00');
    expect(clock(65_400)).toBe('1:05');
    expect(clock(3_723_000)).toBe('1:02:03');
  });

  it('names the stage each award starts, with its attempt and part', () => {
    expect(stageOf(ev('step.awarded', { kind: 'test', attempt: 2 }))).toBe('testing #2');
    expect(stageOf(ev('step.awarded', { kind: 'code', attempt: 1, part: 'c3' }))).toBe('coding #1 c3');
    expect(stageOf(ev('budget.paused'))).toBe('paused at the budget gate');
    expect(stageOf(ev('cost.recorded'))).toBeUndefined();
  });

  it('shows the stage clock, the total clock, tokens and cost from the first second', () => {
    let now = 1_000_000;
    const totals: Totals = { tokens: 0, costUsd: 0 };
    const term = screen();
    const live = new LiveStatus(term, totals, () => now);
    live.draw();
    expect(term.shown()).toBe('⠋ starting 0:00 · 0:00 in all · 0 tokens · $0.0000');
    now += 5_000;
    live.onEvent(ev('step.awarded', { kind: 'plan', attempt: 1 }));
    now += 2_000;
    totals.tokens = 1234;
    totals.costUsd = 0.0123;
    live.draw();
    expect(term.shown()).toBe('⠙ planning #1 0:02 · 0:07 in all · 1,234 tokens · $0.0123');
  });

  it('prints event lines above the line, keeps it within the terminal, and gets out of a gate’s way', () => {
    let now = 0;
    const totals: Totals = { tokens: 0, costUsd: 0 };
    const term = screen();
    term.columns = 30;
    const live = new LiveStatus(term, totals, () => now);
    live.onEvent(ev('step.awarded', { kind: 'test', attempt: 1 }));
    live.draw();
    live.print('patch #1: fix subtract');
    const lines = term.shown().split('\n');
    expect(lines[0]).toBe('patch #1: fix subtract');
    expect(lines[1]).toMatch(/^⠙ testing #1 0:00/);
    expect([...lines[1]!].length).toBeLessThanOrEqual(29);
    // At the gate: erased, not redrawn, even by the timer or a printed line.
    live.pause();
    live.draw();
    live.print('Approve? [y]es / [n]o');
    expect(term.shown()).toMatch(/\nApprove\? \[y\]es \/ \[n\]o\n$/);
    // The next stage brings it back.
    now += 1000;
    live.onEvent(ev('step.awarded', { kind: 'integrate', attempt: 1 }));
    live.draw();
    expect(term.shown().split('\n').at(-1)).toMatch(/^⠹ integrating #1 0:00/);
    live.stop();
    expect(term.shown().split('\n').at(-1)).toBe('');
  });

  it('is drawn on a terminal only, and not with CODEMESH_PROGRESS=plain or TERM=dumb', () => {
    expect(wantsLiveStatus(true, {})).toBe(true);
    expect(wantsLiveStatus(false, {})).toBe(false);
    expect(wantsLiveStatus(undefined, {})).toBe(false);
    expect(wantsLiveStatus(true, { CODEMESH_PROGRESS: 'plain' })).toBe(false);
    expect(wantsLiveStatus(true, { TERM: 'dumb' })).toBe(false);
  });
});
