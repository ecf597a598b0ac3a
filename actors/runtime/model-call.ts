// One model call on behalf of a step — behind the endpoint's circuit breaker and the task's budget — with its
// tokens and cost appended to the task's ledger.
import type { Blackboard } from '../../blackboard/index.ts';
import {
  type BreakerState,
  type CostEntry,
  CostLedger,
  DEFAULT_ORG,
  keys,
  type QuotaReservation,
  type Spend,
} from '../../schemas/index.ts';
import {
  type ChatRequest,
  type ChatResult,
  type ModelClient,
  type ModelTarget,
  toCostEntry,
} from '../llm/index.ts';
import { isEndpointFailure, releaseProbe, reportCall, waitForEndpoint } from './breaker.ts';
import { estimateCall, hardLimits, reserveBudget, settleBudget } from './budget.ts';
import { DEFAULT_MODEL_GUARD, sleep } from './guard-options.ts';
import { QuotaExceededError, reserveQuota, settleQuota } from './quota.ts';
import type { StepInput } from './types.ts';

/** Appends a cost entry to the task's ledger once (keyed by call id), under compare-and-set. */
export async function appendCost(board: Blackboard, taskId: string, entry: CostEntry): Promise<void> {
  await board.mutate(keys.cost(taskId), CostLedger, (cur) => {
    const ledger = cur ?? {
      taskId,
      entries: [],
      totals: { promptTokens: 0, completionTokens: 0, costUsd: 0, calls: 0 },
    };
    if (ledger.entries.some((e) => e.callId === entry.callId)) return undefined;
    return {
      ...ledger,
      entries: [...ledger.entries, entry],
      totals: {
        promptTokens: ledger.totals.promptTokens + entry.promptTokens,
        completionTokens: ledger.totals.completionTokens + entry.completionTokens,
        costUsd: ledger.totals.costUsd + entry.costUsd,
        calls: ledger.totals.calls + 1,
      },
    };
  });
}

/** Appends a step's model call to the task's ledger and says so with a `cost.recorded` event. */
export async function recordCost(input: StepInput, role: string, result: ChatResult): Promise<void> {
  const entry = toCostEntry(result, role, new Date(input.deps.now()));
  await appendCost(input.mesh.board, input.task.id, entry);
  await input.deps.emit({
    id: `cost:${entry.callId}`,
    taskId: input.task.id,
    type: 'cost.recorded',
    step: { kind: input.kind, attempt: input.attempt, round: input.round },
    data: {
      role,
      model: entry.model,
      promptTokens: entry.promptTokens,
      completionTokens: entry.completionTokens,
      costUsd: entry.costUsd,
    },
  });
}

/**
 * One model call of a step, guarded: it waits while its endpoint's circuit breaker is open, reserves its
 * spending on the task's budget (waiting at a soft limit, failing at a hard one) and on its org's daily quota
 * (failing with `QuotaExceededError` when it would pass it), and is settled with the real usage. An endpoint failure is reported to the breaker and the call tried again, until the task's wall-time
 * budget (else `maxWaitMs`) runs out: a flapping endpoint makes tasks wait, not fail.
 */
export async function callModel(
  input: StepInput,
  role: 'planner' | 'coder' | 'reviewer',
  req: Omit<ChatRequest, 'role' | 'taskId'>,
): Promise<ChatResult> {
  const guard = input.deps.modelGuard ?? DEFAULT_MODEL_GUARD;
  const { board } = input.mesh;
  const now = input.deps.now;
  const client = input.deps.models(role, { orgId: input.task.orgId });
  const target: ModelTarget = (await client.target?.()) ?? {
    baseURL: client.baseURL,
    model: client.model,
    priceInPer1k: 0,
    priceOutPer1k: 0,
  };
  const endpoint = target.baseURL;
  const wall = hardLimits(input.task.request.budget).wallSeconds;
  const deadline = wall ? Date.parse(input.task.createdAt) + wall * 1000 : now() + guard.maxWaitMs;
  const me = `${input.instanceId}:${input.stepId}#${input.round}`;
  const step = { kind: input.kind, attempt: input.attempt, round: input.round };
  const breakerEvent = async (change: 'opened' | 'closed', b: BreakerState | undefined) =>
    input.deps.emit({
      id: `${input.task.id}:breaker-${change}:${keys.breaker(endpoint)}:${b?.opens ?? 0}`,
      taskId: input.task.id,
      type: change === 'opened' ? 'breaker.opened' : 'breaker.closed',
      step,
      data: { endpoint, failures: b?.failures ?? 0, opens: b?.opens ?? 0 },
    });
  for (let failures = 0; ; failures++) {
    const { probe } = await waitForEndpoint(
      board,
      endpoint,
      me,
      { ...guard, now, deadline, signal: req.signal },
      (b) =>
        input.deps.emit({
          id: `${input.stepId}#${input.round}:model-waiting:${b.opens}`,
          taskId: input.task.id,
          type: 'model.waiting',
          step,
          data: {
            endpoint,
            state: b.state,
            failures: b.failures,
            until: (b.openedAt ?? now()) + guard.breakerCooldownMs,
          },
        }),
    );
    const report = async (ok: boolean) => {
      const r = await reportCall(board, endpoint, ok, now(), guard);
      if (r.change) await breakerEvent(r.change, r.state);
    };
    let outcome: { result: ChatResult } | { retry: unknown };
    try {
      outcome = await guardedCall(input, role, req, client, estimateCall(req, target, guard.reserveTokens));
    } catch (err) {
      // A probe that ends without an answer (a hard limit, an abort, a bad request) hands the probe back.
      if (probe) await releaseProbe(board, endpoint, me);
      throw err;
    }
    if ('result' in outcome) {
      await report(true);
      await recordCost(input, role, outcome.result);
      return outcome.result;
    }
    await report(false);
    if (now() >= deadline) throw outcome.retry;
    // Below the breaker's threshold a failed call is tried again after a short pause.
    await sleep(Math.min(guard.breakerCooldownMs, 100 * 2 ** Math.min(failures, 6)), req.signal);
  }
}

/** Reserve, call, settle: an endpoint failure comes back as `retry` (spending released), anything else throws. */
async function guardedCall(
  input: StepInput,
  role: string,
  req: Omit<ChatRequest, 'role' | 'taskId'>,
  client: ModelClient,
  estimate: Spend,
): Promise<{ result: ChatResult } | { retry: unknown }> {
  const guard = input.deps.modelGuard ?? DEFAULT_MODEL_GUARD;
  const { board } = input.mesh;
  const reservation = await reserveBudget(input, role, estimate, guard, req.signal);
  // The org's daily quota after the task's budget: a call paused at the budget gate holds none of it.
  const org = input.task.orgId ?? DEFAULT_ORG;
  let quota: QuotaReservation | undefined;
  try {
    quota = await reserveQuota(board, org, estimate, {
      now: input.deps.now(),
      ttlMs: guard.reservationTtlMs,
      holder: `${input.task.id}:${role}`,
    });
  } catch (err) {
    await settleBudget(board, input.task.id, reservation, undefined);
    if (err instanceof QuotaExceededError)
      await input.deps.emit({
        id: `${input.task.id}:quota-exceeded`,
        taskId: input.task.id,
        type: 'quota.exceeded',
        step: { kind: input.kind, attempt: input.attempt, round: input.round },
        data: { reason: err.message, role, ...err.detail },
      });
    throw err;
  }
  let result: ChatResult;
  try {
    result = await client.chat({ ...req, role, taskId: input.task.id });
  } catch (err) {
    await settleBudget(board, input.task.id, reservation, undefined);
    if (quota) await settleQuota(board, org, quota, undefined);
    if (!isEndpointFailure(err) || req.signal?.aborted) throw err;
    return { retry: err };
  }
  const spent = {
    tokens: result.usage.promptTokens + result.usage.completionTokens,
    usd: result.costUsd,
    calls: 1,
  };
  await settleBudget(board, input.task.id, reservation, spent);
  if (quota) await settleQuota(board, org, quota, spent);
  return { result };
}

/**
 * Parses a JSON object out of a model answer: the whole answer, else the first balanced `{...}` that parses
 * (scanned with string literals respected, so a ``` fence or a brace inside a JSON string never cuts it).
 * A ```json fence around the object needs no special case: the scan starts inside it.
 */
export function extractJson(text: string | null): unknown {
  if (!text) throw new Error('the answer was empty; reply with a JSON object');
  const whole = text.trim();
  let firstError: string | undefined;
  const tryParse = (candidate: string): unknown => {
    try {
      const v: unknown = JSON.parse(candidate);
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
    } catch (err) {
      firstError ??= (err as Error).message;
      return undefined;
    }
  };
  if (whole.startsWith('{')) {
    const v = tryParse(whole);
    if (v !== undefined) return v;
  }
  // Each start is one linear scan; a bounded number of them keeps a hostile answer cheap.
  let tries = 0;
  for (let start = whole.indexOf('{'); start >= 0 && tries < 64; start = whole.indexOf('{', start + 1)) {
    tries++;
    const end = balancedEnd(whole, start);
    if (end < 0) continue;
    const v = tryParse(whole.slice(start, end + 1));
    if (v !== undefined) return v;
  }
  if (firstError) throw new Error(`the JSON object does not parse: ${firstError}`);
  throw new Error('no JSON object found in the answer; reply with one JSON object');
}

/** Index of the `}` closing the `{` at `start` (strings and escapes respected), or -1. */
function balancedEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  return -1;
}
