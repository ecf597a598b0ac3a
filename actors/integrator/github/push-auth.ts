// The credential of a push to GitHub over HTTPS: the configured token, or the GitHub App's installation token
// of the pushed repository, as a Basic `x-access-token` header scoped to the GitHub host. A remote on another
// host (or over ssh, or a file path) gets none.
import type { PushAuth } from '../git-integrate.ts';
import { createGitHub, gitHubSettingsFromEnv } from './index.ts';
import type { GitHub, GitHubSettings } from './types.ts';

/** `owner/repo` of a push URL on `webUrl`'s host, or undefined. */
export function repoOfUrl(url: string, webUrl: string): { owner: string; repo: string } | undefined {
  let u: URL;
  let web: URL;
  try {
    u = new URL(url);
    web = new URL(webUrl);
  } catch {
    return undefined;
  }
  if (u.origin !== web.origin || u.username || u.password) return undefined;
  const base = web.pathname.replace(/\/+$/, '');
  if (!u.pathname.startsWith(`${base}/`)) return undefined;
  const m = /^\/([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+?)(?:\.git)?\/?$/.exec(u.pathname.slice(base.length));
  return m ? { owner: m[1]!, repo: m[2]! } : undefined;
}

/** Push credentials from `github`, for URLs on its host. */
export function gitHubPushAuth(github: GitHub): PushAuth {
  return async (urls) => {
    const webUrl = github.settings.webUrl;
    for (const url of urls) {
      const r = repoOfUrl(url, webUrl);
      if (!r) continue;
      const header = await github.gitAuthorization(r);
      return header ? { origin: new URL(webUrl).origin, header } : undefined;
    }
    return undefined;
  };
}

/**
 * `auth` only for a push whose every URL on the GitHub host names an owner `CODEMESH_GITHUB_ORGS` binds to
 * `orgId`: one org's task never pushes with codemesh's credentials into another org's repositories (a look-alike
 * remote or push URL). A URL on that host that names no repository plainly (user info, another shape) gets none
 * either: git would send it the host's header. Unchanged when no owner is bound to an org.
 */
export function orgPushAuth(auth: PushAuth, settings: GitHubSettings, orgId: string): PushAuth {
  const orgs = settings.orgs;
  if (!orgs) return auth;
  return async (urls) => {
    const host = new URL(settings.webUrl).host.toLowerCase();
    for (const url of urls) {
      let u: URL;
      try {
        u = new URL(url);
      } catch {
        continue; // scp-like ssh (git@host:o/r) or a path: no HTTP header goes there
      }
      if (u.host.toLowerCase() !== host) continue;
      const r = repoOfUrl(url, settings.webUrl);
      if (!r || orgs.get(r.owner.toLowerCase()) !== orgId) return undefined;
    }
    return auth(urls);
  };
}

let fromEnv: { key: string; auth: PushAuth | undefined } | undefined;

/** `envPushAuth` for a push of a task of `orgId` (see `orgPushAuth`). */
export function envPushAuthFor(
  orgId: string,
  env: Record<string, string | undefined> = process.env,
): PushAuth | undefined {
  const auth = envPushAuth(env);
  if (!auth) return undefined;
  try {
    return orgPushAuth(auth, gitHubSettingsFromEnv(env), orgId);
  } catch {
    return undefined;
  }
}

/**
 * Push credentials from the environment's GitHub settings (`CODEMESH_GITHUB_TOKEN`, or the App's), one client
 * per process (an App's installation tokens are cached in it); undefined when neither is set or they are bad
 * (the push then goes without, and fails with git's own message if the remote needs one).
 */
export function envPushAuth(env: Record<string, string | undefined> = process.env): PushAuth | undefined {
  const key = [
    env.CODEMESH_GITHUB_API_URL,
    env.CODEMESH_GITHUB_WEB_URL,
    env.CODEMESH_GITHUB_TOKEN,
    env.CODEMESH_GITHUB_APP_ID,
    env.CODEMESH_GITHUB_APP_PRIVATE_KEY_FILE,
    env.CODEMESH_GITHUB_APP_INSTALLATION_ID,
  ].join('\n');
  if (fromEnv?.key === key) return fromEnv.auth;
  let auth: PushAuth | undefined;
  try {
    const settings = gitHubSettingsFromEnv(env);
    if (settings.token || settings.app) auth = gitHubPushAuth(createGitHub(settings));
  } catch {
    auth = undefined;
  }
  fromEnv = { key, auth };
  return auth;
}
