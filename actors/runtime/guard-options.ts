// Settings of the guards around every model call: budget reservations and the per-endpoint circuit breaker.

export interface ModelGuardOptions {
  /** Consecutive failures of an endpoint that open its breaker. */
  breakerFailures: number;
  /** How long an open breaker stays open before one caller probes the endpoint. */
  breakerCooldownMs: number;
  /** A probe not reported within this long is taken over by another caller (its holder died). */
  probeMs: number;
  /** The longest a call waits for its endpoint when the task has no wall-time budget. */
  maxWaitMs: number;
  /** Completion tokens reserved for each call on top of its prompt (the answer's length is not known before). */
  reserveTokens: number;
  /** How often a paused or waiting call looks at the blackboard again. */
  pollMs: number;
  /** An unsettled reservation stops counting after this long (its holder died mid-call). */
  reservationTtlMs: number;
}

export const DEFAULT_MODEL_GUARD: ModelGuardOptions = {
  breakerFailures: 3,
  breakerCooldownMs: 5_000,
  probeMs: 30_000,
  maxWaitMs: 10 * 60_000,
  reserveTokens: 512,
  pollMs: 250,
  reservationTtlMs: 10 * 60_000,
};

/**
 * `CODEMESH_BREAKER_FAILURES`, `CODEMESH_BREAKER_COOLDOWN_MS`, `CODEMESH_MODEL_WAIT_MAX_S`,
 * `CODEMESH_BUDGET_RESERVE_TOKENS`; anything unset or not a positive number keeps its default.
 */
export function modelGuardFromEnv(env: Record<string, string | undefined>): ModelGuardOptions {
  const num = (name: string): number | undefined => {
    const v = Number(env[name]);
    return env[name] !== undefined && Number.isFinite(v) && v > 0 ? v : undefined;
  };
  const waitS = num('CODEMESH_MODEL_WAIT_MAX_S');
  return {
    ...DEFAULT_MODEL_GUARD,
    breakerFailures: Math.round(num('CODEMESH_BREAKER_FAILURES') ?? DEFAULT_MODEL_GUARD.breakerFailures),
    breakerCooldownMs: num('CODEMESH_BREAKER_COOLDOWN_MS') ?? DEFAULT_MODEL_GUARD.breakerCooldownMs,
    maxWaitMs: waitS !== undefined ? waitS * 1000 : DEFAULT_MODEL_GUARD.maxWaitMs,
    reserveTokens: Math.round(num('CODEMESH_BUDGET_RESERVE_TOKENS') ?? DEFAULT_MODEL_GUARD.reserveTokens),
  };
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
