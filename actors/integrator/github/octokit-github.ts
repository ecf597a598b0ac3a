// GitHub over `@octokit/rest` 22: REST for issues and pull requests, GraphQL for the one thing REST cannot do
// (take a pull request out of draft). Rate limits are waited out here, bounded, with no plugin.
import { Octokit } from '@octokit/rest';
import type { IssueRef } from '../../../schemas/index.ts';
import { GitHubAppAuth } from './app-auth.ts';
import { GitHubApiError, GitHubRateLimitError } from './errors.ts';
import { isRateLimited, type LimitedResponse, retryDelayMs } from './rate-limit.ts';
import type { GitHub, GitHubSettings, IssueText, PullRequest, RepoCoords } from './types.ts';

export interface OctokitGitHubOptions {
  /** Waits between retries (tests pass one that records and returns at once). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
  /** Warnings (rate limits waited out); the token never reaches it. */
  log?: (line: string) => void;
}

const MAX_COMMENTS = 100;

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    const stop = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', stop, { once: true });
  });

interface OctokitFailure {
  status: number;
  message: string;
  response?: { headers: Record<string, string | number | undefined> };
}
const asFailure = (err: unknown): OctokitFailure | undefined =>
  err && typeof err === 'object' && typeof (err as { status?: unknown }).status === 'number'
    ? (err as OctokitFailure)
    : undefined;

type PullJson = { number: number; node_id: string; html_url: string; draft?: boolean; state: string };
const toPull = (p: PullJson): PullRequest => ({
  number: p.number,
  nodeId: p.node_id,
  url: p.html_url,
  draft: p.draft === true,
  state: p.state === 'closed' ? 'closed' : 'open',
});

/** The repository a request is about: REST route parameters, or what a GraphQL call put in `request`. */
function repoOf(options: Record<string, unknown>): RepoCoords | undefined {
  const req = options.request as { codemeshRepo?: RepoCoords } | undefined;
  if (req?.codemeshRepo) return req.codemeshRepo;
  return typeof options.owner === 'string' && typeof options.repo === 'string'
    ? { owner: options.owner, repo: options.repo }
    : undefined;
}

export class OctokitGitHub implements GitHub {
  private readonly octokit: Octokit;
  /** GitHub App installation tokens (when `settings.app`); else `settings.token` is sent as it is. */
  private readonly app?: GitHubAppAuth;

  constructor(
    readonly settings: GitHubSettings,
    opts: OctokitGitHubOptions = {},
  ) {
    const sleep = opts.sleep ?? defaultSleep;
    const now = opts.now ?? Date.now;
    const log = opts.log ?? (() => undefined);
    // Reads and checks the App's key now: a bad key fails at start, naming the setting.
    const app = settings.app ? new GitHubAppAuth(settings.apiUrl, settings.app, { now }) : undefined;
    this.app = app;
    this.octokit = new Octokit({
      baseUrl: settings.apiUrl.replace(/\/+$/, ''),
      ...(settings.token && !app ? { auth: settings.token } : {}),
      userAgent: 'codemesh',
      // Octokit's own logger would print request details on warnings; ours gets the path and status only.
      log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
    });
    // Every request (REST and GraphQL) goes through this: a rate limit is waited out up to the bounds, then it
    // fails with GitHubRateLimitError; any other failure becomes a GitHubApiError without request headers.
    // As a GitHub App, each request carries the installation token of its repository; a 401 (a revoked or
    // expired token) mints a new one, once.
    this.octokit.hook.wrap('request', async (request, options) => {
      const where = `${options.method} ${String(options.url)}`;
      const signal = (options.request as { signal?: AbortSignal } | undefined)?.signal;
      const repo = repoOf(options as unknown as Record<string, unknown>);
      let refreshed = false;
      for (let retry = 0; ; retry++) {
        if (app)
          options.headers = { ...options.headers, authorization: `token ${await app.token(repo, signal)}` };
        try {
          return await request(options);
        } catch (err) {
          const f = asFailure(err);
          if (!f) throw err;
          if (app && f.status === 401 && !refreshed) {
            refreshed = true;
            retry--;
            await app.invalidate(repo);
            log(`github: ${where} answered 401; minting a new installation token`);
            continue;
          }
          const r: LimitedResponse = { status: f.status, headers: f.response?.headers ?? {} };
          if (!isRateLimited(r, f.message))
            throw new GitHubApiError(`GitHub ${where}: ${f.status} ${f.message.slice(0, 300)}`, f.status);
          const wait = retryDelayMs(r, retry, now());
          const resetAt = now() + wait;
          if (retry >= settings.maxRetries || wait > settings.maxWaitMs)
            throw new GitHubRateLimitError(
              `GitHub ${where}: rate limited (${f.status}); resets in ${Math.ceil(wait / 1000)} s, ${retry >= settings.maxRetries ? `${retry} retries used` : `beyond the ${Math.round(settings.maxWaitMs / 1000)} s wait allowed`}`,
              resetAt,
            );
          log(`github: ${where} rate limited (${f.status}), retrying in ${wait} ms`);
          await sleep(wait, signal);
        }
      }
    });
  }

  async readIssue(ref: IssueRef, signal?: AbortSignal): Promise<IssueText> {
    const r = { owner: ref.owner, repo: ref.repo, issue_number: ref.number, request: { signal } };
    const { data: issue } = await this.octokit.rest.issues.get(r);
    const { data: comments } = await this.octokit.rest.issues.listComments({ ...r, per_page: MAX_COMMENTS });
    return {
      ref,
      title: issue.title,
      body: issue.body ?? '',
      comments: comments.map((c) => ({ author: c.user?.login ?? 'ghost', body: c.body ?? '' })),
    };
  }

  async defaultBranch(r: RepoCoords, signal?: AbortSignal): Promise<string> {
    return (await this.octokit.rest.repos.get({ ...r, request: { signal } })).data.default_branch;
  }

  async findPullRequest(r: RepoCoords, head: string, signal?: AbortSignal): Promise<PullRequest | undefined> {
    const { data } = await this.octokit.rest.pulls.list({
      ...r,
      head: `${r.owner}:${head}`,
      state: 'open',
      request: { signal },
    });
    return data[0] ? toPull(data[0]) : undefined;
  }

  async openPullRequest(
    r: RepoCoords,
    pr: { title: string; body: string; head: string; base: string; draft: boolean },
    signal?: AbortSignal,
  ): Promise<PullRequest> {
    const { data } = await this.octokit.rest.pulls.create({ ...r, ...pr, request: { signal } });
    return toPull(data);
  }

  async updatePullRequest(
    r: RepoCoords,
    n: number,
    pr: { body?: string; title?: string },
    signal?: AbortSignal,
  ): Promise<void> {
    await this.octokit.rest.pulls.update({ ...r, pull_number: n, ...pr, request: { signal } });
  }

  async markReady(pr: { nodeId: string; repo?: RepoCoords }, signal?: AbortSignal): Promise<void> {
    const res = await this.octokit.graphql<{
      markPullRequestReadyForReview: { pullRequest: { isDraft: boolean } };
    }>(
      'mutation($id: ID!) { markPullRequestReadyForReview(input: { pullRequestId: $id }) { pullRequest { isDraft number } } }',
      { id: pr.nodeId, request: { signal, ...(pr.repo ? { codemeshRepo: pr.repo } : {}) } },
    );
    if (res.markPullRequestReadyForReview.pullRequest.isDraft)
      throw new GitHubApiError('GitHub left the pull request a draft', 200);
  }

  async addLabels(r: RepoCoords, n: number, labels: string[], signal?: AbortSignal): Promise<void> {
    if (labels.length)
      await this.octokit.rest.issues.addLabels({ ...r, issue_number: n, labels, request: { signal } });
  }

  async requestReviewers(r: RepoCoords, n: number, reviewers: string[], signal?: AbortSignal): Promise<void> {
    if (reviewers.length)
      await this.octokit.rest.pulls.requestReviewers({
        ...r,
        pull_number: n,
        reviewers,
        request: { signal },
      });
  }

  async gitAuthorization(r: RepoCoords, signal?: AbortSignal): Promise<string | undefined> {
    const token = this.app ? await this.app.token(r, signal) : this.settings.token;
    return token ? `Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}` : undefined;
  }
}
