// Redaction for exported traces: secrets and personal data out of every string and secret-named field.
const SECRET_KEY =
  /(api[_-]?key|secret|password|passwd|token|authorization|cookie|credential|private[_-]?key)/i;
/**
 * Counts of model tokens (`promptTokens`, `completionTokens`, `tokensPerDay`): a plural `tokens` in the name
 * and a number as the value. A token itself is a string, so it is still redacted under such a name.
 */
const TOKEN_COUNT = /tokens/i;
const isSecretField = (k: string, v: unknown) =>
  SECRET_KEY.test(k) &&
  v !== null &&
  typeof v !== 'boolean' &&
  !(typeof v === 'number' && TOKEN_COUNT.test(k));

const PATTERNS: Array<[RegExp, string]> = [
  [/\bBearer\s+[A-Za-z0-9._~+/=-]+/gi, 'Bearer [REDACTED]'],
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, '[REDACTED_JWT]'],
  [/\bcmp_[a-z0-9]{12}_[A-Za-z0-9_-]{20,}/g, '[REDACTED_TOKEN]'],
  [/\bsk-[A-Za-z0-9_-]{8,}/g, '[REDACTED_KEY]'],
  [/\b(?:ghp|gho|ghs|ghu|github_pat|xox[abpr]|AKIA)[A-Za-z0-9_-]{10,}/g, '[REDACTED_KEY]'],
  [/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g, '[REDACTED_EMAIL]'],
  [/\b((?:api[_-]?key|token|secret|password)\s*[=:]\s*)("?)[^\s"',;]{4,}\2/gi, '$1[REDACTED]'],
];

export function redactString(s: string): string {
  let out = s;
  for (const [re, by] of PATTERNS) out = out.replace(re, by);
  return out;
}

/** A deep copy of `value` with secret-named fields replaced and every string scrubbed. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 64) return '[TRUNCATED]';
  if (typeof value === 'string') return redactString(value);
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Date) return value.toISOString();
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      out[k] = isSecretField(k, v) ? '[REDACTED]' : redact(v, depth + 1);
    return out;
  }
  return value;
}
