// The whole mesh as a GitHub App (no token configured): the gateway's intake and the Integrator's publisher mint
// installation tokens from the App's key (the double verifies the JWT with the App's public key), look the
// installation up for the repository, and open, update and mark ready the pull request with them; no token
// reaches an event.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createGitHub, gitHubSettingsFromEnv } from '../actors/integrator/github/index.ts';
import { git, makeFixtureRepo } from './fixture-repo.ts';
import { type GitHubDouble, startGitHubDouble } from './github-double.ts';
import { type Harness, startHarness } from './harness.ts';
import type { Script } from './scripted-llm/index.ts';
import { subtractCoder, USAGE } from './ts-calc-answers.ts';

const PLAN = {
  summary: 'Fix subtract in the calculator',
  subtasks: [
    {
      id: 'fix',
      title: 'Make subtract return a - b',
      successCriteria: ['subtract(5, 3) == 2'],
      files: ['src/calc.ts'],
    },
  ],
  risks: ['callers may rely on the old sum'],
};
const REVIEW = {
  usage: USAGE,
  content: JSON.stringify({
    decision: 'approve',
    confidence: 0.87,
    critique: 'Correct fix of the sign.',
    risks: [{ level: 'medium', note: 'subtract is exported and used by other modules' }],
  }),
};
const script: Script = (req) => {
  if (req.roleHint === 'planner') return { usage: USAGE, content: JSON.stringify(PLAN) };
  if (req.roleHint === 'reviewer') return REVIEW;
  return subtractCoder(req);
};

let gh: GitHubDouble;
let h: Harness;
let repo: string;
let bare: string;

beforeAll(async () => {
  const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const root = mkdtempSync(join(tmpdir(), 'codemesh-ghapp-'));
  const keyFile = join(root, 'app.pem');
  writeFileSync(keyFile, key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
  gh = await startGitHubDouble({
    app: { appId: '31337', publicKey: key.publicKey, installations: { 'acme/calc': 12 } },
  });
  repo = makeFixtureRepo('ts-calc', root);
  bare = join(root, 'calc.git');
  git(root, 'init', '-q', '--bare', bare);
  git(repo, 'remote', 'add', 'origin', `${gh.url}/acme/calc.git`);
  git(repo, 'remote', 'set-url', '--push', 'origin', `file://${bare}`);
  git(repo, 'push', '-q', `file://${bare}`, 'main');
  gh.setIssue('acme', 'calc', 5, {
    title: 'subtract adds instead of subtracting',
    body: 'subtract(5, 3) returns 8, expected 2.',
    comments: [],
  });
  const env = {
    CODEMESH_GITHUB_API_URL: gh.url,
    CODEMESH_GITHUB_APP_ID: '31337',
    CODEMESH_GITHUB_APP_PRIVATE_KEY_FILE: keyFile,
    CODEMESH_GITHUB_REPOS: `acme/calc=${repo}`,
  };
  h = await startHarness({ env, github: createGitHub(gitHubSettingsFromEnv(env)) });
  h.setScript(script);
}, 120_000);
afterAll(async () => {
  await h?.stop();
  await gh?.close();
});

async function until<T>(
  what: string,
  f: () => T | undefined | Promise<T | undefined>,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

it('issue → draft pull request → approve → ready, every call with an installation token the App minted', {
  timeout: 300_000,
}, async () => {
  const issueUrl = `${gh.url}/acme/calc/issues/5`;
  const created = await h.api('/v1/tasks', {
    method: 'POST',
    body: JSON.stringify({ issue_url: issueUrl, config: { push: true } }),
  });
  expect(created.status).toBe(201);
  const { task } = (await created.json()) as { task: { id: string; repo: string } };
  expect(task.repo).toBe(repo);
  const id = task.id;
  const branch = `codemesh/${id}`;
  await h.waitForStatus(id, 'awaiting_approval', 180_000);
  const pr = await until('the draft pull request', () => gh.pulls.find((p) => p.head === branch));
  expect(pr).toMatchObject({ draft: true, owner: 'acme', repo: 'calc' });
  const approved = await h.api(`/v1/patches/${id}-p1/approve`, {
    method: 'POST',
    body: JSON.stringify({ decision: 'approve' }),
  });
  expect(approved.status).toBe(202);
  await h.waitForStatus(id, 'completed', 120_000);
  await until('the pull request marked ready', () => !pr.draft || undefined);
  expect(
    execFileSync('git', ['rev-parse', `refs/heads/${branch}`], { cwd: bare, encoding: 'utf8' }).trim(),
  ).toBe(git(repo, 'rev-parse', branch));

  // The gateway and the Integrator each looked the installation up and minted their own token (no more: the
  // tokens were reused), and every other request carried one of them.
  expect(gh.tokens.length).toBeGreaterThanOrEqual(1);
  expect(gh.tokens.length).toBeLessThanOrEqual(2);
  expect(gh.tokens.every((t) => t.installationId === 12)).toBe(true);
  const minted = new Set(gh.tokens.map((t) => `token ${t.token}`));
  const app = (p: string) => p.startsWith('/app/') || p.endsWith('/installation');
  const calls = gh.requests.filter((r) => !app(r.path));
  expect(calls.some((r) => r.path === '/graphql')).toBe(true);
  for (const r of calls) expect(minted.has(r.authorization ?? ''), `${r.method} ${r.path}`).toBe(true);
  for (const r of gh.requests.filter((x) => app(x.path))) expect(r.authorization).toMatch(/^Bearer /);
  const events = JSON.stringify(await h.client.bus.history(id));
  for (const t of gh.tokens) expect(events).not.toContain(t.token);
  expect(events).not.toContain('Bearer');
});
