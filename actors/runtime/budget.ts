// Task budgets at model-call time: a call's spending is reserved on `budget.<task>` (compare-and-set) before it
// is made, so k calls in parallel cannot overshoot a limit together, and settled with the real usage after.
// A soft limit in the way pauses the call (the task waits at the `budget` gate) until a human raises it; a
// hard limit stops the task.
import type { Blackboard } from '../../blackboard/index.ts';
import {
  type BudgetLimits,
  BudgetState,
  type CostLedger,
  keys,
  newId,
  type Reservation,
  type Spend,
  type TaskRecord,
  ZERO_SPEND,
} from '../../schemas/index.ts';
import type { ChatMessage, ToolSpec } from '../llm/index.ts';
import { type ModelGuardOptions, sleep } from './guard-options.ts';
import type { StepInput } from './types.ts';

/** A hard limit would be passed: the task stops. */
export class BudgetExceededError extends Error {
  override readonly name = 'BudgetExceededError';
  readonly code = 'BUDGET_EXCEEDED';
}

/** A human stopped the task at the `budget` gate while a call waited there. */
export class BudgetStoppedError extends Error {
  override readonly name = 'BudgetStoppedError';
  readonly code = 'BUDGET_STOPPED';
}

/** The task's hard limits: `hard` over the older `maxCostUsd` / `maxTokens`. */
export function hardLimits(b: TaskRecord['request']['budget']): BudgetLimits {
  return { tokens: b.maxTokens, usd: b.maxCostUsd, ...b.hard };
}

export function initialBudget(task: TaskRecord): BudgetState {
  const b = task.request.budget;
  return {
    taskId: task.id,
    version: 0,
    soft: { ...b.soft },
    hard: hardLimits(b),
    roles: { ...b.roles },
    startedAt: Date.parse(task.createdAt),
    spent: { ...ZERO_SPEND },
    byRole: {},
    reservations: [],
    raises: [],
  };
}

/**
 * What a call may spend, before it is made: its prompt (4 characters a token) plus `reserveTokens` of answer,
 * priced with the endpoint's prices, and one call.
 */
export function estimateCall(
  req: { messages: ChatMessage[]; tools?: ToolSpec[] },
  prices: { priceInPer1k: number; priceOutPer1k: number },
  reserveTokens: number,
): Spend {
  const chars = JSON.stringify(req.messages).length + (req.tools ? JSON.stringify(req.tools).length : 0);
  const prompt = Math.ceil(chars / 4);
  return {
    tokens: prompt + reserveTokens,
    usd: (prompt / 1000) * prices.priceInPer1k + (reserveTokens / 1000) * prices.priceOutPer1k,
    calls: 1,
  };
}

const add = (a: Spend, b: Spend): Spend => ({
  tokens: a.tokens + b.tokens,
  usd: a.usd + b.usd,
  calls: a.calls + b.calls,
});

/** Spent plus still-valid reservations, for the whole task or one role. */
export function committed(s: BudgetState, now: number, role?: string): Spend {
  let out = role ? (s.byRole[role] ?? ZERO_SPEND) : s.spent;
  for (const r of s.reservations) if (r.until > now && (!role || r.role === role)) out = add(out, r);
  return out;
}

export type BudgetVerdict = { ok: true } | { ok: false; level: 'soft' | 'hard'; reason: string };

/** Whether a call of `role` estimated at `est` fits every limit; hard limits first. Pure. */
export function checkBudget(s: BudgetState, role: string, est: Spend, now: number): BudgetVerdict {
  const roleLimits = s.roles[role as keyof BudgetState['roles']];
  for (const level of ['hard', 'soft'] as const) {
    const scopes: Array<{ label: string; limits?: BudgetLimits; used: Spend }> = [
      { label: "the task's", limits: s[level], used: committed(s, now) },
      { label: `the ${role}'s`, limits: roleLimits?.[level], used: committed(s, now, role) },
    ];
    for (const { label, limits, used } of scopes) {
      if (!limits) continue;
      const hit = passes(limits, used, est, (now - s.startedAt) / 1000, role);
      if (hit)
        return {
          ok: false,
          level,
          reason: `${level} budget: ${hit.what} would pass ${label} limit of ${hit.limit}`,
        };
    }
  }
  return { ok: true };
}

function passes(
  l: BudgetLimits,
  used: Spend,
  est: Spend,
  elapsedS: number,
  role: string,
): { what: string; limit: string } | undefined {
  if (l.modelCalls !== undefined && used.calls + est.calls > l.modelCalls)
    return { what: `${used.calls} model calls + this ${role} call`, limit: `${l.modelCalls} calls` };
  if (l.tokens !== undefined && used.tokens + est.tokens > l.tokens)
    return {
      what: `${Math.round(used.tokens)} tokens + ~${Math.round(est.tokens)} for this ${role} call`,
      limit: `${l.tokens} tokens`,
    };
  if (l.usd !== undefined && used.usd + est.usd > l.usd)
    return {
      what: `$${used.usd.toFixed(4)} + ~$${est.usd.toFixed(4)} for this ${role} call`,
      limit: `$${l.usd}`,
    };
  if (l.wallSeconds !== undefined && elapsedS > l.wallSeconds)
    return { what: `${Math.round(elapsedS)} s of wall time`, limit: `${l.wallSeconds} s` };
  return undefined;
}

/**
 * Reserves a call's spending; waits while a soft limit is in the way (the task is at the `budget` gate) and
 * throws `BudgetExceededError` at a hard one, `BudgetStoppedError` when a human stops the task there.
 *
 * @example
 * const r = await reserveBudget(step, 'coder', estimateCall(req, prices, 512), guard, signal);
 * try { result = await client.chat(req) } finally { await settleBudget(step.mesh.board, step.task.id, r, spend) }
 */
export async function reserveBudget(
  step: StepInput,
  role: string,
  est: Spend,
  guard: ModelGuardOptions,
  signal?: AbortSignal,
): Promise<Reservation> {
  const { board } = step.mesh;
  const key = keys.budget(step.task.id);
  for (;;) {
    const now = step.deps.now();
    let verdict: BudgetVerdict = { ok: true };
    let reservation: Reservation | undefined;
    const entry = await board.mutate(key, BudgetState, (cur) => {
      const s = cur ?? initialBudget(step.task);
      // A step is announced again only after its holder's lease lapsed: reservations of its earlier rounds
      // (an agent killed mid-call) are dead, like lapsed ones.
      const live = { ...s, reservations: s.reservations.filter((r) => r.until > now && !deadRound(r, step)) };
      verdict = checkBudget(live, role, est, now);
      reservation = undefined;
      if (!verdict.ok) {
        if (verdict.level === 'hard' || live.paused?.version === live.version) return cur ? undefined : live;
        return {
          ...live,
          paused: { version: live.version, reason: verdict.reason, role, at: new Date(now).toISOString() },
        };
      }
      reservation = {
        id: newId('rsv'),
        role,
        holder: `${step.stepId}#${step.round}`,
        ...est,
        until: now + guard.reservationTtlMs,
      };
      return { ...live, reservations: [...live.reservations, reservation] };
    });
    const v = verdict as BudgetVerdict;
    if (v.ok && reservation) return reservation;
    if (!entry || v.ok) throw new Error(`budget.${step.task.id}: no entry after a reservation`);
    if (entry.value.stopped) throw stoppedError(entry.value);
    if (v.level === 'hard') {
      await step.deps.emit({
        id: `${step.task.id}:budget-exceeded`,
        taskId: step.task.id,
        type: 'budget.exceeded',
        step: { kind: step.kind, attempt: step.attempt, round: step.round },
        data: { reason: v.reason, role },
      });
      throw new BudgetExceededError(v.reason);
    }
    const version = entry.value.version;
    await step.deps.emit({
      id: `${step.task.id}:budget-paused:${version}`,
      taskId: step.task.id,
      type: 'budget.paused',
      step: { kind: step.kind, attempt: step.attempt, round: step.round },
      data: { version, reason: v.reason, role },
    });
    await waitForDecision(board, step.task.id, version, guard, signal);
  }
}

function deadRound(r: Reservation, step: StepInput): boolean {
  if (!r.holder) return false;
  const i = r.holder.lastIndexOf('#');
  return r.holder.slice(0, i) === step.stepId && Number(r.holder.slice(i + 1)) < step.round;
}

function stoppedError(s: BudgetState): BudgetStoppedError {
  const c = s.stopped?.comment;
  return new BudgetStoppedError(`stopped at the budget gate by ${s.stopped?.by}${c ? `: ${c}` : ''}`);
}

/** Until the limits are raised past `version` or the task is stopped; the hard wall time ends it too. */
async function waitForDecision(
  board: Blackboard,
  taskId: string,
  version: number,
  guard: ModelGuardOptions,
  signal?: AbortSignal,
): Promise<void> {
  for (;;) {
    const s = (await board.get(keys.budget(taskId), BudgetState))?.value;
    if (!s || s.version !== version || s.stopped) return;
    const hardWall = s.hard.wallSeconds;
    if (hardWall !== undefined && (Date.now() - s.startedAt) / 1000 > hardWall) return;
    await sleep(guard.pollMs, signal);
  }
}

/**
 * Replaces a reservation by the call's real spending (`undefined`: the call failed and spent nothing). Tried
 * a few times over a short NATS outage: spending that was made must not be lost, nor a reservation linger.
 */
export async function settleBudget(
  board: Blackboard,
  taskId: string,
  reservation: Reservation,
  actual: Spend | undefined,
): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      return await settleOnce(board, taskId, reservation, actual, i > 0);
    } catch (err) {
      if (i >= 5) throw err;
      await sleep(250 * 2 ** i);
    }
  }
}

async function settleOnce(
  board: Blackboard,
  taskId: string,
  reservation: Reservation,
  actual: Spend | undefined,
  retry: boolean,
): Promise<void> {
  await board.mutate(keys.budget(taskId), BudgetState, (cur) => {
    if (!cur) return undefined;
    const reservations = cur.reservations.filter((r) => r.id !== reservation.id);
    // A retry whose first write landed (only its answer was lost) finds its reservation gone: done.
    if (retry && reservations.length === cur.reservations.length) return undefined;
    if (!actual)
      return reservations.length === cur.reservations.length ? undefined : { ...cur, reservations };
    return {
      ...cur,
      reservations,
      spent: add(cur.spent, actual),
      byRole: { ...cur.byRole, [reservation.role]: add(cur.byRole[reservation.role] ?? ZERO_SPEND, actual) },
    };
  });
}

/** Why the task is past a hard limit on what it really spent, if it is. */
export function hardBudgetReason(
  task: TaskRecord,
  ledger: CostLedger | undefined,
  budget: BudgetState | undefined,
  now: number,
): string | undefined {
  const hard = budget?.hard ?? hardLimits(task.request.budget);
  const usd = Math.max(ledger?.totals.costUsd ?? 0, budget?.spent.usd ?? 0);
  const tokens = Math.max(
    (ledger?.totals.promptTokens ?? 0) + (ledger?.totals.completionTokens ?? 0),
    budget?.spent.tokens ?? 0,
  );
  const calls = Math.max(ledger?.totals.calls ?? 0, budget?.spent.calls ?? 0);
  const wallS = (now - Date.parse(task.createdAt)) / 1000;
  if (hard.usd !== undefined && usd > hard.usd) return `budget: spent $${usd.toFixed(4)} of $${hard.usd}`;
  if (hard.tokens !== undefined && tokens > hard.tokens)
    return `budget: used ${tokens} tokens of ${hard.tokens}`;
  if (hard.modelCalls !== undefined && calls > hard.modelCalls)
    return `budget: made ${calls} model calls of ${hard.modelCalls}`;
  if (hard.wallSeconds !== undefined && wallS > hard.wallSeconds)
    return `budget: ran ${Math.round(wallS)} s of ${hard.wallSeconds} s wall time`;
  return undefined;
}
