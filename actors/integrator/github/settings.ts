// GitHub settings from the environment, and the checks that tie an issue URL or a git remote to them.
import { isAbsolute } from 'node:path';
import type { IssueRef } from '../../../schemas/index.ts';
import { GitHubConfigError } from './errors.ts';
import type { GitHubAppSettings, GitHubSettings, RepoCoords } from './types.ts';

/** `https://api.github.com` → `https://github.com`; `https://ghe.example.com/api/v3` → `https://ghe.example.com`. */
export function webUrlOf(apiUrl: string): string {
  const u = new URL(apiUrl);
  if (u.hostname === 'api.github.com') return 'https://github.com';
  return `${u.protocol}//${u.host}`;
}

/**
 * `CODEMESH_GITHUB_API_URL` (default `https://api.github.com`), `CODEMESH_GITHUB_WEB_URL`,
 * `CODEMESH_GITHUB_TOKEN`, `CODEMESH_GITHUB_MAX_RETRIES` (3), `CODEMESH_GITHUB_MAX_WAIT_S` (60),
 * `CODEMESH_GITHUB_REPOS` (`owner/repo=/path,...`), `CODEMESH_GITHUB_TRIGGER_LABEL` (`codemesh`),
 * `CODEMESH_GITHUB_HANDLE` (`@codemesh`; the `@` is added if missing), `CODEMESH_GITHUB_WEBHOOK_SECRET`;
 * GitHub App auth: `CODEMESH_GITHUB_APP_ID`, `CODEMESH_GITHUB_APP_PRIVATE_KEY_FILE`,
 * `CODEMESH_GITHUB_APP_INSTALLATION_ID` (optional); cloning on intake: `CODEMESH_GITHUB_CLONE_ROOT`,
 * `CODEMESH_GITHUB_CLONE_OWNERS` (comma-separated), `CODEMESH_GITHUB_CLONE_MAX_MB` (500),
 * `CODEMESH_GITHUB_CLONE_TIMEOUT_S` (600); tenancy: `CODEMESH_GITHUB_ORGS` (`owner=org,...`). A contradictory or incomplete setting throws GitHubConfigError
 * naming it (never a secret's value).
 */
export function gitHubSettingsFromEnv(env: Record<string, string | undefined>): GitHubSettings {
  const apiUrl = (env.CODEMESH_GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, '');
  const repoMap: Record<string, string> = {};
  for (const pair of (env.CODEMESH_GITHUB_REPOS ?? '').split(',')) {
    const i = pair.indexOf('=');
    if (i > 0) repoMap[pair.slice(0, i).trim().toLowerCase()] = pair.slice(i + 1).trim();
  }
  const int = (v: string | undefined, d: number) => (v && /^\d+$/.test(v) ? Number(v) : d);
  const app = appSettings(env);
  if (app && env.CODEMESH_GITHUB_TOKEN)
    throw new GitHubConfigError(
      'CODEMESH_GITHUB_TOKEN and CODEMESH_GITHUB_APP_ID are both set: authenticate either with a token or as a GitHub App',
    );
  const cloneRoot = env.CODEMESH_GITHUB_CLONE_ROOT?.trim();
  if (cloneRoot && !isAbsolute(cloneRoot))
    throw new GitHubConfigError('CODEMESH_GITHUB_CLONE_ROOT: not an absolute path');
  const owners = (env.CODEMESH_GITHUB_CLONE_OWNERS ?? '')
    .split(',')
    .map((o) => o.trim().toLowerCase())
    .filter(Boolean);
  const orgs = new Map<string, string>();
  for (const pair of (env.CODEMESH_GITHUB_ORGS ?? '').split(',')) {
    if (!pair.trim()) continue;
    const m = /^\s*([A-Za-z0-9][A-Za-z0-9-]{0,38})\s*=\s*([a-z0-9][a-z0-9-]{0,62})\s*$/.exec(pair);
    if (!m)
      throw new GitHubConfigError(
        `CODEMESH_GITHUB_ORGS: "${pair.trim().slice(0, 100)}" is not <GitHub owner>=<codemesh org id>`,
      );
    const owner = m[1]!.toLowerCase();
    if (orgs.has(owner) && orgs.get(owner) !== m[2])
      throw new GitHubConfigError(`CODEMESH_GITHUB_ORGS: ${owner} is bound to two orgs`);
    orgs.set(owner, m[2]!);
  }
  return {
    apiUrl,
    ...(orgs.size ? { orgs } : {}),
    webUrl: (env.CODEMESH_GITHUB_WEB_URL || webUrlOf(apiUrl)).replace(/\/+$/, ''),
    ...(env.CODEMESH_GITHUB_TOKEN ? { token: env.CODEMESH_GITHUB_TOKEN } : {}),
    ...(app ? { app } : {}),
    ...(cloneRoot && owners.length
      ? {
          clone: {
            root: cloneRoot,
            owners,
            maxBytes: int(env.CODEMESH_GITHUB_CLONE_MAX_MB, 500) * 1024 * 1024,
            timeoutMs: int(env.CODEMESH_GITHUB_CLONE_TIMEOUT_S, 600) * 1000,
          },
        }
      : {}),
    maxRetries: int(env.CODEMESH_GITHUB_MAX_RETRIES, 3),
    maxWaitMs: int(env.CODEMESH_GITHUB_MAX_WAIT_S, 60) * 1000,
    repoMap,
    triggerLabel: env.CODEMESH_GITHUB_TRIGGER_LABEL || 'codemesh',
    handle: `@${(env.CODEMESH_GITHUB_HANDLE || 'codemesh').trim().replace(/^@+/, '')}`,
    ...(env.CODEMESH_GITHUB_WEBHOOK_SECRET ? { webhookSecret: env.CODEMESH_GITHUB_WEBHOOK_SECRET } : {}),
  };
}

function appSettings(env: Record<string, string | undefined>): GitHubAppSettings | undefined {
  const appId = env.CODEMESH_GITHUB_APP_ID?.trim();
  const keyFile = env.CODEMESH_GITHUB_APP_PRIVATE_KEY_FILE?.trim();
  const installation = env.CODEMESH_GITHUB_APP_INSTALLATION_ID?.trim();
  if (!appId && !keyFile && !installation) return undefined;
  if (!appId || !/^\d+$/.test(appId))
    throw new GitHubConfigError(
      'CODEMESH_GITHUB_APP_ID: the GitHub App id (a number) is required for App auth',
    );
  if (!keyFile)
    throw new GitHubConfigError(
      'CODEMESH_GITHUB_APP_PRIVATE_KEY_FILE: the path of the App private key (PEM) is required for App auth',
    );
  if (installation && !/^\d+$/.test(installation))
    throw new GitHubConfigError('CODEMESH_GITHUB_APP_INSTALLATION_ID: not a number');
  return {
    appId,
    privateKeyFile: keyFile,
    ...(installation ? { installationId: Number(installation) } : {}),
  };
}

/** Refuses an issue on another host than the configured GitHub (a task must not read from anywhere). */
export function checkIssueHost(settings: GitHubSettings, ref: IssueRef): void {
  if (ref.webUrl !== settings.webUrl.toLowerCase())
    throw new GitHubConfigError(
      `${ref.webUrl} is not the configured GitHub (${settings.webUrl}; CODEMESH_GITHUB_API_URL / CODEMESH_GITHUB_WEB_URL)`,
    );
}

/**
 * The GitHub repository a remote URL names on the configured host, or undefined: `https://host/o/r(.git)`,
 * `git@host:o/r(.git)`, `ssh://git@host/o/r(.git)`.
 */
export function repoOfRemote(settings: GitHubSettings, remote: string): RepoCoords | undefined {
  const host = new URL(settings.webUrl).host.toLowerCase();
  const hostname = new URL(settings.webUrl).hostname.toLowerCase();
  const patterns = [
    /^(?:https?|ssh|git):\/\/(?:[^@/]+@)?([^/]+)\/([^/]+)\/([^/]+?)(?:\.git)?\/?$/i,
    /^(?:[^@/]+@)?([^:/]+):([^/]+)\/([^/]+?)(?:\.git)?\/?$/,
  ];
  for (const re of patterns) {
    const m = re.exec(remote.trim());
    if (!m) continue;
    const h = m[1]!.toLowerCase();
    if (h !== host && h !== hostname) return undefined;
    return { owner: m[2]!, repo: m[3]! };
  }
  return undefined;
}
