// Budgets of a task — soft and hard limits per task and per agent role on tokens, USD, wall time and model
// calls — and the blackboard entries that enforce them: `budget.<task>` (spending, reservations, the limits
// as a human raised them at the `budget` gate) and `breaker.<endpoint>` (a circuit breaker per model endpoint).
import { z } from 'zod';
import { safeString } from './text.ts';

/** One set of limits; an absent field is no limit. */
export const BudgetLimits = z
  .object({
    /** Prompt + completion tokens. */
    tokens: z.number().int().min(1).max(1_000_000_000).optional(),
    usd: z.number().positive().max(100_000).optional(),
    /** Seconds since the task was created (time waiting at a human gate counts too). */
    wallSeconds: z
      .number()
      .int()
      .min(1)
      .max(30 * 86_400)
      .optional(),
    modelCalls: z.number().int().min(1).max(1_000_000).optional(),
  })
  .strict();
export type BudgetLimits = z.infer<typeof BudgetLimits>;
export const BudgetDimensions = ['tokens', 'usd', 'wallSeconds', 'modelCalls'] as const;
export type BudgetDimension = (typeof BudgetDimensions)[number];

/** The agent roles that call models and may carry their own limits. */
export const BudgetRole = z.enum(['planner', 'coder', 'reviewer']);
export type BudgetRole = z.infer<typeof BudgetRole>;

export const RoleBudget = z.object({ soft: BudgetLimits.optional(), hard: BudgetLimits.optional() }).strict();
export type RoleBudget = z.infer<typeof RoleBudget>;
export const RoleBudgets = z.partialRecord(BudgetRole, RoleBudget);
export type RoleBudgets = z.infer<typeof RoleBudgets>;

/** Spending so far (or reserved): tokens, USD and model calls. */
export const Spend = z.object({
  tokens: z.number().min(0),
  usd: z.number().min(0),
  calls: z.number().int().min(0),
});
export type Spend = z.infer<typeof Spend>;
export const ZERO_SPEND: Spend = { tokens: 0, usd: 0, calls: 0 };

/** A model call's spending held before it is made; settled with the real usage after, or released. */
export const Reservation = Spend.extend({
  id: z.string(),
  role: z.string(),
  /** `<stepId>#<round>`: a later round of the same step means this holder is gone (its lease lapsed). */
  holder: z.string().optional(),
  /** Epoch ms after which an unsettled reservation (its holder died) no longer counts. */
  until: z.number(),
});
export type Reservation = z.infer<typeof Reservation>;

/**
 * `budget.<taskId>`: last-writer-wins under compare-and-set. Agents reserve and settle model calls on it; the
 * gateway raises the soft limits (or stops the task) at the `budget` gate. Created on the task's first call.
 */
export const BudgetState = z.object({
  taskId: z.string(),
  /** +1 at every raise: a pause names the version it waits on, so a raise that came first is not missed. */
  version: z.number().int().min(0),
  soft: BudgetLimits,
  hard: BudgetLimits,
  roles: RoleBudgets,
  /** Epoch ms the wall time counts from (the task's creation). */
  startedAt: z.number(),
  spent: Spend,
  byRole: z.record(z.string(), Spend),
  reservations: z.array(Reservation),
  /** Set when a call found a soft limit in its way; cleared by a raise. */
  paused: z
    .object({
      version: z.number().int(),
      reason: z.string(),
      role: z.string(),
      at: z.string(),
    })
    .optional(),
  stopped: z.object({ by: z.string(), comment: z.string(), at: z.string() }).optional(),
  raises: z.array(
    z.object({
      by: z.string(),
      at: z.string(),
      comment: z.string(),
      soft: BudgetLimits,
      roles: z.partialRecord(BudgetRole, BudgetLimits).optional(),
    }),
  ),
});
export type BudgetState = z.infer<typeof BudgetState>;

/** `POST /v1/tasks/{id}/budget`: at the `budget` gate, raise soft limits (never above the hard ones) or stop. */
export const BudgetDecisionRequest = z.discriminatedUnion('action', [
  z
    .object({
      action: z.literal('raise'),
      /** The task's new soft limits, field by field over the current ones. */
      soft: BudgetLimits.optional(),
      /** New soft limits of single roles. */
      roles: z.partialRecord(BudgetRole, BudgetLimits).optional(),
      comment: safeString().max(2000).default(''),
    })
    .strict(),
  z.object({ action: z.literal('stop'), comment: safeString().max(2000).default('') }).strict(),
]);
export type BudgetDecisionRequest = z.infer<typeof BudgetDecisionRequest>;

export const BreakerStatus = z.enum(['closed', 'open', 'half_open']);
export type BreakerStatus = z.infer<typeof BreakerStatus>;

/**
 * `breaker.<hash of endpoint>`: last-writer-wins under compare-and-set, shared by every agent calling that
 * endpoint. closed → open after `failures` consecutive failures → half_open (one caller probes) after the
 * cool-down → closed on the probe's success, open again on its failure.
 */
export const BreakerState = z.object({
  /** The endpoint's base URL without credentials or query. */
  endpoint: z.string(),
  state: BreakerStatus,
  /** Consecutive failures. */
  failures: z.number().int().min(0),
  openedAt: z.number().optional(),
  /** Who probes in `half_open`, and until when (a probe whose holder died is taken over). */
  probeBy: z.string().optional(),
  probeUntil: z.number().optional(),
  /** How many times it opened (for operators and tests). */
  opens: z.number().int().min(0),
  updatedAt: z.number(),
});
export type BreakerState = z.infer<typeof BreakerState>;
