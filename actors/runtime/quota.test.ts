import { describe, expect, it } from 'vitest';
import { nextUtcMidnight, type QuotaDay, utcDay } from '../../schemas/index.ts';
import { checkQuota, QuotaExceededError, usedToday } from './quota.ts';

const NOON = Date.UTC(2026, 11, 2, 12, 0, 0);
const day = (
  tokens: number,
  usd: number,
  reserved: Array<{ tokens: number; until: number }> = [],
): QuotaDay => ({
  org: 'acme',
  day: '2026-12-02',
  spent: { tokens, usd, calls: 1 },
  reservations: reserved.map((r, i) => ({
    id: `r${i}`,
    day: '2026-12-02',
    holder: 'h',
    usd: 0,
    calls: 1,
    ...r,
  })),
});

describe('daily quota', () => {
  it('names UTC days and their resets', () => {
    expect(utcDay(Date.UTC(2026, 11, 31, 23, 59, 59))).toBe('2026-12-31');
    expect(new Date(nextUtcMidnight(Date.UTC(2026, 11, 31, 23, 59, 59))).toISOString()).toBe(
      '2027-01-01T00:00:00.000Z',
    );
    expect(nextUtcMidnight(Date.UTC(2026, 11, 2))).toBe(Date.UTC(2026, 11, 3));
  });

  it('counts live reservations with the settled spending, not lapsed ones', () => {
    const d = day(100, 0, [
      { tokens: 50, until: NOON + 1 },
      { tokens: 70, until: NOON - 1 },
    ]);
    expect(usedToday(d, NOON).tokens).toBe(150);
  });

  it('refuses a call that would pass the token quota, naming the quota and the reset', () => {
    const est = { tokens: 300, usd: 0, calls: 1 };
    expect(checkQuota('acme', { tokensPerDay: 1000 }, day(700, 0), est, NOON)).toBeUndefined();
    const b = checkQuota('acme', { tokensPerDay: 1000 }, day(701, 0), est, NOON);
    expect(b).toMatchObject({ quota: 'tokensPerDay', limit: 1000, used: 701, asked: 300, day: '2026-12-02' });
    expect(b?.resetsAt).toBe('2026-12-03T00:00:00.000Z');
    expect(new QuotaExceededError(b!).message).toBe(
      "quota: org acme's tokensPerDay quota of 1000 tokens for 2026-12-02 (UTC) would be passed (701 tokens used + ~300 tokens for this call); it resets at 2026-12-03T00:00:00.000Z",
    );
  });

  it('checks USD too; with nothing asked, says whether the org is at or over its quota', () => {
    const est = { tokens: 1, usd: 0.5, calls: 1 };
    expect(checkQuota('acme', { usdPerDay: 2 }, day(0, 1.6), est, NOON)?.quota).toBe('usdPerDay');
    const zero = { tokens: 0, usd: 0, calls: 0 };
    expect(checkQuota('acme', { usdPerDay: 2 }, day(0, 1.99), zero, NOON)).toBeUndefined();
    expect(checkQuota('acme', { usdPerDay: 2 }, day(0, 2), zero, NOON)?.quota).toBe('usdPerDay');
    expect(checkQuota('acme', { tokensPerDay: 5 }, undefined, zero, NOON)).toBeUndefined();
  });
});
