import { describe, expect, it } from 'vitest';
import { parseLimits } from './budget-flags.ts';

describe('--soft-budget / --hard-budget', () => {
  it('reads calls, usd, tokens and wall seconds', () => {
    expect(parseLimits('--soft-budget', 'calls=20, usd=1.5,tokens=200000,wall=900')).toEqual({
      modelCalls: 20,
      usd: 1.5,
      tokens: 200000,
      wallSeconds: 900,
    });
  });
  it('names the flag and the bad part', () => {
    expect(() => parseLimits('--hard-budget', 'calls=0')).toThrow(/--hard-budget .* not "calls=0"/);
    expect(() => parseLimits('--hard-budget', 'dollars=3')).toThrow(/not "dollars=3"/);
    expect(() => parseLimits('--hard-budget', 'usd')).toThrow(/not "usd"/);
  });
});
