// A push of codemesh/<task> to GitHub over HTTPS carries the configured token, or the App's installation token
// of the pushed repository, as a header scoped to the GitHub host (through git's environment, never in the
// repository's config); another host gets nothing. Against the GitHub double's git smart HTTP.
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git } from '../../../test/fixture-repo.ts';
import { type GitHubDouble, startGitHubDouble } from '../../../test/github-double.ts';
import { pushBranch } from '../git-integrate.ts';
import { createGitHub, gitHubSettingsFromEnv } from './index.ts';
import { envPushAuth, gitHubPushAuth, repoOfUrl } from './push-auth.ts';

describe('repoOfUrl', () => {
  it('names owner/repo of a URL on the GitHub host only', () => {
    const web = 'https://github.example.com';
    expect(repoOfUrl('https://github.example.com/acme/widget.git', web)).toEqual({
      owner: 'acme',
      repo: 'widget',
    });
    expect(repoOfUrl('https://github.example.com/acme/widget', web)).toEqual({
      owner: 'acme',
      repo: 'widget',
    });
    expect(repoOfUrl('https://evil.example.com/acme/widget.git', web)).toBeUndefined();
    expect(repoOfUrl('http://github.example.com/acme/widget.git', web)).toBeUndefined();
    expect(repoOfUrl('https://user:pw@github.example.com/acme/widget.git', web)).toBeUndefined();
    expect(repoOfUrl('git@github.example.com:acme/widget.git', web)).toBeUndefined();
    expect(repoOfUrl('/srv/git/widget.git', web)).toBeUndefined();
    expect(repoOfUrl('https://github.example.com/acme/widget/extra.git', web)).toBeUndefined();
  });
});

const gitRoot = mkdtempSync(join(tmpdir(), 'codemesh-push-git-'));
let app: GitHubDouble;
let pat: GitHubDouble;
let keyFile: string;

/** A bare `acme/widget.git` under `root`, and a checkout of it with a codemesh/* branch one commit ahead. */
function checkoutWithBranch(remoteUrl: string, root: string, name: string): string {
  const work = mkdtempSync(join(tmpdir(), 'codemesh-push-work-'));
  git(work, 'init', '-q', '-b', 'main');
  writeFileSync(join(work, 'calc.py'), 'def sub(a, b):\n    return a + b\n');
  git(work, 'add', '-A');
  git(work, '-c', 'user.name=Dev', '-c', 'user.email=dev@example.com', 'commit', '-q', '-m', 'initial');
  mkdirSync(join(root, 'acme'), { recursive: true });
  git(root, 'clone', '-q', '--bare', work, join(root, 'acme', `${name}.git`));
  git(work, 'checkout', '-q', '-b', 'codemesh/t-push');
  writeFileSync(join(work, 'calc.py'), 'def sub(a, b):\n    return a - b\n');
  git(work, '-c', 'user.name=Dev', '-c', 'user.email=dev@example.com', 'commit', '-qam', 'fix');
  git(work, 'remote', 'add', 'origin', remoteUrl);
  return work;
}

beforeAll(async () => {
  const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
  keyFile = join(mkdtempSync(join(tmpdir(), 'codemesh-push-key-')), 'app.pem');
  writeFileSync(keyFile, key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  app = await startGitHubDouble({
    gitRoot,
    app: { appId: '77', publicKey: key.publicKey, installations: { 'acme/widget': 3 } },
  });
  const patRoot = mkdtempSync(join(tmpdir(), 'codemesh-push-git-pat-'));
  pat = await startGitHubDouble({ gitRoot: patRoot, pushToken: 'ghp_pushtoken123' });
  (pat as GitHubDouble & { root?: string }).root = patRoot;
}, 60_000);
afterAll(async () => {
  await app?.close();
  await pat?.close();
});

it("pushes over HTTPS as the App (the repository's installation token); without it the push is refused", async () => {
  const work = checkoutWithBranch(`${app.url}/acme/widget.git`, gitRoot, 'widget');
  const bare = join(gitRoot, 'acme', 'widget.git');
  const refused = await pushBranch(work, 'codemesh/t-push');
  expect(refused.pushed).toBe(false);
  const settings = gitHubSettingsFromEnv({
    CODEMESH_GITHUB_API_URL: app.url,
    CODEMESH_GITHUB_APP_ID: '77',
    CODEMESH_GITHUB_APP_PRIVATE_KEY_FILE: keyFile,
  });
  const pushed = await pushBranch(work, 'codemesh/t-push', { auth: gitHubPushAuth(createGitHub(settings)) });
  expect(pushed, pushed.error).toEqual({ pushed: true, remote: 'origin' });
  expect(git(bare, 'rev-parse', 'refs/heads/codemesh/t-push')).toBe(git(work, 'rev-parse', 'HEAD'));
  // The token reached git through its environment only: nothing in the checkout's config.
  expect(readFileSync(join(work, '.git', 'config'), 'utf8')).not.toMatch(/extraheader|authorization/i);
});

it('pushes with CODEMESH_GITHUB_TOKEN from the environment; a wrong token fails without echoing it', async () => {
  const root = (pat as GitHubDouble & { root: string }).root;
  const work = checkoutWithBranch(`${pat.url}/acme/widget.git`, root, 'widget');
  const env = { CODEMESH_GITHUB_API_URL: pat.url, CODEMESH_GITHUB_TOKEN: 'ghp_pushtoken123' };
  const pushed = await pushBranch(work, 'codemesh/t-push', { auth: envPushAuth(env) });
  expect(pushed, pushed.error).toMatchObject({ pushed: true });
  const wrong = await pushBranch(work, 'codemesh/t-push', {
    auth: envPushAuth({ ...env, CODEMESH_GITHUB_TOKEN: 'ghp_wrongtoken456' }),
  });
  expect(wrong.pushed).toBe(false);
  expect(wrong.error ?? '').not.toContain('ghp_wrongtoken456');
  // No GitHub configured: no credential at all.
  expect(envPushAuth({})).toBeUndefined();
});

it('a remote on another host gets no credential', async () => {
  const github = createGitHub(
    gitHubSettingsFromEnv({ CODEMESH_GITHUB_API_URL: pat.url, CODEMESH_GITHUB_TOKEN: 'ghp_pushtoken123' }),
  );
  const auth = gitHubPushAuth(github);
  expect(await auth(['http://127.0.0.1:9/acme/widget.git', '/srv/widget.git'])).toBeUndefined();
  expect(await auth([`${pat.url}/acme/widget.git`])).toMatchObject({ origin: new URL(pat.url).origin });
});
