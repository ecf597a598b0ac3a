// The Octokit client against the loopback GitHub double: issue text, pull requests, GraphQL ready, rate limits.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { IssueUrl } from '../../../schemas/index.ts';
import { type GitHubDouble, startGitHubDouble } from '../../../test/github-double.ts';
import {
  createGitHub,
  GitHubApiError,
  GitHubRateLimitError,
  gitHubSettingsFromEnv,
  issueTaskText,
  repoOfRemote,
} from './index.ts';

const TOKEN = 'ghp_testtoken0123456789abcdefABCDEF';
let gh: GitHubDouble;
beforeAll(async () => {
  gh = await startGitHubDouble();
  gh.setIssue('acme', 'calc', 7, {
    title: 'subtract is wrong',
    body: 'subtract(5, 3) returns 8.',
    comments: [{ user: 'bob', body: 'Also seen in 1.2.' }],
  });
});
afterAll(async () => gh?.close());

function client(env: Record<string, string> = {}) {
  const waits: number[] = [];
  const logs: string[] = [];
  const settings = gitHubSettingsFromEnv({
    CODEMESH_GITHUB_API_URL: gh.url,
    CODEMESH_GITHUB_TOKEN: TOKEN,
    ...env,
  });
  const github = createGitHub(settings, {
    sleep: async (ms) => void waits.push(ms),
    now: () => 1_800_000_000_000,
    log: (l) => logs.push(l),
  });
  return { github, waits, logs };
}

it('reads an issue with its comments, authenticated by the token, and makes it a task text', async () => {
  const { github } = client();
  const ref = IssueUrl.parse(`${gh.url}/acme/calc/issues/7`);
  const issue = await github.readIssue(ref);
  expect(issue).toMatchObject({ title: 'subtract is wrong', body: 'subtract(5, 3) returns 8.' });
  expect(issue.comments).toEqual([{ author: 'bob', body: 'Also seen in 1.2.' }]);
  const reqs = gh.requests.filter((r) => r.path.startsWith('/repos/acme/calc/issues/7'));
  expect(reqs.map((r) => r.path)).toEqual([
    '/repos/acme/calc/issues/7',
    '/repos/acme/calc/issues/7/comments',
  ]);
  expect(reqs.every((r) => r.authorization === `token ${TOKEN}`)).toBe(true);
  const text = issueTaskText(issue);
  expect(text.title).toBe('subtract is wrong');
  expect(text.description).toBe(
    `subtract(5, 3) returns 8.\n\nComment by @bob:\nAlso seen in 1.2.\n\nIssue: ${gh.url}/acme/calc/issues/7`,
  );
});

it('opens a draft pull request, labels it, asks reviewers, finds it again, and marks it ready over GraphQL', async () => {
  const { github } = client();
  const r = { owner: 'acme', repo: 'calc' };
  const pr = await github.openPullRequest(r, {
    title: 't',
    body: 'b',
    head: 'codemesh/t-1',
    base: 'main',
    draft: true,
  });
  expect(pr).toMatchObject({ draft: true, state: 'open', url: `${gh.url}/acme/calc/pull/${pr.number}` });
  await github.addLabels(r, pr.number, ['codemesh']);
  await github.requestReviewers(r, pr.number, ['carol']);
  expect(await github.findPullRequest(r, 'codemesh/t-1')).toMatchObject({ number: pr.number });
  expect(await github.findPullRequest(r, 'codemesh/none')).toBeUndefined();
  await github.markReady(pr);
  const stored = gh.pulls.find((p) => p.number === pr.number)!;
  expect(stored).toMatchObject({ draft: false, labels: ['codemesh'], requested_reviewers: ['carol'] });
  const gql = gh.requests.filter((q) => q.path === '/graphql');
  expect(gql.at(-1)?.body).toMatchObject({ variables: { id: pr.nodeId } });
  expect(String(gql.at(-1)?.body?.query)).toContain('markPullRequestReadyForReview');
});

it('works against a GitHub Enterprise root (/api/v3, GraphQL at /api/graphql)', async () => {
  const { github } = client({ CODEMESH_GITHUB_API_URL: `${gh.url}/api/v3`, CODEMESH_GITHUB_WEB_URL: gh.url });
  const before = gh.requests.length;
  expect(await github.defaultBranch({ owner: 'acme', repo: 'calc' })).toBe('main');
  const pr = await github.openPullRequest(
    { owner: 'acme', repo: 'calc' },
    { title: 't', body: 'b', head: 'codemesh/t-ghe', base: 'main', draft: true },
  );
  await github.markReady(pr);
  expect(gh.requests.slice(before).map((r) => r.rawPath)).toEqual([
    '/api/v3/repos/acme/calc',
    '/api/v3/repos/acme/calc/pulls',
    '/api/graphql',
  ]);
});

it('waits out a 429 with retry-after and a secondary 403 once, then succeeds', async () => {
  const { github, waits, logs } = client();
  gh.failNext({ status: 429, headers: { 'retry-after': '2' } });
  gh.failNext({ status: 403, headers: { 'retry-after': '1' } });
  const before = gh.requests.length;
  expect(await github.defaultBranch({ owner: 'acme', repo: 'calc' })).toBe('main');
  expect(waits).toEqual([2000, 1000]);
  expect(gh.requests.length - before).toBe(3);
  expect(logs.join('\n')).not.toContain(TOKEN);
});

it('waits until x-ratelimit-reset when the primary limit is spent, within the bound', async () => {
  const { github, waits } = client();
  gh.failNext({
    status: 403,
    headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(1_800_000_000 + 5) },
  });
  expect(await github.defaultBranch({ owner: 'acme', repo: 'calc' })).toBe('main');
  expect(waits).toEqual([6000]);
});

it('fails with GitHubRateLimitError when the reset is beyond the allowed wait, or retries run out', async () => {
  const { github, waits } = client({ CODEMESH_GITHUB_MAX_WAIT_S: '10' });
  gh.failNext({
    status: 403,
    headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(1_800_000_000 + 3600) },
  });
  const err = await github.defaultBranch({ owner: 'acme', repo: 'calc' }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(GitHubRateLimitError);
  expect((err as Error).message).toMatch(/resets in 3601 s, beyond the 10 s wait allowed/);
  expect(waits).toEqual([]);

  const two = client({ CODEMESH_GITHUB_MAX_RETRIES: '2' });
  gh.failNext({ status: 429, headers: { 'retry-after': '1' }, times: 3 });
  const e2 = await two.github.defaultBranch({ owner: 'acme', repo: 'calc' }).catch((e: unknown) => e);
  expect(e2).toBeInstanceOf(GitHubRateLimitError);
  expect(two.waits).toEqual([1000, 1000]);
});

it('a plain refusal is a GitHubApiError that names status and path, never the token', async () => {
  const { github } = client();
  const err = await github
    .readIssue(IssueUrl.parse(`${gh.url}/acme/calc/issues/999`))
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(GitHubApiError);
  expect((err as GitHubApiError).status).toBe(404);
  expect((err as Error).message).toContain('/repos/{owner}/{repo}/issues/{issue_number}');
  expect(JSON.stringify(err) + String((err as Error).stack)).not.toContain(TOKEN);
});

it('parses issue URLs and remotes on the configured host only', () => {
  expect(IssueUrl.safeParse('https://github.com/a/b/pull/1').success).toBe(false);
  expect(IssueUrl.safeParse('https://github.com/a/../issues/1').success).toBe(false);
  expect(IssueUrl.parse('https://GitHub.com/a/b/issues/12/')).toMatchObject({
    webUrl: 'https://github.com',
    url: 'https://github.com/a/b/issues/12',
    number: 12,
  });
  const s = gitHubSettingsFromEnv({});
  expect(s.webUrl).toBe('https://github.com');
  expect(repoOfRemote(s, 'git@github.com:acme/calc.git')).toEqual({ owner: 'acme', repo: 'calc' });
  expect(repoOfRemote(s, 'https://github.com/acme/calc')).toEqual({ owner: 'acme', repo: 'calc' });
  expect(repoOfRemote(s, 'https://gitlab.com/acme/calc.git')).toBeUndefined();
  const ghe = gitHubSettingsFromEnv({ CODEMESH_GITHUB_API_URL: 'https://ghe.example.com/api/v3' });
  expect(ghe.webUrl).toBe('https://ghe.example.com');
  expect(repoOfRemote(ghe, 'ssh://git@ghe.example.com/acme/calc.git')).toEqual({
    owner: 'acme',
    repo: 'calc',
  });
});

it('CODEMESH_GITHUB_ORGS: owner=org pairs, owners case-insensitive; a malformed or contradictory pair is refused', () => {
  expect(gitHubSettingsFromEnv({}).orgs).toBeUndefined();
  const s = gitHubSettingsFromEnv({ CODEMESH_GITHUB_ORGS: ' Acme = org-a , bobcorp=org-b,' });
  expect([...(s.orgs ?? [])]).toEqual([
    ['acme', 'org-a'],
    ['bobcorp', 'org-b'],
  ]);
  for (const bad of ['acme', 'acme=', '=org-a', 'acme=Org A', 'acme=org-a,ACME=org-b'])
    expect(() => gitHubSettingsFromEnv({ CODEMESH_GITHUB_ORGS: bad }), bad).toThrow(/CODEMESH_GITHUB_ORGS/);
});
