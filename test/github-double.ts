// A GitHub REST (and one GraphQL mutation) test double on 127.0.0.1: the routes Octokit calls for codemesh, with
// GitHub's response shapes, every request recorded, and scripted failures (rate limits) for the next requests.
// Optionally a GitHub App (JWTs verified with the App's public key, installation tokens that expire by the
// double's clock) and git's smart HTTP over bare repositories (`git http-backend`), for clones.
import { spawn } from 'node:child_process';
import { randomBytes, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify } from 'jose';

export interface RecordedRequest {
  method: string;
  /** The path without GitHub Enterprise's `/api/v3` prefix (`rawPath` keeps it). */
  path: string;
  rawPath: string;
  query: Record<string, string>;
  authorization?: string;
  body: Record<string, unknown> | undefined;
}

export interface DoubleIssue {
  title: string;
  body: string | null;
  comments: Array<{ user: string; body: string }>;
  labels?: string[];
}

export interface DoublePull {
  number: number;
  node_id: string;
  owner: string;
  repo: string;
  title: string;
  body: string;
  head: string;
  base: string;
  draft: boolean;
  state: 'open' | 'closed';
  merged: boolean;
  labels: string[];
  requested_reviewers: string[];
}

export interface DoubleApp {
  appId: string;
  /** The App's public key: an App JWT signed with any other key is refused (401). */
  publicKey: KeyObject;
  /** `owner/repo` → installation id (what `GET /repos/{o}/{r}/installation` answers). */
  installations: Record<string, number>;
  /** Lifetime of an installation token (GitHub's is one hour). */
  tokenTtlMs?: number;
  /** The double's clock, for token expiry. */
  now?: () => number;
}

export interface IssuedToken {
  token: string;
  installationId: number;
  expiresAt: number;
  revoked: boolean;
}

export interface GitHubDouble {
  /** The API base URL (what `CODEMESH_GITHUB_API_URL` is set to); also the web root of issue URLs. */
  url: string;
  requests: RecordedRequest[];
  pulls: DoublePull[];
  setIssue(owner: string, repo: string, n: number, issue: DoubleIssue): void;
  /** The next `times` requests (of `method` + path prefix, if given) answer this status and headers instead. */
  failNext(f: { status: number; headers: Record<string, string>; times?: number; match?: string }): void;
  /** The App is (re)installed on `owner/repo` as installation `id` (with `app`). */
  setInstallation(repo: string, id: number): void;
  /** Installation tokens minted so far (with `app`); revoke one to make GitHub answer 401 to it. */
  tokens: IssuedToken[];
  /** Requests to the git smart HTTP routes (`/<owner>/<repo>.git/...`), with their Authorization header. */
  gitRequests: Array<{ method: string; path: string; authorization?: string }>;
  close(): Promise<void>;
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'x-ratelimit-limit': '5000',
    'x-ratelimit-remaining': '4999',
    ...headers,
  });
  res.end(JSON.stringify(body));
};

async function readRaw(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const text = (await readRaw(req)).toString('utf8');
  return text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
}

/** `git http-backend` as a CGI program over the bare repositories under `root` (`<owner>/<repo>.git`). */
async function gitHttp(
  root: string,
  req: IncomingMessage,
  res: ServerResponse,
  u: URL,
  push = false,
): Promise<void> {
  const input = await readRaw(req);
  const child = spawn('git', ['http-backend'], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: root,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: decodeURIComponent(u.pathname),
      REQUEST_METHOD: req.method ?? 'GET',
      QUERY_STRING: u.search.slice(1),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      CONTENT_LENGTH: String(input.length),
      REMOTE_ADDR: '127.0.0.1',
      // http-backend serves receive-pack to an authenticated user only.
      ...(push ? { REMOTE_USER: 'x-access-token' } : {}),
      ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] } : {}),
      ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
    },
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  child.stdin.on('error', () => {});
  child.stdin.end(input);
  const out: Buffer[] = [];
  for await (const c of child.stdout) out.push(c as Buffer);
  const all = Buffer.concat(out);
  const split = all.indexOf('\r\n\r\n');
  const head = split < 0 ? '' : all.subarray(0, split).toString('latin1');
  const headers: Record<string, string> = {};
  let status = 200;
  for (const line of head.split('\r\n')) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const name = line.slice(0, i).trim();
    const value = line.slice(i + 1).trim();
    if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
    else headers[name] = value;
  }
  res.writeHead(status, headers);
  res.end(split < 0 ? all : all.subarray(split + 4));
}

export async function startGitHubDouble(
  opts: { defaultBranch?: string; app?: DoubleApp; gitRoot?: string; pushToken?: string } = {},
): Promise<GitHubDouble> {
  const requests: RecordedRequest[] = [];
  const tokens: IssuedToken[] = [];
  const gitRequests: GitHubDouble['gitRequests'] = [];
  const app = opts.app;
  const clock = () => (app?.now ?? Date.now)();
  /** Whether an installation token GitHub issued, unexpired and unrevoked, is `t` (`token x` or basic auth). */
  const validToken = (authorization: string | undefined): boolean => {
    if (!authorization) return false;
    let t = /^(?:token|bearer) (.+)$/i.exec(authorization)?.[1];
    const basic = /^basic (.+)$/i.exec(authorization)?.[1];
    if (basic) t = Buffer.from(basic, 'base64').toString('utf8').split(':').slice(1).join(':');
    const found = tokens.find((x) => x.token === t);
    return !!found && !found.revoked && clock() < found.expiresAt;
  };
  /** The token a push over HTTP must carry when the double is not an App (`opts.pushToken`). */
  const pushTokenOk = (authorization: string | undefined): boolean => {
    const basic = /^basic (.+)$/i.exec(authorization ?? '')?.[1];
    if (!opts.pushToken || !basic) return false;
    return Buffer.from(basic, 'base64').toString('utf8').split(':').slice(1).join(':') === opts.pushToken;
  };
  /** An App JWT: signed with the App's key, issued by the App, at most ten minutes (plus a minute's skew). */
  const validJwt = async (authorization: string | undefined): Promise<boolean> => {
    const jwt = /^bearer (.+)$/i.exec(authorization ?? '')?.[1];
    if (!app || !jwt) return false;
    try {
      const { payload } = await jwtVerify(jwt, app.publicKey, {
        algorithms: ['RS256'],
        issuer: app.appId,
        currentDate: new Date(clock()),
      });
      return (
        typeof payload.exp === 'number' && typeof payload.iat === 'number' && payload.exp - payload.iat <= 660
      );
    } catch {
      return false;
    }
  };
  const unauthorized = (res: ServerResponse) =>
    json(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
  const issues = new Map<string, DoubleIssue>();
  const pulls: DoublePull[] = [];
  const failures: Array<{ status: number; headers: Record<string, string>; times: number; match?: string }> =
    [];
  let nextNumber = 100;
  let base = '';

  const user = (login: string) => ({ login, id: 1, type: 'User' });
  const pullJson = (p: DoublePull) => ({
    id: p.number * 10,
    node_id: p.node_id,
    number: p.number,
    url: `${base}/repos/${p.owner}/${p.repo}/pulls/${p.number}`,
    html_url: `${base}/${p.owner}/${p.repo}/pull/${p.number}`,
    state: p.state,
    draft: p.draft,
    merged: p.merged,
    title: p.title,
    body: p.body,
    head: { ref: p.head, label: `${p.owner}:${p.head}` },
    base: { ref: p.base, label: `${p.owner}:${p.base}` },
    labels: p.labels.map((name) => ({ name })),
    requested_reviewers: p.requested_reviewers.map(user),
  });

  const server = createServer((req, res) => {
    void (async () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const method = req.method ?? 'GET';
      // git's smart HTTP: /<owner>/<repo>.git/info/refs, /git-upload-pack and (with `pushToken` or an App)
      // /git-receive-pack — a push needs a valid token always.
      if (/^\/[^/]+\/[^/]+\.git\/(info\/refs|git-upload-pack|git-receive-pack)$/.test(u.pathname)) {
        gitRequests.push({ method, path: u.pathname, authorization: req.headers.authorization });
        const push =
          u.searchParams.get('service') === 'git-receive-pack' || u.pathname.endsWith('receive-pack');
        if (!opts.gitRoot || (push && !app && !opts.pushToken))
          return json(res, 404, { message: 'Not Found' });
        const authorized = validToken(req.headers.authorization) || pushTokenOk(req.headers.authorization);
        if ((app || push) && !authorized) {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="GitHub"' });
          return res.end();
        }
        return gitHttp(opts.gitRoot, req, res, u, push);
      }
      const body = await readBody(req);
      // GitHub Enterprise Server's roots: REST under /api/v3, GraphQL at /api/graphql.
      const path = u.pathname.replace(/^\/api\/v3(?=\/)/, '').replace(/^\/api\/graphql$/, '/graphql');
      requests.push({
        rawPath: u.pathname,
        method,
        path,
        query: Object.fromEntries(u.searchParams),
        authorization: req.headers.authorization,
        body,
      });
      const f = failures[0];
      if (f && (!f.match || `${method} ${path}`.startsWith(f.match))) {
        if (--f.times <= 0) failures.shift();
        return json(
          res,
          f.status,
          {
            message:
              f.status === 429 || f.headers['x-ratelimit-remaining'] === '0'
                ? 'API rate limit exceeded'
                : 'You have exceeded a secondary rate limit.',
            documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
          },
          f.headers,
        );
      }
      if (method === 'POST' && path === '/graphql') {
        const q = String(body?.query ?? '');
        const id = String((body?.variables as { id?: string } | undefined)?.id ?? '');
        const p = pulls.find((x) => x.node_id === id);
        if (!q.includes('markPullRequestReadyForReview') || !p)
          return json(res, 200, { data: null, errors: [{ type: 'NOT_FOUND', message: `no node ${id}` }] });
        p.draft = false;
        return json(res, 200, {
          data: { markPullRequestReadyForReview: { pullRequest: { isDraft: false, number: p.number } } },
        });
      }
      let m = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(path);
      if (app && m && m[3] === '/installation' && method === 'GET') {
        if (!(await validJwt(req.headers.authorization))) return unauthorized(res);
        const id = app.installations[`${m[1]}/${m[2]}`];
        return id === undefined
          ? json(res, 404, { message: 'Not Found' })
          : json(res, 200, { id, app_id: Number(app.appId), account: user(m[1]!) });
      }
      const mint = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(path);
      if (app && mint && method === 'POST') {
        if (!(await validJwt(req.headers.authorization))) return unauthorized(res);
        const installationId = Number(mint[1]);
        if (!Object.values(app.installations).includes(installationId))
          return json(res, 404, { message: 'Not Found' });
        const t: IssuedToken = {
          token: `ghs_${randomBytes(18).toString('base64url')}`,
          installationId,
          expiresAt: clock() + (app.tokenTtlMs ?? 3_600_000),
          revoked: false,
        };
        tokens.push(t);
        return json(res, 201, {
          token: t.token,
          expires_at: new Date(t.expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
          permissions: { issues: 'write', pull_requests: 'write', contents: 'write' },
        });
      }
      // With an App, every other route needs an installation token GitHub issued (unexpired, unrevoked).
      if (app && !validToken(req.headers.authorization)) return unauthorized(res);
      if (!m) return json(res, 404, { message: 'Not Found' });
      const [, owner, repo, rest = ''] = m as unknown as [string, string, string, string | undefined];
      if (method === 'GET' && rest === '')
        return json(res, 200, {
          name: repo,
          full_name: `${owner}/${repo}`,
          default_branch: opts.defaultBranch ?? 'main',
        });
      m = /^\/issues\/(\d+)(\/comments|\/labels)?$/.exec(rest);
      if (m) {
        const n = Number(m[1]);
        const issue = issues.get(`${owner}/${repo}#${n}`);
        const pull = pulls.find((p) => p.owner === owner && p.repo === repo && p.number === n);
        if (method === 'GET' && !m[2] && issue)
          return json(res, 200, {
            number: n,
            title: issue.title,
            body: issue.body,
            state: 'open',
            html_url: `${base}/${owner}/${repo}/issues/${n}`,
            user: user('reporter'),
            labels: (issue.labels ?? []).map((name) => ({ name })),
            comments: issue.comments.length,
          });
        if (method === 'GET' && m[2] === '/comments' && issue) {
          const per = Number(u.searchParams.get('per_page') ?? 30);
          const page = Number(u.searchParams.get('page') ?? 1);
          return json(
            res,
            200,
            issue.comments
              .slice((page - 1) * per, page * per)
              .map((c, i) => ({ id: i + 1, body: c.body, user: user(c.user) })),
          );
        }
        if (method === 'POST' && m[2] === '/labels' && pull) {
          for (const l of (body?.labels as string[]) ?? []) if (!pull.labels.includes(l)) pull.labels.push(l);
          return json(
            res,
            200,
            pull.labels.map((name) => ({ name })),
          );
        }
        return json(res, 404, { message: 'Not Found' });
      }
      if (rest === '/pulls' && method === 'POST') {
        const head = String(body?.head ?? '');
        if (pulls.some((p) => p.owner === owner && p.repo === repo && p.head === head && p.state === 'open'))
          return json(res, 422, {
            message: 'Validation Failed',
            errors: [
              {
                resource: 'PullRequest',
                code: 'custom',
                message: `A pull request already exists for ${owner}:${head}.`,
              },
            ],
          });
        const p: DoublePull = {
          number: ++nextNumber,
          node_id: `PR_node${nextNumber}`,
          owner,
          repo,
          title: String(body?.title ?? ''),
          body: String(body?.body ?? ''),
          head,
          base: String(body?.base ?? ''),
          draft: body?.draft === true,
          state: 'open',
          merged: false,
          labels: [],
          requested_reviewers: [],
        };
        pulls.push(p);
        return json(res, 201, pullJson(p));
      }
      if (rest === '/pulls' && method === 'GET') {
        const head = u.searchParams.get('head');
        const state = u.searchParams.get('state') ?? 'open';
        return json(
          res,
          200,
          pulls
            .filter((p) => p.owner === owner && p.repo === repo)
            .filter((p) => !head || `${p.owner}:${p.head}` === head)
            .filter((p) => state === 'all' || p.state === state)
            .map(pullJson),
        );
      }
      m = /^\/pulls\/(\d+)(\/requested_reviewers)?$/.exec(rest);
      const p = m && pulls.find((x) => x.owner === owner && x.repo === repo && x.number === Number(m![1]));
      if (m && p) {
        if (method === 'GET' && !m[2]) return json(res, 200, pullJson(p));
        if (method === 'PATCH' && !m[2]) {
          // GitHub's update endpoint takes title, body, state, base; `draft` is not one of its parameters.
          if (typeof body?.title === 'string') p.title = body.title;
          if (typeof body?.body === 'string') p.body = body.body;
          if (body?.state === 'closed' || body?.state === 'open') p.state = body.state;
          return json(res, 200, pullJson(p));
        }
        if (method === 'POST' && m[2]) {
          for (const r of (body?.reviewers as string[]) ?? [])
            if (!p.requested_reviewers.includes(r)) p.requested_reviewers.push(r);
          return json(res, 201, pullJson(p));
        }
      }
      return json(res, 404, { message: 'Not Found' });
    })().catch((err: unknown) => json(res, 500, { message: String(err) }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    requests,
    pulls,
    tokens,
    gitRequests,
    setInstallation(repo, id) {
      if (app) app.installations[repo] = id;
    },
    setIssue(owner, repo, n, issue) {
      issues.set(`${owner}/${repo}#${n}`, issue);
    },
    failNext(f) {
      failures.push({ ...f, times: f.times ?? 1 });
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
