// Per-org daily quotas at model-call time: with a quota set (`POST /v1/config/models` `quota`), every model
// call of the org's tasks reserves its estimated spending on `quota.<org>.<UTC day>` by compare-and-set before
// it is made, and settles the real usage after; so every actor and process of the org shares one count and
// parallel calls cannot overshoot together. A call that would pass the quota is refused at once with
// `QuotaExceededError` (no waiting: the next reset may be hours away); its task fails with the reason.
import type { Blackboard } from '../../blackboard/index.ts';
import {
  keys,
  newId,
  nextUtcMidnight,
  type OrgQuota,
  OrgModelSettings,
  QuotaDay,
  type QuotaDimension,
  type QuotaReservation,
  type Spend,
  utcDay,
  ZERO_SPEND,
} from '../../schemas/index.ts';
import { sleep } from './guard-options.ts';

/** A model call would pass its org's daily quota: refused before it is made. */
export class QuotaExceededError extends Error {
  override readonly name = 'QuotaExceededError';
  readonly code = 'QUOTA_EXCEEDED';
  constructor(readonly detail: QuotaBreach) {
    super(quotaMessage(detail));
  }
}

export interface QuotaBreach {
  org: string;
  quota: QuotaDimension;
  limit: number;
  /** Spent and reserved so far this UTC day. */
  used: number;
  /** What the refused call would have added (0 when only asking whether the org is over). */
  asked: number;
  day: string;
  /** ISO time of the next UTC midnight. */
  resetsAt: string;
}

function quotaMessage(b: QuotaBreach): string {
  const fmt = (n: number) => (b.quota === 'usdPerDay' ? `$${n.toFixed(4)}` : `${Math.round(n)} tokens`);
  const limit = b.quota === 'usdPerDay' ? `$${b.limit}` : `${b.limit} tokens`;
  const what = b.asked > 0 ? `${fmt(b.used)} used + ~${fmt(b.asked)} for this call` : `${fmt(b.used)} used`;
  return `quota: org ${b.org}'s ${b.quota} quota of ${limit} for ${b.day} (UTC) would be passed (${what}); it resets at ${b.resetsAt}`;
}

/** Settled spending plus still-valid reservations of one day. */
export function usedToday(d: QuotaDay, now: number): Spend {
  let out = d.spent;
  for (const r of d.reservations)
    if (r.until > now)
      out = { tokens: out.tokens + r.tokens, usd: out.usd + r.usd, calls: out.calls + r.calls };
  return out;
}

/**
 * Whether spending `est` more on top of `day` stays within `quota`. With `est` zero it says whether the org
 * is already at or over its quota (what the gateway asks before starting a task). Pure.
 */
export function checkQuota(
  org: string,
  quota: OrgQuota,
  day: QuotaDay | undefined,
  est: Spend,
  now: number,
): QuotaBreach | undefined {
  const used = day ? usedToday(day, now) : ZERO_SPEND;
  const breach = (q: QuotaDimension, limit: number, u: number, asked: number): QuotaBreach => ({
    org,
    quota: q,
    limit,
    used: u,
    asked,
    day: utcDay(now),
    resetsAt: new Date(nextUtcMidnight(now)).toISOString(),
  });
  const over = (limit: number, u: number, asked: number) => (asked > 0 ? u + asked > limit : u >= limit);
  if (quota.tokensPerDay !== undefined && over(quota.tokensPerDay, used.tokens, est.tokens))
    return breach('tokensPerDay', quota.tokensPerDay, used.tokens, est.tokens);
  if (quota.usdPerDay !== undefined && over(quota.usdPerDay, used.usd, est.usd))
    return breach('usdPerDay', quota.usdPerDay, used.usd, est.usd);
  return undefined;
}

/** The org's quota as the actors see it (`models.<org>`); undefined: none. */
export async function orgQuota(board: Blackboard, org: string): Promise<OrgQuota | undefined> {
  const q = (await board.get(keys.models(org), OrgModelSettings))?.value.quota;
  return q && (q.tokensPerDay !== undefined || q.usdPerDay !== undefined) ? q : undefined;
}

/** Whether the org is at or over its quota today, without reserving (the gateway's check before a task). */
export async function quotaBreach(
  board: Blackboard,
  org: string,
  now: number,
): Promise<QuotaBreach | undefined> {
  const quota = await orgQuota(board, org);
  if (!quota) return undefined;
  const day = (await board.get(keys.quota(org, utcDay(now)), QuotaDay))?.value;
  return checkQuota(org, quota, day, ZERO_SPEND, now);
}

export interface QuotaReserveOptions {
  now: number;
  /** An unsettled reservation stops counting after this long. */
  ttlMs: number;
  holder: string;
}

/**
 * Reserves a call's estimated spending on the org's day; undefined when the org has no quota (nothing is
 * counted then). Throws `QuotaExceededError` when the call would pass the quota.
 *
 * @example
 * const q = await reserveQuota(board, org, est, { now: Date.now(), ttlMs: 600_000, holder: `${taskId}:coder` });
 * try { res = await client.chat(req) } finally { if (q) await settleQuota(board, org, q, spent) }
 */
export async function reserveQuota(
  board: Blackboard,
  org: string,
  est: Spend,
  opts: QuotaReserveOptions,
): Promise<QuotaReservation | undefined> {
  const quota = await orgQuota(board, org);
  if (!quota) return undefined;
  const { now } = opts;
  const day = utcDay(now);
  let breach: QuotaBreach | undefined;
  let reservation: QuotaReservation | undefined;
  await board.mutate(keys.quota(org, day), QuotaDay, (cur) => {
    const d = cur ?? { org, day, spent: { ...ZERO_SPEND }, reservations: [] };
    const live = { ...d, reservations: d.reservations.filter((r) => r.until > now) };
    breach = checkQuota(org, quota, live, est, now);
    reservation = undefined;
    if (breach) return undefined;
    reservation = { id: newId('qr'), day, holder: opts.holder, ...est, until: now + opts.ttlMs };
    return { ...live, reservations: [...live.reservations, reservation] };
  });
  if (breach) throw new QuotaExceededError(breach);
  return reservation;
}

/**
 * Replaces a reservation by the call's real spending (`undefined`: the call failed and spent nothing). Tried a
 * few times over a short NATS outage, like the task budget's settlement: spending that was made is not lost.
 */
export async function settleQuota(
  board: Blackboard,
  org: string,
  reservation: QuotaReservation,
  actual: Spend | undefined,
): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      return await settleOnce(board, org, reservation, actual, i > 0);
    } catch (err) {
      if (i >= 5) throw err;
      await sleep(250 * 2 ** i);
    }
  }
}

async function settleOnce(
  board: Blackboard,
  org: string,
  reservation: QuotaReservation,
  actual: Spend | undefined,
  retry: boolean,
): Promise<void> {
  await board.mutate(keys.quota(org, reservation.day), QuotaDay, (cur) => {
    const d = cur ?? { org, day: reservation.day, spent: { ...ZERO_SPEND }, reservations: [] };
    const reservations = d.reservations.filter((r) => r.id !== reservation.id);
    const found = reservations.length !== d.reservations.length;
    // A retry whose first write landed (only its answer was lost) finds its reservation gone: done. A first
    // try that finds none (it lapsed during a very long call) still counts what was spent.
    if (retry && !found) return undefined;
    if (!actual) return found ? { ...d, reservations } : undefined;
    return {
      ...d,
      reservations,
      spent: {
        tokens: d.spent.tokens + actual.tokens,
        usd: d.spent.usd + actual.usd,
        calls: d.spent.calls + actual.calls,
      },
    };
  });
}
