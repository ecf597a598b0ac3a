// Trace redaction: secrets out, token counts and other numbers kept.
import { describe, expect, it } from 'vitest';
import { redact } from './redact.ts';

describe('redact', () => {
  it('keeps counts of model tokens, which are numbers under a plural `tokens` name', () => {
    const row = { promptTokens: 1200, completionTokens: 34, tokensPerDay: 50_000, calls: 3 };
    expect(redact(row)).toEqual(row);
  });

  it('still redacts tokens and secrets, also a string under a token-count name', () => {
    const out = redact({
      token: 'plain-token-value',
      accessToken: 12345678,
      apiKey: 'k-1234',
      tokenHash: 'abc',
      promptTokens: 'sk-abcdefghijklmnop1234',
      nested: { refresh_token: 'r', tokens: ['cmp_abcdefghijkl_ABCDEFGHIJKLMNOPQRSTUV'] },
    });
    expect(out).toEqual({
      token: '[REDACTED]',
      accessToken: '[REDACTED]',
      apiKey: '[REDACTED]',
      tokenHash: '[REDACTED]',
      promptTokens: '[REDACTED]',
      nested: { refresh_token: '[REDACTED]', tokens: '[REDACTED]' },
    });
  });
});
