// The Integrator's GitHub side, a durable consumer of task events: at the human gate it pushes the proposed
// commit to codemesh/<task> and opens (or rewrites) a draft pull request; after integration — the Integrator
// has pushed the integrated commit — it rewrites the body and marks the pull request ready; after a rollback
// it opens a revert pull request linking the original. Tasks whose settings do not push are left alone.
import { join } from 'node:path';
import {
  consumeEvents,
  DEFAULT_REDELIVERY,
  type MeshConnection,
  type RedeliveryPolicy,
} from '../../../blackboard/index.ts';
import {
  Consumers,
  keys,
  PullRequestRecord,
  RepoConfigError,
  type TaskEvent,
  TaskRecord,
} from '../../../schemas/index.ts';
import { resolveRepoConfig } from '../../tester/repo-config.ts';
import { branchFor, commitMessage, proposedCommit, pushBranch, rollbackBranchFor } from '../git-integrate.ts';
import { gitHubPushAuth, orgPushAuth } from './push-auth.ts';
import { gitHubRepoOf } from './checkout.ts';
import { loadPrBodyInput, prBody, prTitle, revertBody } from './pr-body.ts';
import type { GitHub, RepoCoords } from './types.ts';

export interface PublisherOptions {
  github: GitHub;
  /** Where private git indexes go (`<state dir>/work`). */
  workDir: string;
  consumer?: string;
  redelivery?: RedeliveryPolicy;
  log?: (line: string) => void;
  now?: () => number;
}

interface Target {
  task: TaskRecord;
  coords: RepoCoords;
  labels: string[];
  reviewers: string[];
  base?: string;
}

export class GitHubPublisher {
  private consumer?: { close(): Promise<void> };

  constructor(
    private readonly mesh: MeshConnection,
    private readonly opts: PublisherOptions,
  ) {}

  async start(): Promise<void> {
    this.consumer = await consumeEvents(
      this.mesh.js,
      this.mesh.jsm,
      this.opts.consumer ?? Consumers.github,
      async (event, d) => {
        try {
          await this.handle(event);
          d.ack();
        } catch (err) {
          this.log(`event ${event.id}: ${err instanceof Error ? err.message : String(err)}`);
          await d.fail(err);
        }
      },
      (l) => this.log(l),
      { policy: this.opts.redelivery ?? DEFAULT_REDELIVERY, nc: this.mesh.nc },
    );
  }

  async stop(): Promise<void> {
    await this.consumer?.close();
  }

  private log(line: string) {
    this.opts.log?.(`github: ${line}`);
  }

  /** One event; idempotent (a redelivery finds the pull request record already at that stage). */
  async handle(event: TaskEvent): Promise<void> {
    if (event.type === 'approval.requested') return this.atGate(event);
    if (event.type === 'integrate.committed') return this.integrated(event);
    if (event.type === 'rollback.committed') return this.rolledBack(event);
  }

  /** The task's repository on GitHub and its pull request settings, or undefined when it does not push there. */
  private async target(taskId: string): Promise<Target | undefined> {
    const task = (await this.mesh.board.get(keys.task(taskId), TaskRecord))?.value;
    if (!task) return undefined;
    let config: Awaited<ReturnType<typeof resolveRepoConfig>>['config'];
    try {
      ({ config } = await resolveRepoConfig({
        repoPath: task.repoPath,
        commit: task.baseCommit,
        task: task.request.config,
      }));
    } catch (err) {
      if (err instanceof RepoConfigError) return undefined;
      throw err;
    }
    if (!config.push || config.github?.pull_request === false) return undefined;
    // The checkout's own GitHub repository (CODEMESH_GITHUB_REPOS, else its remote), never the issue's: a task's
    // `issueUrl` is the caller's text, and would let one org push into any repository codemesh may write to.
    const settings = this.opts.github.settings;
    const coords = await gitHubRepoOf(settings, task.repoPath);
    if (!coords) return undefined;
    // With owners bound to orgs, a checkout whose remote names another org's owner (a look-alike) is not pushed.
    const bound = settings.orgs?.get(coords.owner.toLowerCase());
    if (settings.orgs && bound !== (task.orgId ?? 'default')) {
      this.log(
        `task ${task.id}: ${coords.owner}/${coords.repo} belongs to ${bound ? `org ${bound}` : 'no org'} (CODEMESH_GITHUB_ORGS), not the task's; nothing pushed`,
      );
      return undefined;
    }
    return {
      task,
      coords,
      labels: config.github?.labels ?? [],
      reviewers: config.github?.reviewers ?? [],
      ...(config.github?.base ? { base: config.github.base } : {}),
    };
  }

  private bodyInput(task: TaskRecord, patchId: string) {
    return loadPrBodyInput(this.mesh.board, task, patchId);
  }

  /** Opens the pull request, or finds the one already open from the branch (a retry after a lost answer). */
  private async openOrFind(t: Target, head: string, title: string, body: string, draft: boolean) {
    const gh = this.opts.github;
    const found = await gh.findPullRequest(t.coords, head);
    if (found) await gh.updatePullRequest(t.coords, found.number, { body });
    const pr =
      found ??
      (await gh.openPullRequest(t.coords, {
        title,
        body,
        head,
        base: t.base ?? (await gh.defaultBranch(t.coords)),
        draft,
      }));
    // Also on a found one: a run cut off between opening it and labelling it labels it now (both are idempotent).
    await gh.addLabels(t.coords, pr.number, t.labels);
    await gh.requestReviewers(t.coords, pr.number, t.reviewers);
    return pr;
  }

  private async record(taskId: string, fn: (cur: PullRequestRecord | undefined) => PullRequestRecord) {
    const at = new Date((this.opts.now ?? Date.now)()).toISOString();
    await this.mesh.board.mutate(keys.pr(taskId), PullRequestRecord, (cur) => ({
      ...fn(cur),
      updatedAt: at,
    }));
  }

  private async emit(event: Omit<TaskEvent, 'at'>) {
    await this.mesh.bus.publish({ ...event, at: new Date((this.opts.now ?? Date.now)()).toISOString() });
  }

  private async atGate(event: TaskEvent): Promise<void> {
    const patchId = String(event.data.patchId ?? '');
    const gate = Number(event.data.gate ?? 1);
    const t = await this.target(event.taskId);
    if (!t || !patchId) return;
    const cur = (await this.mesh.board.get(keys.pr(t.task.id), PullRequestRecord))?.value;
    if (cur && (cur.bodyFor === `gate-${gate}` || cur.state !== 'draft')) return;
    const input = await this.bodyInput(t.task, patchId);
    const branch = branchFor(t.task.id);
    const commit = await proposedCommit({
      repo: t.task.repoPath,
      patch: input.patch,
      workDir: this.opts.workDir,
      message: commitMessage(t.task, input.patch, [
        `Proposed at the approval gate (${gate}); not yet approved.`,
        '',
      ]),
    });
    const pushed = await pushBranch(t.task.repoPath, branch, {
      from: commit,
      auth: orgPushAuth(
        gitHubPushAuth(this.opts.github),
        this.opts.github.settings,
        t.task.orgId ?? 'default',
      ),
    });
    if (!pushed.pushed) throw new Error(`the draft commit was not pushed: ${pushed.error ?? 'no remote'}`);
    const body = prBody({ ...input, stage: 'gate' });
    const pr = cur
      ? await this.opts.github
          .updatePullRequest(t.coords, cur.number, { body })
          .then(() => ({ number: cur.number, nodeId: cur.nodeId, url: cur.url, draft: true }))
      : await this.openOrFind(t, branch, prTitle(t.task), body, true);
    await this.record(t.task.id, () => ({
      taskId: t.task.id,
      ...t.coords,
      number: pr.number,
      nodeId: pr.nodeId,
      url: pr.url,
      state: 'draft',
      bodyFor: `gate-${gate}`,
      head: commit,
      updatedAt: '',
    }));
    await this.emit({
      id: `${t.task.id}:pr.opened:g${gate}`,
      taskId: t.task.id,
      type: 'pr.opened',
      data: { number: pr.number, url: pr.url, draft: true, head: commit, patchId },
    });
  }

  private async integrated(event: TaskEvent): Promise<void> {
    const push = event.data.push as { pushed?: boolean } | undefined;
    const commit = String(event.data.commit ?? '');
    if (!push?.pushed) return;
    const t = await this.target(event.taskId);
    if (!t) return;
    const patchId = String(t.task.workflow.context.patchId ?? '');
    const cur = (await this.mesh.board.get(keys.pr(t.task.id), PullRequestRecord))?.value;
    if (cur && cur.bodyFor === 'integrated') return;
    const body = prBody({ ...(await this.bodyInput(t.task, patchId)), stage: 'integrated' });
    // Approved at the gate: the draft becomes ready. Approved automatically (no human gate): it stays a draft.
    const human = t.task.workflow.context.approveMode === 'manual';
    const branch = branchFor(t.task.id);
    const pr = cur
      ? { number: cur.number, nodeId: cur.nodeId, url: cur.url, draft: cur.state === 'draft' }
      : await this.openOrFind(t, branch, prTitle(t.task), body, !human);
    if (cur) await this.opts.github.updatePullRequest(t.coords, pr.number, { body });
    if (human && pr.draft) await this.opts.github.markReady({ nodeId: pr.nodeId, repo: t.coords });
    await this.record(t.task.id, (c) => ({
      ...(c ?? { taskId: t.task.id, ...t.coords, number: pr.number, nodeId: pr.nodeId, url: pr.url }),
      state: human ? 'ready' : 'draft',
      bodyFor: 'integrated',
      head: commit,
      updatedAt: '',
    }));
    await this.emit({
      id: `${t.task.id}:pr.${human ? 'ready' : 'opened'}:integrated`,
      taskId: t.task.id,
      type: human ? 'pr.ready' : 'pr.opened',
      data: { number: pr.number, url: pr.url, draft: !human, head: commit },
    });
  }

  private async rolledBack(event: TaskEvent): Promise<void> {
    const push = event.data.push as { pushed?: boolean } | undefined;
    if (!push?.pushed) return;
    const t = await this.target(event.taskId);
    if (!t) return;
    const cur = (await this.mesh.board.get(keys.pr(t.task.id), PullRequestRecord))?.value;
    if (!cur || cur.revert) return;
    const head = rollbackBranchFor(t.task.id);
    const body = revertBody(t.task, cur);
    const title = `Revert: ${prTitle(t.task)}`.slice(0, 250);
    // A revert a human asked for is ready at once (its approval is the rollback request itself).
    const pr = await this.openOrFind({ ...t, reviewers: t.reviewers }, head, title, body, false);
    await this.record(t.task.id, (c) => ({
      ...(c ?? cur),
      revert: { number: pr.number, url: pr.url, nodeId: pr.nodeId },
      updatedAt: '',
    }));
    await this.emit({
      id: `${t.task.id}:pr.revert_opened`,
      taskId: t.task.id,
      type: 'pr.revert_opened',
      data: { number: pr.number, url: pr.url, reverts: { number: cur.number, url: cur.url } },
    });
  }
}

/** The publisher's private git indexes live under the state dir's work dir, like the Integrator's. */
export const publisherWorkDir = (dataDir: string) => join(dataDir, 'work');
