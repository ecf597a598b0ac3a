// Abuse limits: a token bucket per token (429 + Retry-After), open SSE streams per token (429).
import { ApiError } from './errors.ts';

export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one token for `key`, or throws 429 with the seconds until one is available. */
  take(key: string): void {
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.ratePerSec);
    b.at = now;
    if (b.tokens < 1) {
      this.buckets.set(key, b);
      const retryAfter = Math.max(1, Math.ceil((1 - b.tokens) / this.ratePerSec));
      throw new ApiError(429, 'RATE_LIMITED', `too many requests; retry in ${retryAfter} s`, { retryAfter });
    }
    b.tokens -= 1;
    this.buckets.set(key, b);
    // Full buckets carry no information: drop them so the map stays small.
    if (this.buckets.size > 50_000)
      for (const [k, v] of this.buckets) if (v.tokens >= this.burst - 1) this.buckets.delete(k);
  }
}

export class StreamSlots {
  private readonly open = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly per: 'token' | 'user' = 'token',
  ) {}

  /** Reserves a stream slot for `key`; the returned function releases it (idempotent). */
  acquire(key: string): () => void {
    const n = this.open.get(key) ?? 0;
    if (n >= this.max)
      throw new ApiError(429, 'TOO_MANY_STREAMS', `at most ${this.max} event streams per ${this.per}`, {
        retryAfter: 5,
      });
    this.open.set(key, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(key) ?? 1) - 1;
      if (left <= 0) this.open.delete(key);
      else this.open.set(key, left);
    };
  }

  get total(): number {
    let s = 0;
    for (const n of this.open.values()) s += n;
    return s;
  }
}
