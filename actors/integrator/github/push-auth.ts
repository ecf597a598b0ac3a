// The credential of a push to GitHub over HTTPS: the configured token, or the GitHub App's installation token
// of the pushed repository, as a Basic `x-access-token` header scoped to the GitHub host. A remote on another
// host (or over ssh, or a file path) gets none.
import type { PushAuth } from '../git-integrate.ts';
import { createGitHub, gitHubSettingsFromEnv } from './index.ts';
import type { GitHub } from './types.ts';

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

let fromEnv: { key: string; auth: PushAuth | undefined } | undefined;

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
