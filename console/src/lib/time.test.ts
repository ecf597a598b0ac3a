import { describe, expect, it } from 'vitest';
import { clock, instant, relative, span, timeLeft } from './time.ts';

describe('readable times', () => {
  it('says a span in one unit', () => {
    expect(span(0)).toBe('0 s');
    expect(span(42_900)).toBe('42 s');
    expect(span(89_000)).toBe('89 s');
    expect(span(3 * 60_000 + 10_000)).toBe('3 min');
    expect(span(5 * 3600_000)).toBe('5 h');
    expect(span(3 * 86_400_000)).toBe('3 d');
  });
  it('says how far an instant is from now', () => {
    expect(relative(1_000_500, 1_000_000)).toBe('now');
    expect(relative(1_025_000, 1_000_000)).toBe('in 25 s');
    expect(relative(1_000_000 - 180_000, 1_000_000)).toBe('3 min ago');
  });
  it("says a lease's time left, and since when it expired", () => {
    expect(timeLeft(31_000, 1_000)).toBe('30 s left');
    expect(timeLeft(1_000, 4_000)).toBe('expired 3 s ago');
  });
  it('shows a clock time today and a date before', () => {
    const now = new Date(2026, 11, 2, 22, 30, 0).getTime();
    expect(clock(new Date(2026, 11, 2, 9, 5, 7).getTime(), now)).toBe('09:05:07');
    expect(clock(new Date(2026, 10, 30, 14, 3, 0).toISOString(), now)).toBe('2026-11-30 14:03');
    expect(clock('not a time', now)).toBe('not a time');
  });
  it('reads epoch ms and ISO strings', () => {
    expect(instant(5)).toBe(5);
    expect(instant('1970-01-01T00:00:01.000Z')).toBe(1000);
    expect(instant('soon')).toBeUndefined();
    expect(instant(null)).toBeUndefined();
  });
});
