// `issue_url` in `POST /v1/tasks`: the issue's title, body and comments become the task's text, and the
// repository is the registered checkout of the issue's GitHub repository (or the one the body names), or — for an
// org admin, when the settings allow that owner — a fresh hardened clone registered in the caller's org.
import { existsSync } from 'node:fs';
import { eq } from 'drizzle-orm';
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
import { atLeast, overlapError, REPO_REF } from './access.ts';
import { DEFAULT_ORG_ID } from './auth.ts';
import { type Gateway, placementFor } from './context.ts';
import { ApiError } from './errors.ts';
import type { Principal } from './types.ts';

const IssueField = z.object({ issue_url: IssueUrl });

const notOfOrg = (message: string) => new ApiError(403, 'GITHUB_OWNER_NOT_OF_ORG', message);

/**
 * The codemesh org `CODEMESH_GITHUB_ORGS` binds the GitHub `owner` to; undefined when no binding is configured
 * (one tenant). 403 GITHUB_OWNER_NOT_OF_ORG when bindings are configured and this owner has none.
 */
export function orgOfGitHubOwner(gw: Gateway, owner: string): string | undefined {
  const orgs = gw.github.settings.orgs;
  if (!orgs) return undefined;
  const org = orgs.get(owner.toLowerCase());
  if (!org)
    throw notOfOrg(
      `the GitHub owner ${owner.slice(0, 100)} belongs to no org of this instance (CODEMESH_GITHUB_ORGS)`,
    );
  return org;
}

/**
 * 403 unless the task's issue (`issueUrl`, given or filled in from `issue_url`) is of a GitHub owner bound to
 * the org of the repository it runs on. No bindings, or a URL that is not an issue of the configured GitHub: no
 * check (nothing there is read with codemesh's GitHub credentials).
 */
export function checkIssueOrg(gw: Gateway, issueUrl: string | undefined, orgId: string): void {
  if (!issueUrl || !gw.github.settings.orgs) return;
  const ref = IssueUrl.safeParse(issueUrl);
  if (!ref.success || ref.data.webUrl !== gw.github.settings.webUrl.toLowerCase()) return;
  const bound = orgOfGitHubOwner(gw, ref.data.owner);
  if (bound !== orgId)
    throw notOfOrg(
      `the issue is of the GitHub owner ${ref.data.owner.slice(0, 100)}, whose org is not this repository's`,
    );
}

/** 403 unless `p` holds a role in `orgId` (the org itself, or a repository of it). */
async function requireRoleIn(gw: Gateway, p: Principal, orgId: string, owner: string): Promise<void> {
  if (p.superuser) return;
  const vis = await gw.access.visibility(p);
  if (vis.orgIds.includes(orgId)) return;
  if ((await gw.access.reposByIds(vis.repoIds)).some((r) => r.orgId === orgId)) return;
  throw notOfOrg(`the GitHub owner ${owner.slice(0, 100)} belongs to an org where you hold no role`);
}

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
  // Before anything is read with the instance's GitHub credentials: the owner's org, and the caller's role there.
  const bound = orgOfGitHubOwner(gw, ref.owner);
  if (bound && caller) await requireRoleIn(gw, caller, bound, ref.owner);
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
    // With owners bound to orgs, only the owner's org's checkouts are candidates (a look-alike remote in
    // another org never receives its issues). The caller's own (developer or above) come first: a checkout's
    // remote URL is its repository's own config (untrusted), so another org's checkout claiming the same GitHub
    // repository must not shadow the caller's.
    const rows = await gw.db
      .select(REPO_REF)
      .from(schema.repos)
      .where(bound ? eq(schema.repos.orgId, bound) : undefined);
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
      repo = await cloneForIntake(gw, caller, target, typeof rest.org === 'string' ? rest.org : bound, bound);
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
async function cloneForIntake(
  gw: Gateway,
  p: Principal,
  target: RepoCoords,
  org?: string,
  bound?: string,
): Promise<string> {
  const clone = gw.github.settings.clone!;
  const orgId = org ?? (p.superuser ? DEFAULT_ORG_ID : undefined);
  if (bound && orgId !== bound)
    throw notOfOrg(
      `${target.owner}/${target.repo} belongs to org ${bound} (CODEMESH_GITHUB_ORGS); it is cloned into that org only`,
    );
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
  if (await gw.access.overlappingRepo(real, orgId)) throw overlapError();
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
