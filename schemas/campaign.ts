// Multi-repo campaigns (FR-015): one change across many registered repositories, upstream repositories first,
// under throttles (Renovate's prConcurrentLimit / prHourlyLimit, a rollout window). The request, the state on
// the blackboard (`campaign.<id>`, compare-and-set) and the events the driver appends to it.
import { z } from 'zod';
import { newId } from './ids.ts';
import type { TaskEventInput } from './events.ts';
import { RepoConfig } from './repo-config.ts';
import { ApproveMode, TaskRequest } from './task.ts';
import { safeString } from './text.ts';

export const CampaignId = z
  .string()
  .regex(/^cp-[a-z0-9]{6,30}$/, 'a campaign id looks like cp-<lowercase letters and digits>');
export type CampaignId = z.infer<typeof CampaignId>;
export const newCampaignId = (now?: number) => newId('cp', now);

/**
 * The deterministic task id of a campaign's repository: the same on every driver and after any restart, so a
 * re-published task is the same task (its board entry is write-once, its `task.created` de-duplicated).
 */
export function campaignTaskId(campaignId: string, index: number, retry = 0): string {
  // A retry of a failed repository is a new task: the first one's id is taken (its entry is write-once).
  return `t-${campaignId.slice(3)}r${index}${retry > 0 ? `x${retry}` : ''}`;
}

/** The reason a task fails with when its campaign is cancelled while it runs. */
export const CAMPAIGN_CANCELLED = 'campaign cancelled';

/**
 * When new tasks may start (UTC): hours `[startHour, endHour)` on `days` (0 = Sunday; absent: every day).
 * Tasks already running go on outside the window; only starts wait.
 */
export const RolloutWindow = z
  .object({
    days: z.array(z.number().int().min(0).max(6)).min(1).max(7).optional(),
    startHour: z.number().int().min(0).max(23),
    endHour: z.number().int().min(1).max(24),
  })
  .strict()
  .refine((w) => w.endHour > w.startHour, { message: 'endHour must be after startHour', path: ['endHour'] });
export type RolloutWindow = z.infer<typeof RolloutWindow>;

export const CampaignThrottle = z
  .object({
    /** Tasks of the campaign in flight at once (started and not ended: running or at the approval gate). */
    maxConcurrent: z.number().int().min(1).max(100).default(2),
    /**
     * Proposals per rolling hour: a repository counts from the moment its pull request was opened (the GitHub
     * publisher's `pr.<taskId>`) or, without one, its task reached the approval gate or integration. A task in
     * flight that has not proposed yet holds one of the hour's places (it may open one at any moment); one
     * that ends without proposing gives its place back.
     */
    maxPrsPerHour: z.number().int().min(1).max(10_000).optional(),
    window: RolloutWindow.optional(),
  })
  .strict();
export type CampaignThrottle = z.infer<typeof CampaignThrottle>;

/** `POST /v1/campaigns` (and `codemesh campaign start`). */
export const CreateCampaignBody = z
  .object({
    title: safeString().trim().min(1).max(200),
    /** The change, as every repository's task gets it (plus the campaign's and the upstream changes' lines). */
    description: safeString().trim().min(1).max(20_000),
    /**
     * Registered repositories, by id (`r-…`) or by name, each once; or `{ query }` over the registered
     * repositories where the caller is a developer (`name:<glob>`, `lang:<node|python|go>`, `org:<id>`, terms
     * separated by spaces, all must hold; see repoQuery).
     */
    repos: z.union([
      z.array(safeString().min(1).max(300)).min(1).max(200),
      z.object({ query: safeString().trim().min(1).max(300) }).strict(),
    ]),
    /** The org whose repositories are named (needed only when a name is registered in several orgs). */
    org: safeString().min(1).max(100).optional(),
    approve: ApproveMode.default('manual'),
    /** Each task's budget (as in `POST /v1/tasks`). */
    budget: TaskRequest.shape.budget,
    /** Settings for every task of the campaign (over each repository's registered settings). */
    config: RepoConfig.optional(),
    throttle: CampaignThrottle.prefault({}),
  })
  .strict();
export type CreateCampaignBody = z.infer<typeof CreateCampaignBody>;

export const CampaignRepoState = z.enum([
  'pending',
  'running',
  'awaiting_approval',
  'pr_open',
  'merged',
  'failed',
  /** Never started (the campaign was cancelled first), or its task was stopped by the cancel. */
  'cancelled',
]);
export type CampaignRepoState = z.infer<typeof CampaignRepoState>;
export const REPO_DONE: ReadonlySet<CampaignRepoState> = new Set(['merged', 'failed', 'cancelled']);
/** Started and not ended: what `maxConcurrent` counts. */
export const REPO_IN_FLIGHT: ReadonlySet<CampaignRepoState> = new Set(['running', 'awaiting_approval']);

/** An upstream change a downstream task builds on, as its description states it. */
export const UpstreamChange = z.object({
  repoId: z.string(),
  name: z.string(),
  package: z.string(),
  taskId: z.string(),
  commit: z.string().optional(),
  branch: z.string().optional(),
  /** The upstream package's version at that commit, when its manifest has one. */
  version: z.string().optional(),
});
export type UpstreamChange = z.infer<typeof UpstreamChange>;

export const CampaignRepo = z.object({
  repoId: z.string(),
  name: z.string(),
  path: z.string(),
  /** The registered settings merged with the campaign's (what the task gets). */
  config: RepoConfig.optional(),
  state: CampaignRepoState,
  /** Package names this repository publishes (from its manifests). */
  packages: z.array(z.string()).default([]),
  /** Repository ids whose packages this one depends on: they run first. */
  upstream: z.array(z.string()).default([]),
  /** Set by the compare-and-set that moved the repository out of `pending` (again on a retry). */
  taskId: z.string().optional(),
  /** Retries of this repository so far (its task id's suffix). */
  retries: z.number().int().min(0).default(0),
  /** When its task proposed its change (pull request opened, or gate / integration reached): maxPrsPerHour. */
  proposedAt: z.string().optional(),
  /** The proposals of its earlier tries (before a retry), latest last: they count for maxPrsPerHour too. */
  earlierProposals: z.array(z.string()).max(20).default([]),
  buildsOn: z.array(UpstreamChange).default([]),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  commit: z.string().optional(),
  branch: z.string().optional(),
  pullRequest: z.string().optional(),
  reason: z.string().max(2000).optional(),
});
export type CampaignRepo = z.infer<typeof CampaignRepo>;

export const CampaignStatus = z.enum(['planning', 'running', 'paused', 'cancelled', 'completed', 'failed']);
export type CampaignStatus = z.infer<typeof CampaignStatus>;

export const CampaignEventType = z.enum([
  'campaign.created',
  'campaign.planned',
  'campaign.paused',
  'campaign.resumed',
  'campaign.cancelled',
  'campaign.completed',
  'campaign.failed',
  'campaign.waiting',
  'repo.started',
  'repo.state',
  /** A failed repository was sent back to `pending` (its next task gets a new id). */
  'repo.retried',
]);
export const CampaignEvent = z.object({
  /** 1, 2, …: the SSE event id. */
  seq: z.number().int().min(1),
  at: z.string(),
  type: CampaignEventType,
  repoId: z.string().optional(),
  taskId: z.string().optional(),
  state: CampaignRepoState.optional(),
  detail: z.string().max(2000).optional(),
});
export type CampaignEvent = z.infer<typeof CampaignEvent>;
/** Events kept on the entry (the oldest are dropped past this; `seq` keeps counting). */
export const MAX_CAMPAIGN_EVENTS = 2000;

/** `campaign.<id>`: last-writer-wins under compare-and-set (gateway: pause/resume/cancel; driver: the rest). */
export const CampaignRecord = z.object({
  id: CampaignId,
  orgId: z.string(),
  title: z.string(),
  description: z.string(),
  approve: ApproveMode,
  budget: TaskRequest.shape.budget,
  /** The campaign's own settings (each repository's entry has them merged over its registered ones). */
  config: RepoConfig.optional(),
  throttle: CampaignThrottle,
  status: CampaignStatus,
  reason: z.string().max(2000).optional(),
  /** The driver has read the manifests and set each repository's upstream (planning is done once). */
  planned: z.boolean().default(false),
  /** Why no task starts although one could (rollout window, hourly limit, org quota); cleared when one starts. */
  waiting: z.string().max(500).optional(),
  repos: z.array(CampaignRepo).min(1).max(200),
  events: z.array(CampaignEvent).max(MAX_CAMPAIGN_EVENTS).default([]),
  lastSeq: z.number().int().min(0).default(0),
  /** Events up to this seq were published on the events stream (`cm.evt.<id>`; see campaignStreamEvent). */
  streamedSeq: z.number().int().min(0).default(0),
  createdBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type CampaignRecord = z.infer<typeof CampaignRecord>;

/** Appends an event (returns a new record). */
export function withCampaignEvent(c: CampaignRecord, e: Omit<CampaignEvent, 'seq'>): CampaignRecord {
  const seq = c.lastSeq + 1;
  const events = [...c.events, { ...e, seq }].slice(-MAX_CAMPAIGN_EVENTS);
  return { ...c, events, lastSeq: seq, updatedAt: e.at };
}

/** A campaign event as it goes onto the events stream (its id de-duplicates a second publication). */
export function campaignStreamEvent(c: CampaignRecord, e: CampaignEvent): TaskEventInput {
  const repo = e.repoId ? c.repos.find((r) => r.repoId === e.repoId) : undefined;
  return {
    id: `${c.id}:${e.seq}`,
    taskId: c.id,
    type: e.type.startsWith('campaign.')
      ? (e.type as TaskEventInput['type'])
      : (`campaign.${e.type}` as TaskEventInput['type']),
    at: e.at,
    data: {
      campaignId: c.id,
      seq: e.seq,
      title: c.title,
      ...(e.repoId ? { repoId: e.repoId } : {}),
      ...(repo ? { repo: repo.name } : {}),
      ...(e.taskId ? { repoTaskId: e.taskId } : {}),
      ...(e.state ? { state: e.state } : {}),
      ...(e.detail ? { detail: e.detail } : {}),
    },
  };
}

/** The campaign event a stream event carries back (undefined: not a campaign's, or not one this reads). */
export function campaignEventFromStream(e: {
  type: string;
  at: string;
  data: Record<string, unknown>;
}): CampaignEvent | undefined {
  const bare = e.type.replace(/^campaign\./, '');
  const type = CampaignEventType.safeParse(bare.startsWith('repo.') ? bare : e.type);
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const state = CampaignRepoState.safeParse(e.data.state);
  const r = CampaignEvent.safeParse({
    seq: e.data.seq,
    at: e.at,
    type: type.success ? type.data : undefined,
    ...(str(e.data.repoId) ? { repoId: str(e.data.repoId) } : {}),
    ...(str(e.data.repoTaskId) ? { taskId: str(e.data.repoTaskId) } : {}),
    ...(state.success ? { state: state.data } : {}),
    ...(str(e.data.detail) ? { detail: str(e.data.detail) } : {}),
  });
  return r.success ? r.data : undefined;
}

/** Whether an event on the events stream is a campaign's (its `taskId` is the campaign id). */
export const isCampaignEvent = (e: { taskId: string }) => e.taskId.startsWith('cp-');

/** The burndown: how many repositories are in each state. */
export function burndown(c: CampaignRecord): Record<CampaignRepoState, number> {
  const out = Object.fromEntries(CampaignRepoState.options.map((s) => [s, 0])) as Record<
    CampaignRepoState,
    number
  >;
  for (const r of c.repos) out[r.state]++;
  return out;
}

/** `POST /v1/campaigns/{id}/pause|resume|cancel`. */
export const CampaignAction = z.enum(['pause', 'resume', 'cancel']);
export type CampaignAction = z.infer<typeof CampaignAction>;

/**
 * A campaign's repository query (`repos: { query }`), parsed: space-separated terms that must all hold —
 * `name:<glob>` (`*` any run of characters, `?` one; case-insensitive), `lang:<node|python|go>` (`js`, `ts`,
 * `npm` mean node; `py` python), `org:<id>`. A bare word is `name:*<word>*`. Repeating a kind means any of them.
 * @example parseRepoQuery('lang:python name:*-svc') // { names: [/^.*-svc$/i], langs: ['python'], orgs: [] }
 */
export interface RepoQuery {
  names: RegExp[];
  langs: string[];
  orgs: string[];
}
const LANG_ALIASES: Record<string, string> = {
  node: 'node',
  js: 'node',
  ts: 'node',
  npm: 'node',
  javascript: 'node',
  typescript: 'node',
  python: 'python',
  py: 'python',
  go: 'go',
  golang: 'go',
};
export class RepoQueryError extends Error {
  readonly code = 'INVALID_QUERY';
  constructor(message: string) {
    super(message);
    this.name = 'RepoQueryError';
  }
}
const glob = (g: string) =>
  new RegExp(
    `^${g
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );

export function parseRepoQuery(q: string): RepoQuery {
  const out: RepoQuery = { names: [], langs: [], orgs: [] };
  for (const term of q.trim().split(/\s+/).filter(Boolean)) {
    const m = /^([a-z]+):(.+)$/.exec(term);
    if (!m) {
      out.names.push(glob(`*${term}*`));
      continue;
    }
    const [, kind, value] = m as unknown as [string, string, string];
    if (kind === 'name') out.names.push(glob(value));
    else if (kind === 'org') out.orgs.push(value);
    else if (kind === 'lang') {
      const lang = LANG_ALIASES[value.toLowerCase()];
      if (!lang) throw new RepoQueryError(`lang:${value.slice(0, 40)} is not one of node, python, go`);
      out.langs.push(lang);
    } else throw new RepoQueryError(`${kind}: is not a query term (name:, lang:, org:)`);
  }
  return out;
}

/** Whether a repository matches the parsed query (`langs`: what its manifests show, see languagesOf). */
export function matchesRepoQuery(
  q: RepoQuery,
  repo: { name: string; orgId: string },
  langs: ReadonlySet<string> | undefined,
): boolean {
  if (q.names.length && !q.names.some((n) => n.test(repo.name))) return false;
  if (q.orgs.length && !q.orgs.includes(repo.orgId)) return false;
  if (q.langs.length && !q.langs.some((l) => langs?.has(l))) return false;
  return true;
}
