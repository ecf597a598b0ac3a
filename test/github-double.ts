// A GitHub REST (and one GraphQL mutation) test double on 127.0.0.1: the routes Octokit calls for codemesh, with
// GitHub's response shapes, every request recorded, and scripted failures (rate limits) for the next requests.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

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

export interface GitHubDouble {
  /** The API base URL (what `CODEMESH_GITHUB_API_URL` is set to); also the web root of issue URLs. */
  url: string;
  requests: RecordedRequest[];
  pulls: DoublePull[];
  setIssue(owner: string, repo: string, n: number, issue: DoubleIssue): void;
  /** The next `times` requests (of `method` + path prefix, if given) answer this status and headers instead. */
  failNext(f: { status: number; headers: Record<string, string>; times?: number; match?: string }): void;
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

async function readBody(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
}

export async function startGitHubDouble(opts: { defaultBranch?: string } = {}): Promise<GitHubDouble> {
  const requests: RecordedRequest[] = [];
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
      const body = await readBody(req);
      const method = req.method ?? 'GET';
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
