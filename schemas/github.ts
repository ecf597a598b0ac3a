// GitHub contracts: the issue URL a task may start from, a repository's pull request settings, the pull request a
// task opened (`pr.<task>`), and webhook deliveries already handled (`ghdelivery.<id>`).
import { z } from 'zod';
import { safeString } from './text.ts';

/** `https://<host>/<owner>/<repo>/issues/<n>` (the host is checked against the configured GitHub later). */
const ISSUE_URL =
  /^(https?):\/\/([A-Za-z0-9.-]+(?::\d{1,5})?)\/([A-Za-z0-9_.-]{1,100})\/([A-Za-z0-9_.-]{1,100})\/issues\/(\d{1,10})\/?$/;

export interface IssueRef {
  /** `https://github.com` or a GitHub Enterprise web root (`https://ghe.example.com`). */
  webUrl: string;
  owner: string;
  repo: string;
  number: number;
  /** The canonical URL (no trailing slash). */
  url: string;
}

/**
 * An issue URL, parsed. `http` is accepted only so that a loopback test double can stand for a host; which host
 * is allowed is the gateway's and CLI's check (`GitHubSettings.webUrl`).
 */
export const IssueUrl = safeString()
  .max(400)
  .transform((s, ctx): IssueRef => {
    const m = ISSUE_URL.exec(s.trim());
    if (!m || m[3] === '.' || m[3] === '..' || m[4] === '.' || m[4] === '..') {
      ctx.addIssue({
        code: 'custom',
        message: 'not a GitHub issue URL (https://<host>/<owner>/<repo>/issues/<number>)',
      });
      return z.NEVER;
    }
    const webUrl = `${m[1]}://${m[2]!.toLowerCase()}`;
    const number = Number(m[5]);
    return {
      webUrl,
      owner: m[3]!,
      repo: m[4]!,
      number,
      url: `${webUrl}/${m[3]}/${m[4]}/issues/${number}`,
    };
  });

const Login = z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, 'a GitHub user name');

/**
 * `github:` in `.codemesh.yml`, the registered repository's settings or the task's `config`. A pull request is
 * opened when the branch is pushed (`push: true`) and the repository is on the configured GitHub (its `origin`
 * URL, or `CODEMESH_GITHUB_REPOS`; never the task's issue's repository), unless `pull_request: false`.
 */
export const GitHubRepoSettings = z
  .object({
    pull_request: z.boolean({ error: 'true or false' }).optional(),
    labels: z.array(z.string().min(1).max(50)).max(20).optional(),
    reviewers: z.array(Login).max(15).optional(),
    /** The branch the pull request targets (default: the repository's default branch on GitHub). */
    base: z.string().min(1).max(200).optional(),
  })
  .strict();
export type GitHubRepoSettings = z.infer<typeof GitHubRepoSettings>;

/** Where a task's pull request stands on GitHub. */
export const PullRequestState = z.enum(['draft', 'ready', 'merged', 'closed']);

/**
 * `pr.<taskId>`: the task's pull request (and its revert pull request after a rollback). Created once by the
 * Integrator's GitHub publisher, then last-writer-wins under compare-and-set.
 */
export const PullRequestRecord = z.object({
  taskId: z.string(),
  owner: z.string(),
  repo: z.string(),
  number: z.number().int().positive(),
  nodeId: z.string(),
  url: z.string(),
  state: PullRequestState,
  /** The gate arrival (or `integrated`) the body was last written for. */
  bodyFor: z.string(),
  /** The commit last pushed to the head branch. */
  head: z.string().optional(),
  revert: z.object({ number: z.number().int().positive(), url: z.string(), nodeId: z.string() }).optional(),
  updatedAt: z.string(),
});
export type PullRequestRecord = z.infer<typeof PullRequestRecord>;

/** `ghdelivery.<id>`: a webhook delivery handled once (created, never written again). */
export const WebhookDelivery = z.object({
  id: z.string(),
  event: z.string(),
  action: z.string().optional(),
  /** What it did: `task <id>`, `changes requested on <patch>`, `ignored: ...`. */
  effect: z.string(),
  at: z.string(),
});
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;

/** The parts of GitHub webhook payloads codemesh acts on (everything else in them is ignored). */
export const WebhookPayload = z.looseObject({
  action: z.string().max(100).optional(),
  sender: z.looseObject({ login: z.string().max(100) }).optional(),
  repository: z.looseObject({ full_name: z.string().max(250) }).optional(),
  label: z.looseObject({ name: z.string().max(100) }).optional(),
  issue: z
    .looseObject({
      html_url: z.string().max(400),
      number: z.number().int(),
      body: z.string().max(300_000).nullish(),
      pull_request: z.unknown().optional(),
    })
    .optional(),
  pull_request: z
    .looseObject({
      number: z.number().int(),
      merged: z.boolean().nullish(),
      head: z.looseObject({ ref: z.string().max(300) }),
    })
    .optional(),
  review: z
    .looseObject({
      state: z.string().max(50),
      body: z.string().max(60_000).nullish(),
      author_association: z.string().max(50).optional(),
    })
    .optional(),
  comment: z
    .looseObject({
      body: z.string().max(300_000).nullish(),
      user: z.looseObject({ login: z.string().max(100), type: z.string().max(50).optional() }).nullish(),
      path: z.string().max(1000).nullish(),
      line: z.number().int().nullish(),
      /** GitHub's relation of the author to the repository: OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR, NONE, ... */
      author_association: z.string().max(50).optional(),
    })
    .optional(),
});
export type WebhookPayload = z.infer<typeof WebhookPayload>;
