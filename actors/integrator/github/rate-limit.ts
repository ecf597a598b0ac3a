// How long to wait before retrying a rate-limited GitHub request, from GitHub's documented headers: `retry-after`
// (seconds), else `x-ratelimit-remaining: 0` with `x-ratelimit-reset` (epoch seconds), else — a secondary limit
// with neither — an exponential backoff from one minute, as GitHub's docs ask.

export interface LimitedResponse {
  status: number;
  headers: Record<string, string | number | undefined>;
}

const header = (r: LimitedResponse, name: string): string | undefined => {
  const v = r.headers[name];
  return v === undefined ? undefined : String(v);
};

/** Whether this answer is a rate limit (primary or secondary) rather than a real refusal. */
export function isRateLimited(r: LimitedResponse, message = ''): boolean {
  if (r.status === 429) return true;
  if (r.status !== 403) return false;
  return (
    header(r, 'retry-after') !== undefined ||
    header(r, 'x-ratelimit-remaining') === '0' ||
    /rate limit/i.test(message)
  );
}

/**
 * Milliseconds to wait before retry number `retry` (0-based), at time `now`.
 *
 * @example
 * retryDelayMs({ status: 429, headers: { 'retry-after': '2' } }, 0, Date.now()) // 2000
 */
export function retryDelayMs(r: LimitedResponse, retry: number, now: number): number {
  const after = header(r, 'retry-after');
  if (after !== undefined && /^\d+$/.test(after.trim())) return Number(after) * 1000;
  const reset = header(r, 'x-ratelimit-reset');
  if (header(r, 'x-ratelimit-remaining') === '0' && reset && /^\d+$/.test(reset))
    return Math.max(0, Number(reset) * 1000 - now) + 1000;
  return 60_000 * 2 ** retry;
}
