import { describe, expect, it } from 'vitest';
import { ALL_SCOPES } from '../../../schemas/api.ts';
import { quotaFromForm, quotaUse, SCOPES, tokenState } from './settings.ts';

describe('settings rules', () => {
  it("offers exactly the gateway's token scopes (schemas/api.ts), in its order", () => {
    expect([...SCOPES]).toEqual([...ALL_SCOPES]);
  });

  it('reads the quota form: both, one, none (remove), or the problem', () => {
    expect(quotaFromForm('10000', '2.5')).toEqual({ quota: { tokensPerDay: 10000, usdPerDay: 2.5 } });
    expect(quotaFromForm(' ', '3')).toEqual({ quota: { usdPerDay: 3 } });
    expect(quotaFromForm('', '')).toEqual({ quota: null });
    expect(quotaFromForm('1.5', '')).toEqual({
      problem: 'Tokens per day must be a whole number of at least 1.',
    });
    expect(quotaFromForm('0', '')).toHaveProperty('problem');
    expect(quotaFromForm('', '-1')).toEqual({ problem: 'USD per day must be a positive amount.' });
    expect(quotaFromForm('', 'abc')).toHaveProperty('problem');
  });

  it("says today's use against the quota and when it resets", () => {
    const now = Date.parse('2026-12-02T21:00:00.000Z');
    const use = { day: '2026-12-02', tokens: 1234, usd: 0.5, calls: 7, resetsAt: '2026-12-03T00:00:00.000Z' };
    expect(quotaUse({ tokensPerDay: 10_000, usdPerDay: 2 }, use, now)).toBe(
      'Today (2026-12-02, UTC): 1,234 of 10,000 tokens (12%) · $0.50 of $2.00 (25%) · 7 calls; resets in 3 h (00:00 UTC)',
    );
    expect(quotaUse({ usdPerDay: 2 }, { ...use, calls: 1 }, now)).toMatch(
      /^Today \(2026-12-02, UTC\): 1,234 tokens · \$0\.50 of \$2\.00 \(25%\) · 1 call;/,
    );
    expect(quotaUse(undefined, undefined, now)).toMatch(/^No daily quota/);
  });

  it("says a token's state", () => {
    const now = Date.parse('2026-12-02T00:00:00.000Z');
    expect(tokenState({ expiresAt: '2026-12-05T00:00:00.000Z', revokedAt: null }, now)).toEqual({
      active: true,
      text: 'active, expires in 3 d',
    });
    expect(tokenState({ expiresAt: '2026-12-01T00:00:00.000Z', revokedAt: null }, now)).toEqual({
      active: false,
      text: 'expired 2026-12-01',
    });
    expect(
      tokenState({ expiresAt: '2026-12-05T00:00:00.000Z', revokedAt: '2026-11-30T10:00:00.000Z' }, now),
    ).toEqual({
      active: false,
      text: 'revoked 2026-11-30',
    });
  });
});
