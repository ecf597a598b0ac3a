// `issue_url` in POST /v1/tasks against the loopback GitHub double: the issue's text becomes the task, the repo
// is the registered checkout whose remote names it, and every failure is a JSON error naming its cause.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createGitHub, gitHubSettingsFromEnv } from '../actors/integrator/github/index.ts';
import { git } from '../test/fixture-repo.ts';
import { type GitHubDouble, startGitHubDouble } from '../test/github-double.ts';
import { startTestGateway, type TestGateway } from './test-setup.ts';

let gh: GitHubDouble;
let t: TestGateway;
beforeAll(async () => {
  gh = await startGitHubDouble();
  gh.setIssue('acme', 'calc', 3, {
    title: 'subtract returns a + b',
    body: 'subtract(5, 3) is 8.',
    comments: [{ user: 'bob', body: 'It should be 2.' }],
  });
  gh.setIssue('acme', 'elsewhere', 1, { title: 'x', body: null, comments: [] });
  const github = createGitHub(
    gitHubSettingsFromEnv({
      CODEMESH_GITHUB_API_URL: gh.url,
      CODEMESH_GITHUB_TOKEN: 'ghp_intake0123456789abc',
    }),
  );
  t = await startTestGateway({ github });
  git(t.repoA, 'remote', 'add', 'origin', `${gh.url}/acme/calc.git`);
}, 60_000);
afterAll(async () => {
  await t?.stop();
  await gh?.close();
});

it('makes a task of the issue on the registered checkout whose remote is that repository, linking back', async () => {
  const alice = await t.jwt('alice');
  const url = `${gh.url}/acme/calc/issues/3`;
  const res = await t.call('POST', '/v1/tasks', alice, { issue_url: url });
  expect(res.status).toBe(201);
  const { task } = (await res.json()) as { task: { id: string; repo: string; issueUrl: string } };
  expect(task.repo).toBe(t.repoA);
  expect(task.issueUrl).toBe(url);
  const got = (await (await t.call('GET', `/v1/tasks/${task.id}`, alice)).json()) as {
    issueUrl: string;
    task: { request: { title: string; description: string; issueUrl: string } };
  };
  expect(got.issueUrl).toBe(url);
  expect(got.task.request.title).toBe('subtract returns a + b');
  expect(got.task.request.description).toBe(
    `subtract(5, 3) is 8.\n\nComment by @bob:\nIt should be 2.\n\nIssue: ${url}`,
  );
});

it('a bad issue URL is a 400 naming issue_url; another host too; nothing is read from GitHub', async () => {
  const alice = await t.jwt('alice');
  const before = gh.requests.length;
  for (const issue_url of [
    'not a url',
    `${gh.url}/acme/calc/pull/3`,
    'https://github.example.org/acme/calc/issues/3',
    42,
  ]) {
    const res = await t.call('POST', '/v1/tasks', alice, { issue_url });
    expect(res.status, String(issue_url)).toBe(400);
    const body = (await res.json()) as { error: { code: string; fields?: unknown; details?: unknown } };
    expect(JSON.stringify(body.error), String(issue_url)).toContain('"path":"issue_url"');
  }
  expect(gh.requests.length).toBe(before);
});

it('an issue GitHub does not have is 422 ISSUE_NOT_FOUND; a repository with no checkout is 422 REPO_NOT_RESOLVED', async () => {
  const alice = await t.jwt('alice');
  const missing = await t.call('POST', '/v1/tasks', alice, { issue_url: `${gh.url}/acme/calc/issues/404` });
  expect(missing.status).toBe(422);
  expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('ISSUE_NOT_FOUND');
  const none = await t.call('POST', '/v1/tasks', alice, { issue_url: `${gh.url}/acme/elsewhere/issues/1` });
  expect(none.status).toBe(422);
  const err = ((await none.json()) as { error: { code: string; message: string } }).error;
  expect(err.code).toBe('REPO_NOT_RESOLVED');
  expect(err.message).toContain('acme/elsewhere');
});

it('a caller of another org cannot start a task on the checkout the issue resolves to', async () => {
  const bob = await t.jwt('bob');
  const res = await t.call('POST', '/v1/tasks', bob, { issue_url: `${gh.url}/acme/calc/issues/3` });
  expect(res.status).toBe(403);
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe('REPO_NOT_REGISTERED');
});

it('with no webhook secret configured the webhook route refuses every delivery, signed or not', async () => {
  const res = await t.call('POST', '/v1/webhooks/github', undefined, '{"zen":"x"}', {
    'x-github-event': 'ping',
    'x-github-delivery': 'd-1',
    'x-hub-signature-256': 'sha256=00',
  });
  expect(res.status).toBe(503);
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe('WEBHOOK_NOT_CONFIGURED');
  expect(await t.mesh.board.keys('ghdelivery.>')).toEqual([]);
});
