// The admin settings' form rules, kept pure: the org's daily quota as typed, today's use in words, and a
// personal access token's state.
import { span } from './time.ts';

export interface OrgQuota {
  tokensPerDay?: number;
  usdPerDay?: number;
}
export interface QuotaUsage {
  day: string;
  tokens: number;
  usd: number;
  calls: number;
  resetsAt: string;
}

/**
 * The quota a form's two fields ask for: `null` (no limits: remove the quota) when both are empty, or the
 * problem with what was typed. Tokens are whole and at least 1; dollars positive.
 */
export function quotaFromForm(tokens: string, usd: string): { quota: OrgQuota | null } | { problem: string } {
  const t = tokens.trim();
  const u = usd.trim();
  const quota: OrgQuota = {};
  if (t) {
    const n = Number(t);
    if (!Number.isInteger(n) || n < 1)
      return { problem: 'Tokens per day must be a whole number of at least 1.' };
    quota.tokensPerDay = n;
  }
  if (u) {
    const n = Number(u);
    if (!Number.isFinite(n) || n <= 0) return { problem: 'USD per day must be a positive amount.' };
    quota.usdPerDay = n;
  }
  return { quota: t || u ? quota : null };
}

/** Today's use against the quota: `1,234 of 10,000 tokens (12%) · $0.50 of $2.00 · 7 calls; resets in 3 h`. */
export function quotaUse(quota: OrgQuota | undefined, use: QuotaUsage | undefined, now: number): string {
  if (!quota || !use) return 'No daily quota: model spending of this org is not limited per day.';
  const parts: string[] = [];
  const pct = (a: number, b: number) => ` (${Math.min(999, Math.round((a / b) * 100))}%)`;
  parts.push(
    quota.tokensPerDay
      ? `${use.tokens.toLocaleString('en-US')} of ${quota.tokensPerDay.toLocaleString('en-US')} tokens${pct(use.tokens, quota.tokensPerDay)}`
      : `${use.tokens.toLocaleString('en-US')} tokens`,
  );
  parts.push(
    quota.usdPerDay
      ? `$${use.usd.toFixed(2)} of $${quota.usdPerDay.toFixed(2)}${pct(use.usd, quota.usdPerDay)}`
      : `$${use.usd.toFixed(2)}`,
  );
  parts.push(`${use.calls} call${use.calls === 1 ? '' : 's'}`);
  const resets = Date.parse(use.resetsAt);
  const when = Number.isNaN(resets) ? '' : `; resets in ${span(resets - now)} (00:00 UTC)`;
  return `Today (${use.day}, UTC): ${parts.join(' · ')}${when}`;
}

/** The scopes a token may carry: schemas/api.ts `Scope`, kept equal by `settings.test.ts`. */
export const SCOPES = [
  'tasks:read',
  'tasks:write',
  'patches:approve',
  'repos:index',
  'metrics:read',
  'traces:read',
  'config:write',
] as const;

export interface TokenRow {
  id: string;
  name: string;
  scopes: string[];
  expiresAt: string;
  revokedAt: string | null;
  createdAt: string;
}

/** A token's state: revoked (and when), expired, or active with its time left. */
export function tokenState(
  t: Pick<TokenRow, 'expiresAt' | 'revokedAt'>,
  now: number,
): { active: boolean; text: string } {
  if (t.revokedAt) return { active: false, text: `revoked ${t.revokedAt.slice(0, 10)}` };
  const exp = Date.parse(t.expiresAt);
  if (Number.isNaN(exp) || exp <= now) return { active: false, text: `expired ${t.expiresAt.slice(0, 10)}` };
  return { active: true, text: `active, expires in ${span(exp - now)}` };
}
