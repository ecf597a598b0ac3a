// `issue_url` in `POST /v1/tasks`: the issue's title, body and comments become the task's text, and the
// repository is the registered checkout of the issue's GitHub repository (or the one the body names), or — for an
// org admin, when the settings allow that owner — a fresh hardened clone registered in the caller's org.
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { checkRepoPlacement } from '../actors/conductor/repo-policy.ts';
import {
  CloneError,
  CloneRefusedError,
  checkIssueHost,
  cloneRepository,
  findCheckout,
  GitHubApiError,
  GitHubConfigError,
  GitHubRateLimitError,
  issueTaskText,
  mayClone,
  type RepoCoords,
} from '../actors/integrator/github/index.ts';
import { schema } from '../actors/recorder/index.ts';
import { IssueUrl, newId } from '../schemas/index.ts';
import { atLeast } from './access.ts';
import { DEFAULT_ORG_ID } from './auth.ts';
import { type Gateway, placementFor } from './context.ts';
import { ApiError } from './errors.ts';
import type { Principal } from './types.ts';

const IssueField = z.object({ issue_url: IssueUrl });

/**
 * The body with `issue_url` replaced by `repo` (when absent), `title`, `description` and `issueUrl`; a body
 * without `issue_url` is returned as it is. A bad URL is a ZodError on `issue_url` (400 naming the field).
 * `caller` absent (a webhook): a repository without a registered checkout is never cloned.
 */
export async function withIssue(gw: Gateway, raw: unknown, caller?: Principal): Promise<unknown> {
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
    if (err instanceof GitHubConfigError) throw new ApiError(503, 'GITHUB_NOT_CONFIGURED', err.message);
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
    // The caller's own (developer or above) come first: a checkout's remote URL is its repository's own config
    // (untrusted), so another org's checkout claiming the same GitHub repository must not shadow the caller's.
    const rows = await gw.db
      .select({
        id: schema.repos.id,
        orgId: schema.repos.orgId,
        path: schema.repos.path,
        name: schema.repos.name,
      })
      .from(schema.repos);
    const usable = new Set<string>();
    if (caller)
      for (const r of rows) if (atLeast(await gw.access.repoRole(caller, r), 'developer')) usable.add(r.path);
    const paths = [
      ...rows.map((r) => r.path).filter((x) => usable.has(x)),
      ...rows.map((r) => r.path).filter((x) => !usable.has(x)),
    ];
    const target = { owner: ref.owner, repo: ref.repo };
    repo = await findCheckout(github.settings, target, paths);
    if (!repo && caller && mayClone(github.settings.clone, target))
      repo = await cloneForIntake(gw, caller, target, typeof rest.org === 'string' ? rest.org : undefined);
    if (!repo)
      throw new ApiError(
        422,
        'REPO_NOT_RESOLVED',
        `no registered repository has ${ref.owner}/${ref.repo} on ${github.settings.webUrl} as its remote (register its checkout, pass "repo", map it in CODEMESH_GITHUB_REPOS, or allow its owner in CODEMESH_GITHUB_CLONE_OWNERS)`,
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

/** Clones in progress in this process, by target path: a second intake of the same repository waits for it. */
const cloning = new Map<string, Promise<string>>();

/**
 * Clones `target` into the clone root and registers it in the caller's org (`org`, or `default` for the
 * superuser). Only an org admin may: the same rule as registering a path on submission, and the clone root
 * must lie under the allowed repository roots.
 */
async function cloneForIntake(gw: Gateway, p: Principal, target: RepoCoords, org?: string): Promise<string> {
  const clone = gw.github.settings.clone!;
  const orgId = org ?? (p.superuser ? DEFAULT_ORG_ID : undefined);
  if (!orgId || !atLeast(await gw.access.orgRole(p, orgId), 'admin'))
    throw new ApiError(
      403,
      'REPO_NOT_REGISTERED',
      `no registered checkout of ${target.owner}/${target.repo}; an admin of an org (pass "org") clones it on intake`,
    );
  const placement = placementFor(gw, p);
  if (!existsSync(clone.root))
    throw new ApiError(
      503,
      'CLONE_ROOT_MISSING',
      'CODEMESH_GITHUB_CLONE_ROOT does not exist; its administrator creates it',
    );
  await checkRepoPlacement(clone.root, placement).catch((err: unknown) => {
    throw new ApiError(503, 'CLONE_ROOT_REFUSED', `CODEMESH_GITHUB_CLONE_ROOT: ${(err as Error).message}`);
  });
  const key = `${target.owner}/${target.repo}`.toLowerCase();
  let running = cloning.get(key);
  const mine = !running;
  if (!running) {
    running = cloneRepository(gw.github, target).finally(() => cloning.delete(key));
    cloning.set(key, running);
  }
  let path: string;
  try {
    path = await running;
  } catch (err) {
    if (err instanceof CloneRefusedError) throw new ApiError(409, 'CLONE_REFUSED', err.message);
    if (err instanceof CloneError) throw new ApiError(502, 'CLONE_FAILED', err.message);
    if (err instanceof GitHubConfigError) throw new ApiError(503, 'GITHUB_NOT_CONFIGURED', err.message);
    if (err instanceof GitHubApiError) throw new ApiError(502, 'GITHUB_API', err.message);
    throw err;
  }
  const real = await checkRepoPlacement(path, placement);
  // Whoever inserts first registers (one org per path); a concurrent intake finds that registration, and the
  // task route then checks the caller's role on it as on any registered checkout.
  const repo = { id: newId('r'), orgId, path: real, name: target.repo };
  const created = await gw.db.insert(schema.repos).values(repo).onConflictDoNothing().returning();
  if (created.length)
    await gw.audit(p, 'repo.register', repo.id, orgId, {
      path: real,
      via: 'github-clone',
      repository: `${target.owner}/${target.repo}`,
      ...(mine ? {} : { waited: true }),
    });
  return real;
}
