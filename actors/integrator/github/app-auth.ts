// GitHub App authentication: a JSON web token signed with the App's private key (RS256) is exchanged for an
// installation access token, cached per installation and minted again five minutes before it expires. The key
// and the tokens are never logged, and never part of an error message.
import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GitHubApiError, GitHubConfigError } from './errors.ts';
import type { GitHubAppSettings, RepoCoords } from './types.ts';

/** A cached token is replaced this long before GitHub's `expires_at`. */
export const REFRESH_BEFORE_MS = 5 * 60_000;
/** GitHub refuses an App JWT whose `exp` is more than ten minutes ahead; nine leaves room for clock skew. */
const JWT_LIFETIME_S = 9 * 60;
/** `iat` is backdated a minute, as GitHub's docs ask, for clocks that run slightly ahead of GitHub's. */
const JWT_BACKDATE_S = 60;
const KEY_SETTING = 'CODEMESH_GITHUB_APP_PRIVATE_KEY_FILE';

export interface AppAuthOptions {
  now?: () => number;
  /** Requests to GitHub's App endpoints (tests may pass a recording one); default the global `fetch`. */
  fetch?: typeof fetch;
}

interface Cached {
  token: string;
  expiresAt: number;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** Reads and parses the App's private key; the error names the setting, never the file's content or path. */
export function loadAppKey(file: string): KeyObject {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch {
    throw new GitHubConfigError(`${KEY_SETTING}: the GitHub App's private key file cannot be read`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new GitHubConfigError(
      `${KEY_SETTING}: the file is not a PEM private key (GitHub → App settings → "Generate a private key")`,
    );
  }
  if (key.asymmetricKeyType !== 'rsa')
    throw new GitHubConfigError(`${KEY_SETTING}: the key is not an RSA key (GitHub Apps sign with RS256)`);
  return key;
}

/** Installation tokens of one GitHub App. */
export class GitHubAppAuth {
  private readonly key: KeyObject;
  private readonly now: () => number;
  private readonly fetch: typeof fetch;
  private readonly tokens = new Map<number, Cached>();
  private readonly pending = new Map<number, Promise<Cached>>();
  private readonly installations = new Map<string, number>();

  constructor(
    private readonly apiUrl: string,
    private readonly app: GitHubAppSettings,
    opts: AppAuthOptions = {},
  ) {
    this.key = loadAppKey(app.privateKeyFile);
    this.now = opts.now ?? Date.now;
    this.fetch = opts.fetch ?? fetch;
  }

  /** A fresh App JWT (RS256; `iat` a minute back, `exp` nine minutes ahead; `iss` the App id). */
  jwt(): string {
    const now = Math.floor(this.now() / 1000);
    const head = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
    const claims = b64url(
      JSON.stringify({ iat: now - JWT_BACKDATE_S, exp: now + JWT_LIFETIME_S, iss: this.app.appId }),
    );
    const sig = sign('sha256', Buffer.from(`${head}.${claims}`), this.key);
    return `${head}.${claims}.${b64url(sig)}`;
  }

  /**
   * The installation token for `r` (the configured installation, else the one GitHub names for the
   * repository), from the cache while it has more than five minutes left.
   */
  async token(r: RepoCoords | undefined, signal?: AbortSignal): Promise<string> {
    try {
      return await this.tokenOf(await this.installationFor(r, signal), signal);
    } catch (err) {
      // A looked-up installation GitHub no longer knows (the App was reinstalled): look it up again, once.
      if (!(err instanceof GitHubApiError && err.status === 404) || !r || !this.installations.has(key(r)))
        throw err;
      this.installations.delete(key(r));
      return this.tokenOf(await this.installationFor(r, signal), signal);
    }
  }

  private async tokenOf(id: number, signal?: AbortSignal): Promise<string> {
    const cur = this.tokens.get(id);
    if (cur && this.now() < cur.expiresAt - REFRESH_BEFORE_MS) return cur.token;
    let p = this.pending.get(id);
    if (!p) {
      p = this.mint(id, signal).finally(() => this.pending.delete(id));
      this.pending.set(id, p);
    }
    return (await p).token;
  }

  /** Forgets the token of `r`'s installation (GitHub answered 401 with it: revoked, or the clock is off). */
  async invalidate(r: RepoCoords | undefined): Promise<void> {
    const id = this.app.installationId ?? (r ? this.installations.get(key(r)) : undefined);
    if (id !== undefined) this.tokens.delete(id);
  }

  private async installationFor(r: RepoCoords | undefined, signal?: AbortSignal): Promise<number> {
    if (this.app.installationId !== undefined) return this.app.installationId;
    if (!r)
      throw new GitHubConfigError(
        'CODEMESH_GITHUB_APP_INSTALLATION_ID: this request names no repository to look the installation up by; set the installation id',
      );
    const known = this.installations.get(key(r));
    if (known !== undefined) return known;
    const res = await this.call('GET', `/repos/${enc(r.owner)}/${enc(r.repo)}/installation`, signal);
    if (res.status === 404)
      throw new GitHubApiError(
        `the GitHub App (CODEMESH_GITHUB_APP_ID) is not installed on ${r.owner}/${r.repo}`,
        404,
      );
    const body = (await this.ok(res, 'GET /repos/{owner}/{repo}/installation')) as { id?: unknown };
    if (typeof body.id !== 'number') throw new GitHubApiError('GitHub named no installation id', 502);
    this.installations.set(key(r), body.id);
    return body.id;
  }

  private async mint(id: number, signal?: AbortSignal): Promise<Cached> {
    const res = await this.call('POST', `/app/installations/${id}/access_tokens`, signal);
    const body = (await this.ok(res, 'POST /app/installations/{id}/access_tokens')) as {
      token?: unknown;
      expires_at?: unknown;
    };
    const expiresAt = typeof body.expires_at === 'string' ? Date.parse(body.expires_at) : Number.NaN;
    if (typeof body.token !== 'string' || Number.isNaN(expiresAt))
      throw new GitHubApiError('GitHub answered an installation token request without a token', 502);
    const cached = { token: body.token, expiresAt };
    this.tokens.set(id, cached);
    return cached;
  }

  private call(method: string, path: string, signal?: AbortSignal): Promise<Response> {
    return this.fetch(`${this.apiUrl}${path}`, {
      method,
      headers: {
        accept: 'application/vnd.github+json',
        authorization: `Bearer ${this.jwt()}`,
        'user-agent': 'codemesh',
        'x-github-api-version': '2022-11-28',
      },
      signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(30_000)]) : AbortSignal.timeout(30_000),
    });
  }

  private async ok(res: Response, where: string): Promise<unknown> {
    const text = await res.text();
    if (res.status === 401)
      throw new GitHubConfigError(
        `GitHub refused the App's signed token at ${where} (401): check CODEMESH_GITHUB_APP_ID and ${KEY_SETTING} (the key must be this App's)`,
      );
    if (!res.ok) {
      let message = '';
      try {
        message = String((JSON.parse(text) as { message?: unknown }).message ?? '');
      } catch {}
      throw new GitHubApiError(`GitHub ${where}: ${res.status} ${message.slice(0, 300)}`, res.status);
    }
    return JSON.parse(text) as unknown;
  }
}

const key = (r: RepoCoords) => `${r.owner}/${r.repo}`.toLowerCase();
const enc = encodeURIComponent;
