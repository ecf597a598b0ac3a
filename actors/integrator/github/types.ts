// The GitHub contract of codemesh: what the Integrator's publisher, the gateway's intake and webhooks ask of
// GitHub. `createGitHub` returns it; `OctokitGitHub` is the implementation over `@octokit/rest`.
import type { IssueRef } from '../../../schemas/index.ts';

/** Where GitHub is and how codemesh authenticates to it (from the environment; see `gitHubSettingsFromEnv`). */
export interface GitHubSettings {
  /** REST root: `https://api.github.com`, or `https://<ghe host>/api/v3` for GitHub Enterprise Server. */
  apiUrl: string;
  /**
   * Web root that issue URLs and remotes name: `https://github.com`, or the Enterprise host. Derived from
   * `apiUrl` unless set (`CODEMESH_GITHUB_WEB_URL`).
   */
  webUrl: string;
  /** A token (PAT or a GitHub App installation token); never logged, never put in an event or error. */
  token?: string;
  /** GitHub App authentication instead of a token: codemesh mints and refreshes installation tokens. */
  app?: GitHubAppSettings;
  /**
   * Cloning a repository that no registered checkout has, on issue intake: where clones go (inside
   * `CODEMESH_REPO_ROOTS`) and whose repositories may be cloned. No root or no owner: nothing is cloned.
   */
  clone?: GitHubCloneSettings;
  /** Bounded waiting on rate limits: at most this many retries of one request ... */
  maxRetries: number;
  /** ... each waiting at most this long (a reset further away fails the request with `GitHubRateLimitError`). */
  maxWaitMs: number;
  /** `owner/repo` → checkout path, for repositories whose remote does not name GitHub. */
  repoMap: Record<string, string>;
  /** The label that turns a labelled issue into a task (webhooks); default `codemesh`. */
  triggerLabel: string;
  /** The mention that addresses codemesh in a pull request comment (webhooks); default `@codemesh`. */
  handle: string;
  /** HMAC secret of webhooks; absent: the webhook route refuses every delivery. */
  webhookSecret?: string;
  /**
   * `CODEMESH_GITHUB_ORGS` (`owner=org,...`, owners lower-case): the codemesh org each GitHub owner's issues and
   * repositories belong to. Set, an issue is a task only in its owner's org (intake, clone, labelled issues) and
   * an owner bound to none is refused. Unset (one tenant): no owner is tied to an org.
   */
  orgs?: ReadonlyMap<string, string>;
}

export interface GitHubAppSettings {
  /** `CODEMESH_GITHUB_APP_ID`: the JWT's issuer. */
  appId: string;
  /** `CODEMESH_GITHUB_APP_PRIVATE_KEY_FILE`: the PEM file GitHub generated (read once, never logged). */
  privateKeyFile: string;
  /** `CODEMESH_GITHUB_APP_INSTALLATION_ID`; absent: looked up per repository (`GET /repos/{o}/{r}/installation`). */
  installationId?: number;
}

export interface GitHubCloneSettings {
  /** `CODEMESH_GITHUB_CLONE_ROOT`: clones go to `<root>/<owner>/<repo>`. */
  root: string;
  /** `CODEMESH_GITHUB_CLONE_OWNERS`: users/orgs whose repositories may be cloned (lowercase). */
  owners: string[];
  /** `CODEMESH_GITHUB_CLONE_MAX_MB` (500): a clone growing past this is stopped and removed. */
  maxBytes: number;
  /** `CODEMESH_GITHUB_CLONE_TIMEOUT_S` (600): a clone running longer is stopped and removed. */
  timeoutMs: number;
}

export interface IssueText {
  ref: IssueRef;
  title: string;
  body: string;
  comments: Array<{ author: string; body: string }>;
}

export interface PullRequest {
  number: number;
  /** GraphQL node id (marking a pull request ready is a GraphQL mutation). */
  nodeId: string;
  url: string;
  draft: boolean;
  state: 'open' | 'closed';
}

export interface RepoCoords {
  owner: string;
  repo: string;
}

/** The role: GitHub as codemesh uses it. Every call honours rate limits (bounded) and the caller's signal. */
export interface GitHub {
  readonly settings: GitHubSettings;
  /** Title, body and comments (the first 100 comments; longer threads are cut, and the text says so). */
  readIssue(ref: IssueRef, signal?: AbortSignal): Promise<IssueText>;
  defaultBranch(r: RepoCoords, signal?: AbortSignal): Promise<string>;
  /** The open pull request from `head` (a branch of the same repository), if any. */
  findPullRequest(r: RepoCoords, head: string, signal?: AbortSignal): Promise<PullRequest | undefined>;
  openPullRequest(
    r: RepoCoords,
    pr: { title: string; body: string; head: string; base: string; draft: boolean },
    signal?: AbortSignal,
  ): Promise<PullRequest>;
  updatePullRequest(
    r: RepoCoords,
    n: number,
    pr: { body?: string; title?: string },
    signal?: AbortSignal,
  ): Promise<void>;
  /**
   * `markPullRequestReadyForReview` (GraphQL: the REST update endpoint cannot take a pull request out of draft).
   * `repo` picks the App installation when no installation id is configured.
   */
  markReady(pr: { nodeId: string; repo?: RepoCoords }, signal?: AbortSignal): Promise<void>;
  addLabels(r: RepoCoords, n: number, labels: string[], signal?: AbortSignal): Promise<void>;
  requestReviewers(r: RepoCoords, n: number, reviewers: string[], signal?: AbortSignal): Promise<void>;
  /**
   * The `Authorization` header value git sends to fetch `r` over HTTP(S) (basic, `x-access-token` and the
   * token or installation token), or undefined without credentials. A secret: never log it.
   */
  gitAuthorization(r: RepoCoords, signal?: AbortSignal): Promise<string | undefined>;
}
