// Per-org daily quotas on model spending (tokens/day, USD/day), set with the model settings, and the
// blackboard entry that counts one org's spending of one UTC day across every actor and process.
import { z } from 'zod';
import { Spend } from './budget.ts';

/** An org's daily limits; an absent field is no limit. Days are UTC days. */
export const OrgQuota = z
  .object({
    /** Prompt + completion tokens of every model call of the org's tasks in one UTC day. */
    tokensPerDay: z.number().int().min(1).max(1_000_000_000_000).optional(),
    usdPerDay: z.number().positive().max(10_000_000).optional(),
  })
  .strict();
export type OrgQuota = z.infer<typeof OrgQuota>;
export const QuotaDimensions = ['tokensPerDay', 'usdPerDay'] as const;
export type QuotaDimension = (typeof QuotaDimensions)[number];

/** A model call's spending held on the org's day before it is made; settled with the real usage after. */
export const QuotaReservation = Spend.extend({
  id: z.string(),
  /** The UTC day (`YYYY-MM-DD`) it was taken on: it is settled on that day, even after midnight. */
  day: z.string(),
  /** Who holds it (`<task>:<role>`), for operators. */
  holder: z.string(),
  /** Epoch ms after which an unsettled reservation (its holder died) no longer counts. */
  until: z.number(),
});
export type QuotaReservation = z.infer<typeof QuotaReservation>;

/**
 * `quota.<org>.<YYYY-MM-DD>`: last-writer-wins under compare-and-set. Every model call of an org with a quota
 * reserves on it before it is made and settles after; a new UTC day is a new key, so the count starts at 0.
 */
export const QuotaDay = z.object({
  org: z.string(),
  day: z.string(),
  spent: Spend,
  reservations: z.array(QuotaReservation),
});
export type QuotaDay = z.infer<typeof QuotaDay>;

/** The UTC day of an instant, as `YYYY-MM-DD`. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Epoch ms of the next UTC midnight after `ms`: when the day's quota resets. */
export function nextUtcMidnight(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
}
