// A circuit breaker per model endpoint, kept on the blackboard (`breaker.<endpoint>`) so every agent process
// sees the same one: closed → open after N consecutive failures → half_open after a cool-down, where one caller
// probes → closed on its success, open again on its failure. Callers wait while it is open instead of failing.
import type { Blackboard } from '../../blackboard/index.ts';
import { BreakerState, keys } from '../../schemas/index.ts';
import {
  ModelRateLimitError,
  ModelServerError,
  ModelTimeoutError,
  ModelUnreachableError,
} from '../llm/index.ts';
import { type ModelGuardOptions, sleep } from './guard-options.ts';

/** The endpoint is down, rate limiting or too slow: what the breaker counts (not a bad request or key). */
export function isEndpointFailure(err: unknown): boolean {
  return (
    err instanceof ModelUnreachableError ||
    err instanceof ModelTimeoutError ||
    err instanceof ModelServerError ||
    err instanceof ModelRateLimitError
  );
}

/** A call waited for its endpoint longer than its task allows. */
export class ModelWaitExpiredError extends Error {
  override readonly name = 'ModelWaitExpiredError';
  readonly code = 'MODEL_WAIT_EXPIRED';
}

export type Admission = { go: true; probe: boolean } | { go: false; waitMs: number; state: BreakerState };
type Opts = Pick<ModelGuardOptions, 'breakerFailures' | 'breakerCooldownMs' | 'probeMs'>;

const closed = (endpoint: string, now: number): BreakerState => ({
  endpoint,
  state: 'closed',
  failures: 0,
  opens: 0,
  updatedAt: now,
});

/** Whether `me` may call now, and the breaker's next state if asking changes it (taking the probe). Pure. */
export function admit(
  cur: BreakerState | undefined,
  me: string,
  now: number,
  o: Opts,
): { admission: Admission; next?: BreakerState } {
  if (!cur || cur.state === 'closed') return { admission: { go: true, probe: false } };
  const takeProbe = (): { admission: Admission; next: BreakerState } => ({
    admission: { go: true, probe: true },
    next: { ...cur, state: 'half_open', probeBy: me, probeUntil: now + o.probeMs, updatedAt: now },
  });
  if (cur.state === 'open') {
    const until = (cur.openedAt ?? now) + o.breakerCooldownMs;
    return now < until ? { admission: { go: false, waitMs: until - now, state: cur } } : takeProbe();
  }
  if (cur.probeBy === me) return { admission: { go: true, probe: true } };
  if ((cur.probeUntil ?? 0) > now)
    return { admission: { go: false, waitMs: Math.min(cur.probeUntil! - now, 1000), state: cur } };
  return takeProbe();
}

/** The breaker after a call's outcome, and whether that opened or closed it. Pure. */
export function afterCall(
  cur: BreakerState | undefined,
  endpoint: string,
  ok: boolean,
  now: number,
  o: Opts,
): { next?: BreakerState; change?: 'opened' | 'closed' } {
  const b = cur ?? closed(endpoint, now);
  const clean = { ...b, probeBy: undefined, probeUntil: undefined, updatedAt: now };
  if (ok) {
    if (b.state === 'closed' && b.failures === 0) return {};
    return {
      next: { ...clean, state: 'closed', failures: 0, openedAt: undefined },
      ...(b.state !== 'closed' ? { change: 'closed' as const } : {}),
    };
  }
  const failures = b.failures + 1;
  if (b.state === 'half_open' || (b.state === 'closed' && failures >= o.breakerFailures))
    return {
      next: { ...clean, state: 'open', failures, openedAt: now, opens: b.opens + 1 },
      change: 'opened',
    };
  // Open already (a straggler admitted before it opened): counted, the cool-down unchanged.
  return { next: { ...b, failures, updatedAt: now } };
}

/**
 * Waits until the endpoint's breaker lets `me` call (as a probe, when half open); `onWait` is told once when
 * it has to wait. Throws `ModelWaitExpiredError` past `deadline`, or the signal's reason when aborted.
 */
export async function waitForEndpoint(
  board: Blackboard,
  endpoint: string,
  me: string,
  o: ModelGuardOptions & { now: () => number; deadline: number; signal?: AbortSignal },
  onWait: (state: BreakerState) => Promise<void>,
): Promise<{ probe: boolean }> {
  let told = false;
  for (;;) {
    let admission: Admission = { go: true, probe: false };
    await board.mutate(keys.breaker(endpoint), BreakerState, (cur) => {
      const r = admit(cur, me, o.now(), o);
      admission = r.admission;
      return r.next;
    });
    const a = admission as Admission;
    if (a.go) return { probe: a.probe };
    if (o.now() >= o.deadline)
      throw new ModelWaitExpiredError(
        `the model endpoint ${endpoint} stayed unavailable (circuit breaker ${a.state.state} after ${a.state.failures} failures) until the task's wait limit`,
      );
    if (!told) {
      told = true;
      await onWait(a.state);
    }
    await sleep(Math.max(10, Math.min(a.waitMs, o.pollMs * 4, o.deadline - o.now())), o.signal);
  }
}

/** Records a call's outcome on the endpoint's breaker; returns whether it opened or closed it. */
export async function reportCall(
  board: Blackboard,
  endpoint: string,
  ok: boolean,
  now: number,
  o: Opts,
): Promise<{ change?: 'opened' | 'closed'; state?: BreakerState }> {
  let change: 'opened' | 'closed' | undefined;
  const entry = await board.mutate(keys.breaker(endpoint), BreakerState, (cur) => {
    const r = afterCall(cur, endpoint, ok, now, o);
    change = r.change;
    return r.next;
  });
  return { change, state: entry?.value };
}

/** `me` took the probe and will not report it: back to open, so the next caller probes at once. */
export async function releaseProbe(board: Blackboard, endpoint: string, me: string): Promise<void> {
  await board.mutate(keys.breaker(endpoint), BreakerState, (cur) =>
    cur?.state === 'half_open' && cur.probeBy === me
      ? { ...cur, state: 'open' as const, probeBy: undefined, probeUntil: undefined }
      : undefined,
  );
}
