// Slack request signing (v0): `X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret, "v0:{ts}:{raw body}")>`,
// `X-Slack-Request-Timestamp: {ts}` (seconds). Compared in constant time; a timestamp more than five minutes
// from now is refused (a replayed request).
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SLACK_MAX_SKEW_S = 5 * 60;

export const slackSignature = (secret: string, timestamp: string, body: string) =>
  `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;

export type SlackVerdict = { ok: true } | { ok: false; reason: string };

export function verifySlackRequest(
  secret: string,
  headers: { signature?: string | null; timestamp?: string | null },
  body: string,
  nowMs: number = Date.now(),
): SlackVerdict {
  const ts = headers.timestamp ?? '';
  const sig = headers.signature ?? '';
  if (!/^\d{1,12}$/.test(ts)) return { ok: false, reason: 'missing or malformed X-Slack-Request-Timestamp' };
  if (Math.abs(nowMs / 1000 - Number(ts)) > SLACK_MAX_SKEW_S)
    return { ok: false, reason: 'the request timestamp is more than five minutes from now' };
  if (!/^v0=[0-9a-f]{64}$/.test(sig)) return { ok: false, reason: 'missing or malformed X-Slack-Signature' };
  const want = Buffer.from(slackSignature(secret, ts, body));
  const got = Buffer.from(sig);
  if (want.length !== got.length || !timingSafeEqual(want, got))
    return { ok: false, reason: 'the signature does not match' };
  return { ok: true };
}
