// The campaign driver: an actor on the mesh that plays every campaign on the blackboard forward. It keeps no
// state of its own — each pass reads `campaign.<id>`, looks at the tasks it started, and writes what changed
// by compare-and-set — so any number of drivers may run, and a driver killed at any point is replaced by the
// next pass of another (or of itself after a restart).
//
// Exactly-once per repository: a repository leaves `pending` only through the compare-and-set that records its
// task id (deterministic: campaignTaskId), and the task is published after that write. A driver that dies
// between the two leaves a repository `running` with no task entry; the next pass publishes it then (same id:
// the task entry is write-once and `task.created` is de-duplicated by its message id).
import type { MeshConnection } from '../../blackboard/index.ts';
import {
  CAMPAIGN_CANCELLED,
  type CampaignRecord,
  type CampaignRepo,
  type CampaignRepoState,
  CampaignRecord as CampaignRecordSchema,
  campaignTaskId,
  keys,
  PullRequestRecord,
  REPO_DONE,
  REPO_IN_FLIGHT,
  type RolloutWindow,
  Streams,
  subjects,
  TaskRecord,
  type TaskStatus,
  type UpstreamChange,
  withCampaignEvent,
} from '../../schemas/index.ts';
import { prepareTask, publishTask } from '../conductor/submit.ts';
import { quotaBreach } from '../runtime/quota.ts';
import { DependencyCycleError, dependencyGraph, type GraphNode, readManifest } from './manifests.ts';
import { cancelCampaignTasks } from './cancel.ts';
import { streamCampaignEvents } from './stream.ts';

export interface CampaignDriverOptions {
  /** How often every open campaign is looked at (default 1000 ms). */
  pollMs?: number;
  now?: () => number;
  log?: (line: string) => void;
}

const HOUR_MS = 3_600_000;

/** Whether `now` is inside the rollout window (UTC). */
export function inWindow(window: RolloutWindow | undefined, now: number): boolean {
  if (!window) return true;
  const d = new Date(now);
  if (window.days && !window.days.includes(d.getUTCDay())) return false;
  const h = d.getUTCHours();
  return h >= window.startHour && h < window.endHour;
}

/** The campaign state of a repository whose task is in `task`'s state (and its pull request, if any). */
export function repoStateOf(
  task: TaskRecord,
  pr: PullRequestRecord | undefined,
): { state: CampaignRepoState; reason?: string } {
  switch (task.status) {
    case 'awaiting_approval':
      return { state: 'awaiting_approval' };
    case 'completed':
      if (!pr) return { state: 'merged' };
      if (pr.state === 'merged') return { state: 'merged' };
      if (pr.state === 'closed') return { state: 'failed', reason: 'the pull request was closed unmerged' };
      return { state: 'pr_open' };
    case 'failed':
      // Stopped by the campaign's cancel (task.cancel_requested): cancelled, not a failure of the change.
      if (task.reason?.startsWith(CAMPAIGN_CANCELLED)) return { state: 'cancelled', reason: task.reason };
      return { state: 'failed', reason: task.reason ?? 'the task failed' };
    case 'abstained':
      return { state: 'failed', reason: 'the task abstained: no candidate patch earned selection' };
    case 'rolling_back':
    case 'rolled_back':
      return { state: 'failed', reason: 'the change was rolled back' };
    default:
      return { state: 'running' };
  }
}

/** Task states past the proposal: the change is at the approval gate, being integrated, or integrated. */
const PROPOSED: ReadonlySet<TaskStatus> = new Set([
  'awaiting_approval',
  'integrating',
  'completed',
  'rolling_back',
  'rolled_back',
]);

/** Whether a repository's task has proposed its change (what maxPrsPerHour counts). */
export function hasProposed(task: TaskRecord, pr: PullRequestRecord | undefined): boolean {
  return pr !== undefined || PROPOSED.has(task.status);
}

/**
 * The places of the rolling hour taken at `now`: repositories that proposed within the hour, and those in
 * flight that have not proposed yet (each may open a pull request at any moment).
 */
export function hourlyPlacesTaken(c: CampaignRecord, now: number): number {
  const recent = (at: string) => now - Date.parse(at) < HOUR_MS;
  let taken = 0;
  for (const r of c.repos) {
    taken += r.earlierProposals.filter(recent).length;
    if (r.proposedAt ? recent(r.proposedAt) : REPO_IN_FLIGHT.has(r.state)) taken++;
  }
  return taken;
}

/** The task description of a repository: the change, the campaign, and the upstream changes it builds on. */
export function campaignTaskDescription(c: CampaignRecord, r: CampaignRepo): string {
  const lines = [c.description, '', `Part of campaign ${c.id} ("${c.title}"), repository ${r.name}.`];
  if (r.buildsOn.length) {
    lines.push('This change builds on upstream changes of the same campaign, already integrated:');
    for (const u of r.buildsOn)
      lines.push(
        `- ${u.name}: package ${u.package.replace(/^[a-z]+:/, '')}${u.version ? ` now at version ${u.version}` : ''} — task ${u.taskId}${u.commit ? `, commit ${u.commit}` : ''}${u.branch ? ` (branch ${u.branch})` : ''}.`,
      );
    lines.push('Make this repository use the new upstream version wherever it depends on it.');
  }
  return lines.join('\n').slice(0, 20_000);
}

export class CampaignDriver {
  private readonly pollMs: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly mesh: MeshConnection,
    private readonly opts: CampaignDriverOptions = {},
  ) {
    this.pollMs = opts.pollMs ?? 1000;
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    this.stopped = false;
    const loop = () => {
      if (this.stopped) return;
      this.running = this.pass().finally(() => {
        this.running = undefined;
        if (!this.stopped) this.timer = setTimeout(loop, this.pollMs);
      });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One look at every campaign (exported for tests: a pass is idempotent). */
  async pass(): Promise<void> {
    let ids: string[];
    try {
      ids = (await this.mesh.board.keys('campaign.*')).map((k) => k.slice('campaign.'.length));
    } catch (err) {
      this.opts.log?.(`campaign driver: cannot list campaigns: ${String(err)}`);
      return;
    }
    for (const id of ids) {
      if (this.stopped) return;
      try {
        await this.reconcile(id);
      } catch (err) {
        this.opts.log?.(`campaign driver: ${id}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  private at(): string {
    return new Date(this.now()).toISOString();
  }

  /** Plays one campaign forward, then puts the events it (or the gateway) appended onto the events stream. */
  private async reconcile(id: string): Promise<void> {
    const last = await this.step(id);
    if (last && last.streamedSeq < last.lastSeq) await streamCampaignEvents(this.mesh, last);
  }

  /** One step of a campaign; returns the entry as last read or written. */
  private async step(id: string): Promise<CampaignRecord | undefined> {
    const board = this.mesh.board;
    const key = keys.campaign(id);
    let c = (await board.get(key, CampaignRecordSchema))?.value;
    if (!c || c.status === 'completed' || c.status === 'failed') return c;
    // A cancelled campaign is followed until its last started task ends.
    if (c.status === 'cancelled' && c.repos.every((r) => REPO_DONE.has(r.state))) return c;
    if (!c.planned) return (await this.plan(c)) ?? c;

    // 1. Follow the tasks already started (and publish one whose driver died before it could).
    const seen = new Map<
      number,
      { state: CampaignRepoState; reason?: string; task: TaskRecord; proposed: boolean }
    >();
    for (const [i, r] of c.repos.entries()) {
      if (!r.taskId || REPO_DONE.has(r.state)) continue;
      const task = (await board.get(keys.task(r.taskId), TaskRecord))?.value;
      if (!task) {
        await this.publish(c, i);
        continue;
      }
      if (task.status === 'planning') await this.ensureCreated(task);
      const pr = (await board.get(keys.pr(task.id), PullRequestRecord))?.value;
      const next = repoStateOf(task, pr);
      const proposed = hasProposed(task, pr);
      if (next.state !== r.state || (proposed && !r.proposedAt)) seen.set(i, { ...next, task, proposed });
    }
    if (seen.size)
      c =
        (
          await board.mutate(key, CampaignRecordSchema, (cur) => {
            if (!cur) return undefined;
            let out: CampaignRecord = cur;
            for (const [i, s] of seen) {
              const r = out.repos[i]!;
              if (r.taskId !== s.task.id || REPO_DONE.has(r.state)) continue;
              const proposedAt = r.proposedAt ?? (s.proposed ? this.at() : undefined);
              if (r.state === s.state) {
                if (proposedAt === r.proposedAt) continue;
                const repos = out.repos.slice();
                repos[i] = { ...r, ...(proposedAt ? { proposedAt } : {}) };
                out = { ...out, repos };
                continue;
              }
              const ended = REPO_DONE.has(s.state);
              const repos = out.repos.slice();
              repos[i] = {
                ...r,
                ...(proposedAt ? { proposedAt } : {}),
                state: s.state,
                ...(s.task.commit ? { commit: s.task.commit } : {}),
                ...(s.task.branch ? { branch: s.task.branch } : {}),
                ...(s.reason ? { reason: s.reason.slice(0, 2000) } : {}),
                ...(ended ? { endedAt: this.at() } : {}),
              };
              out = withCampaignEvent(
                { ...out, repos },
                {
                  at: this.at(),
                  type: 'repo.state',
                  repoId: r.repoId,
                  taskId: r.taskId,
                  state: s.state,
                  ...(s.reason ? { detail: s.reason.slice(0, 2000) } : {}),
                },
              );
            }
            return out;
          })
        )?.value ?? c;

    // 2. Repositories that can no longer start: an upstream failed or was cancelled; all of them on cancel.
    c =
      (await board.mutate(key, CampaignRecordSchema, (cur) => (cur ? this.settle(cur) : undefined)))?.value ??
      c;

    // A cancelled campaign stops the tasks it started that are still under way (the conductor fails each one
    // that has not integrated its change; the next passes see them end).
    if (c.status === 'cancelled') {
      await cancelCampaignTasks(this.mesh, c, this.at());
      return c;
    }
    if (c.status !== 'running') return c;

    // 3. Start what the graph and the throttles allow.
    return (await this.startReady(c)) ?? c;
  }

  /**
   * Fails repositories behind a failed upstream (transitively), cancels the pending ones of a cancelled
   * campaign, and completes a running campaign whose repositories have all ended. Undefined: nothing to do.
   */
  private settle(cur: CampaignRecord): CampaignRecord | undefined {
    let out = cur;
    for (let moved = true; moved; ) {
      moved = false;
      const byId = new Map(out.repos.map((r) => [r.repoId, r]));
      for (const [i, r] of out.repos.entries()) {
        if (r.state !== 'pending') continue;
        let next: { state: CampaignRepoState; reason: string } | undefined;
        if (out.status === 'cancelled') next = { state: 'cancelled', reason: 'the campaign was cancelled' };
        else {
          const bad = r.upstream
            .map((u) => byId.get(u))
            .find((u) => u && (u.state === 'failed' || u.state === 'cancelled'));
          if (bad) next = { state: 'failed', reason: `upstream ${bad.name} ${bad.state}: not started` };
        }
        if (!next) continue;
        const repos = out.repos.slice();
        repos[i] = { ...r, state: next.state, reason: next.reason, endedAt: this.at() };
        out = withCampaignEvent(
          { ...out, repos },
          { at: this.at(), type: 'repo.state', repoId: r.repoId, state: next.state, detail: next.reason },
        );
        moved = true;
        break;
      }
    }
    if (out.status === 'running' && out.repos.every((r) => REPO_DONE.has(r.state))) {
      const count = (s: CampaignRepoState) => out.repos.filter((r) => r.state === s).length;
      out = withCampaignEvent(
        { ...out, status: 'completed', waiting: undefined },
        {
          at: this.at(),
          type: 'campaign.completed',
          detail: `${count('merged')} merged, ${count('failed')} failed`,
        },
      );
    }
    return out === cur ? undefined : out;
  }

  private async startReady(c: CampaignRecord): Promise<CampaignRecord | undefined> {
    const board = this.mesh.board;
    const now = this.now();
    const byId = new Map(c.repos.map((r) => [r.repoId, r]));
    const ready = c.repos
      .map((r, i) => ({ r, i }))
      .filter(({ r }) => r.state === 'pending' && r.upstream.every((u) => byId.get(u)?.state === 'merged'));
    if (ready.length === 0) return;
    const inFlight = c.repos.filter((r) => REPO_IN_FLIGHT.has(r.state)).length;
    if (inFlight >= c.throttle.maxConcurrent) return;

    let waiting: string | undefined;
    const taken = hourlyPlacesTaken(c, now);
    if (!inWindow(c.throttle.window, now)) waiting = 'outside the rollout window';
    else if (c.throttle.maxPrsPerHour !== undefined && taken >= c.throttle.maxPrsPerHour)
      waiting = `${taken} changes proposed or about to be in the last hour (maxPrsPerHour ${c.throttle.maxPrsPerHour})`;
    else {
      const breach = await quotaBreach(board, c.orgId, now);
      if (breach) waiting = `org ${c.orgId} is at its daily quota until ${breach.resetsAt}`;
    }
    if (waiting) {
      if (c.waiting !== waiting)
        return (
          await board.mutate(keys.campaign(c.id), CampaignRecordSchema, (cur) =>
            cur && cur.status === 'running' && cur.waiting !== waiting
              ? withCampaignEvent(
                  { ...cur, waiting },
                  { at: this.at(), type: 'campaign.waiting', detail: waiting },
                )
              : undefined,
          )
        )?.value;
      return;
    }

    // What each ready repository builds on: its upstreams' integrated commits and new versions.
    const buildsOn = new Map<number, UpstreamChange[]>();
    for (const { r, i } of ready) {
      const changes: UpstreamChange[] = [];
      for (const u of r.upstream.map((id) => byId.get(id)!)) {
        const versions = u.commit
          ? (await readManifest(u.path, u.commit).catch(() => undefined))?.versions
          : undefined;
        for (const pkg of u.packages) {
          const version = versions?.[pkg];
          changes.push({
            repoId: u.repoId,
            name: u.name,
            package: pkg,
            taskId: u.taskId!,
            ...(u.commit ? { commit: u.commit } : {}),
            ...(u.branch ? { branch: u.branch } : {}),
            ...(version ? { version } : {}),
          });
        }
      }
      buildsOn.set(i, changes);
    }

    // The claim: one compare-and-set moves repositories out of `pending` with their task ids, within the limit
    // as it stands in the entry written (a concurrent driver's claim makes this write fail and re-run).
    let claimed: number[] = [];
    const entry = await board.mutate(keys.campaign(c.id), CampaignRecordSchema, (cur) => {
      claimed = [];
      if (cur?.status !== 'running') return undefined;
      const curById = new Map(cur.repos.map((r) => [r.repoId, r]));
      let slots = cur.throttle.maxConcurrent - cur.repos.filter((r) => REPO_IN_FLIGHT.has(r.state)).length;
      let hourly =
        cur.throttle.maxPrsPerHour === undefined
          ? Number.POSITIVE_INFINITY
          : cur.throttle.maxPrsPerHour - hourlyPlacesTaken(cur, now);
      let out: CampaignRecord = cur;
      for (const { i } of ready) {
        if (slots <= 0 || hourly <= 0) break;
        const r = out.repos[i]!;
        if (r.state !== 'pending' || !r.upstream.every((u) => curById.get(u)?.state === 'merged')) continue;
        const taskId = campaignTaskId(cur.id, i, r.retries);
        const repos = out.repos.slice();
        repos[i] = {
          ...r,
          state: 'running',
          taskId,
          startedAt: this.at(),
          proposedAt: undefined,
          buildsOn: buildsOn.get(i) ?? [],
        };
        out = withCampaignEvent(
          { ...out, repos, waiting: undefined },
          {
            at: this.at(),
            type: 'repo.started',
            repoId: r.repoId,
            taskId,
            state: 'running',
            ...(r.buildsOn.length || buildsOn.get(i)?.length
              ? {
                  detail: `builds on ${(buildsOn.get(i) ?? []).map((u) => `${u.name} ${u.taskId}${u.commit ? `@${u.commit.slice(0, 12)}` : ''}`).join(', ')}`,
                }
              : {}),
          },
        );
        claimed.push(i);
        slots--;
        hourly--;
      }
      return claimed.length ? out : undefined;
    });
    if (!entry) return;
    for (const i of claimed) await this.publish(entry.value, i);
    return entry.value;
  }

  /**
   * A driver killed inside `publishTask`, after the task's entry and before its `task.created`, leaves a task
   * nobody announced (a conductor's sweep may even run it, unseen by the stream's readers): while the task is
   * still planning and the stream has no event of it, its `task.created` is published (same message id).
   */
  private async ensureCreated(task: TaskRecord): Promise<void> {
    const last = await this.mesh.jsm.streams
      .getMessage(Streams.events.name, { last_by_subj: subjects.event(task.id) })
      .catch(() => undefined);
    if (last) return;
    await publishTask(this.mesh, task);
    this.opts.log?.(`campaign: task ${task.id} had no task.created: published`);
  }

  /** Publishes a claimed repository's task (idempotent: same id, write-once entry, de-duplicated event). */
  private async publish(c: CampaignRecord, i: number): Promise<void> {
    const r = c.repos[i]!;
    if (!r.taskId) return;
    let task: TaskRecord;
    try {
      task = await prepareTask(
        {
          repo: r.path,
          title: `${c.title} (${r.name})`.slice(0, 300),
          description: campaignTaskDescription(c, r),
          approve: c.approve,
          budget: c.budget,
          ...(r.config ? { config: r.config } : {}),
        },
        { id: r.taskId, orgId: c.orgId, now: this.now, createdBy: c.createdBy, campaignId: c.id },
      );
    } catch (err) {
      // The repository is gone or unreadable: the task never existed; the repository fails with the reason.
      const reason = `not started: ${err instanceof Error ? err.message : String(err)}`.slice(0, 2000);
      await this.mesh.board.mutate(keys.campaign(c.id), CampaignRecordSchema, (cur) => {
        const cr = cur?.repos[i];
        if (!cur || !cr || cr.taskId !== r.taskId || cr.state !== 'running') return undefined;
        const repos = cur.repos.slice();
        repos[i] = { ...cr, state: 'failed', reason, endedAt: this.at() };
        return withCampaignEvent(
          { ...cur, repos },
          {
            at: this.at(),
            type: 'repo.state',
            repoId: cr.repoId,
            taskId: cr.taskId,
            state: 'failed',
            detail: reason,
          },
        );
      });
      return;
    }
    await publishTask(this.mesh, task);
    this.opts.log?.(`campaign ${c.id}: ${r.name} → task ${task.id}`);
  }

  /** Reads each repository's manifests, builds the graph, and lets the campaign run (or fails it on a cycle). */
  private async plan(c: CampaignRecord): Promise<CampaignRecord | undefined> {
    const nodes: GraphNode[] = [];
    for (const r of c.repos) {
      const m = await readManifest(r.path).catch(() => ({ provides: [], requires: [], versions: {} }));
      nodes.push({ id: r.repoId, provides: m.provides, requires: m.requires });
    }
    let upstream: Map<string, string[]> | undefined;
    let cycle: string | undefined;
    try {
      upstream = dependencyGraph(nodes);
    } catch (err) {
      if (!(err instanceof DependencyCycleError)) throw err;
      cycle = err.message;
    }
    const entry = await this.mesh.board.mutate(keys.campaign(c.id), CampaignRecordSchema, (cur) => {
      if (!cur || cur.planned) return undefined;
      const repos = cur.repos.map((r, i) => ({
        ...r,
        packages: nodes[i]!.provides,
        upstream: upstream?.get(r.repoId) ?? [],
      }));
      if (cycle)
        return withCampaignEvent(
          { ...cur, repos, planned: true, status: 'failed', reason: cycle },
          { at: this.at(), type: 'campaign.failed', detail: cycle },
        );
      const edges = repos
        .filter((r) => r.upstream.length)
        .map(
          (r) => `${r.name} ← ${r.upstream.map((u) => repos.find((x) => x.repoId === u)?.name).join(', ')}`,
        );
      return withCampaignEvent(
        { ...cur, repos, planned: true, status: cur.status === 'planning' ? 'running' : cur.status },
        {
          at: this.at(),
          type: 'campaign.planned',
          detail: edges.length ? edges.join('; ') : 'no dependencies',
        },
      );
    });
    return entry?.value;
  }
}
