// What the campaign pages draw, computed apart from the DOM: the burndown bar (repositories per state) and the
// burndown line (repositories not yet ended, after each event of the campaign's feed).

/** A campaign repository's states, in the order the bar draws them (ended ones last). */
export const REPO_STATES = [
  'running',
  'awaiting_approval',
  'pr_open',
  'pending',
  'merged',
  'failed',
  'cancelled',
] as const;
export type RepoState = (typeof REPO_STATES)[number];
const ENDED: ReadonlySet<string> = new Set(['merged', 'failed', 'cancelled']);

export interface CampaignSummary {
  id: string;
  title: string;
  status: string;
  waiting: string | null;
  reason: string | null;
  orgId: string;
  burndown: Record<RepoState, number>;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}
export interface CampaignRepoView {
  repoId: string;
  name: string;
  state: RepoState;
  taskId: string | null;
  upstream: string[];
  startedAt: string | null;
  endedAt: string | null;
  branch: string | null;
  reason: string | null;
}
export interface CampaignDetail extends CampaignSummary {
  approve: string;
  throttle: { maxConcurrent: number; maxPrsPerHour?: number };
  repos: CampaignRepoView[];
  lastEvent: number;
}
export interface CampaignListItem extends CampaignSummary {
  repos: number;
}
/** An event of `GET /v1/campaigns/{id}/events`. */
export interface CampaignFeedEvent {
  seq: number;
  at: string;
  type: string;
  repoId?: string;
  taskId?: string;
  state?: string;
  detail?: string;
}

/** The bar's segments: each non-empty state with its share (percent, summing to 100). */
export function burndownSegments(
  b: Partial<Record<RepoState, number>>,
): Array<{ state: RepoState; count: number; percent: number }> {
  const total = REPO_STATES.reduce((n, s) => n + (b[s] ?? 0), 0);
  if (total === 0) return [];
  return REPO_STATES.filter((s) => (b[s] ?? 0) > 0).map((s) => ({
    state: s,
    count: b[s]!,
    percent: (100 * b[s]!) / total,
  }));
}

/** Ended repositories out of all: "3 of 5 ended". */
export const endedCount = (b: Partial<Record<RepoState, number>>) =>
  [...ENDED].reduce((n, s) => n + (b[s as RepoState] ?? 0), 0);

/**
 * Repositories not yet ended over time, from the campaign's events: `total` at creation, one less at each
 * repository's end (`repo.state` to merged, failed or cancelled), one more at each retry (`repo.retried`).
 */
export function burndownSeries(
  total: number,
  events: CampaignFeedEvent[],
  /** Repository ids by name (a retry's detail names the repositories reopened with it). */
  idsByName: ReadonlyMap<string, string> = new Map(),
): Array<{ at: number; open: number }> {
  const out: Array<{ at: number; open: number }> = [];
  const ended = new Set<string>();
  let open = total;
  for (const e of [...events].sort((a, b) => a.seq - b.seq)) {
    const at = Date.parse(e.at);
    if (Number.isNaN(at)) continue;
    if (e.type === 'campaign.created') out.push({ at, open });
    if (!e.repoId) continue;
    if (e.type === 'repo.state' && e.state && ENDED.has(e.state) && !ended.has(e.repoId)) {
      ended.add(e.repoId);
      open--;
      out.push({ at, open });
    } else if (e.type === 'repo.retried') {
      // The retried repository and the ones behind it that never started reopen; the detail names the latter.
      const behind = /with (.+) \(not started behind it\)/.exec(e.detail ?? '')?.[1]?.split(', ') ?? [];
      for (const id of [e.repoId, ...behind.map((n) => idsByName.get(n) ?? n)]) if (ended.delete(id)) open++;
      out.push({ at, open });
    }
  }
  return out;
}

/** The line's points in a `width` × `height` box (time left to right, open repositories bottom to top). */
export function burndownPoints(
  series: Array<{ at: number; open: number }>,
  total: number,
  width: number,
  height: number,
): string {
  if (series.length === 0 || total === 0) return '';
  const t0 = series[0]!.at;
  const span = Math.max(1, series.at(-1)!.at - t0);
  return series
    .map((p) => {
      const x = series.length === 1 ? 0 : ((p.at - t0) / span) * width;
      const y = height - (Math.min(p.open, total) / total) * height;
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
}
