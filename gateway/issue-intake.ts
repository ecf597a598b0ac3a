// `issue_url` in `POST /v1/tasks`: the issue's title, body and comments become the task's text, and the
// repository is the registered checkout of the issue's GitHub repository (or the one the body names).
import { z } from 'zod';
import {
  checkIssueHost,
  findCheckout,
  GitHubApiError,
  GitHubConfigError,
  GitHubRateLimitError,
  issueTaskText,
} from '../actors/integrator/github/index.ts';
import { schema } from '../actors/recorder/index.ts';
import { IssueUrl } from '../schemas/index.ts';
import type { Gateway } from './context.ts';
import { ApiError } from './errors.ts';

const IssueField = z.object({ issue_url: IssueUrl });

/**
 * The body with `issue_url` replaced by `repo` (when absent), `title`, `description` and `issueUrl`; a body
 * without `issue_url` is returned as it is. A bad URL is a ZodError on `issue_url` (400 naming the field).
 */
export async function withIssue(gw: Gateway, raw: unknown): Promise<unknown> {
  if (!raw || typeof raw !== 'object' || !('issue_url' in raw)) return raw;
  const { issue_url, ...rest } = raw as Record<string, unknown>;
  const { issue_url: ref } = IssueField.parse({ issue_url });
  const github = gw.github;
  try {
    checkIssueHost(github.settings, ref);
  } catch (err) {
    if (err instanceof GitHubConfigError)
      throw new ApiError(400, 'INVALID_REQUEST', err.message, {
        fields: [{ path: 'issue_url', message: err.message }],
      });
    throw err;
  }
  let issue: Awaited<ReturnType<typeof github.readIssue>>;
  try {
    issue = await github.readIssue(ref);
  } catch (err) {
    if (err instanceof GitHubRateLimitError)
      throw new ApiError(503, 'GITHUB_RATE_LIMITED', err.message, {
        retryAfter: Math.max(1, Math.ceil(((err.resetAt ?? gw.now()) - gw.now()) / 1000)),
      });
    if (err instanceof GitHubApiError)
      throw new ApiError(
        err.status === 404 ? 422 : 502,
        err.status === 404 ? 'ISSUE_NOT_FOUND' : 'GITHUB_API',
        err.status === 404 ? `GitHub has no issue ${ref.url} (or the token may not read it)` : err.message,
      );
    throw err;
  }
  let repo = rest.repo;
  if (repo === undefined) {
    // Every registered checkout is a candidate; whether the caller may use the one found is checked after.
    const paths = (await gw.db.select({ path: schema.repos.path }).from(schema.repos)).map((r) => r.path);
    repo = await findCheckout(github.settings, { owner: ref.owner, repo: ref.repo }, paths);
    if (!repo)
      throw new ApiError(
        422,
        'REPO_NOT_RESOLVED',
        `no registered repository has ${ref.owner}/${ref.repo} on ${github.settings.webUrl} as its remote (register its checkout, pass "repo", or map it in CODEMESH_GITHUB_REPOS)`,
      );
  }
  const text = issueTaskText(issue);
  return {
    ...rest,
    repo,
    title: rest.title ?? text.title,
    description: rest.description ?? text.description,
    issueUrl: ref.url,
  };
}
