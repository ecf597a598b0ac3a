// Readable times for the console: "in 25 s", "3 min ago", a clock time for today and a date before that.
// Pure (the caller passes `now`), so a ticking signal can re-render them and tests need no fake clock.

const units: ReadonlyArray<[limitS: number, perS: number, name: string]> = [
  [90, 1, 's'],
  [90 * 60, 60, 'min'],
  [36 * 3600, 3600, 'h'],
  [Number.POSITIVE_INFINITY, 86_400, 'd'],
];

/** A span of milliseconds in one unit: `42 s`, `3 min`, `5 h`, `2 d` (rounded down; under a second: `0 s`). */
export function span(ms: number): string {
  const s = Math.max(0, Math.floor(Math.abs(ms) / 1000));
  for (const [limit, per, name] of units) if (s < limit) return `${Math.floor(s / per)} ${name}`;
  return `${s} s`;
}

/** How far `at` is from `now`: `in 25 s`, `3 min ago`, `now` (within a second). */
export function relative(at: number, now: number): string {
  const d = at - now;
  if (Math.abs(d) < 1000) return 'now';
  return d > 0 ? `in ${span(d)}` : `${span(d)} ago`;
}

/** A lease's time left: `12 s left`, or `expired 3 s ago` once past. */
export function timeLeft(until: number, now: number): string {
  return until > now ? `${span(until - now)} left` : `expired ${span(now - until)} ago`;
}

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * An instant as people read it: `14:03:07` when it is the same local day as `now`, else `2026-12-01 14:03`.
 * Accepts epoch ms or an ISO string; an unreadable value comes back as it was.
 */
export function clock(at: number | string, now: number): string {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return String(at);
  const n = new Date(now);
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (d.getFullYear() === n.getFullYear() && d.getMonth() === n.getMonth() && d.getDate() === n.getDate())
    return `${time}:${pad(d.getSeconds())}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

/** Epoch ms of an ISO string or a number; undefined for anything else. */
export function instant(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}
