// Issue intake of a repository no registered checkout has: an org admin's intake clones it over HTTP from the
// GitHub double (git's smart HTTP, authenticated with the App's installation token), hardened and bounded, and
// registers it in the caller's org; a second intake reuses it; owners off the allow list, non-admins, a clone
// root outside the allowed roots, a too large or too slow clone and a missing repository clone nothing.
import { generateKeyPairSync } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  createGitHub,
  type GitHubSettings,
  gitHubSettingsFromEnv,
} from '../actors/integrator/github/index.ts';
import { git } from '../test/fixture-repo.ts';
import { type GitHubDouble, startGitHubDouble } from '../test/github-double.ts';
import { startTestGateway, type TestGateway } from './test-setup.ts';

let gh: GitHubDouble;
let t: TestGateway;
let settings: GitHubSettings;
let cloneRoot: string;
const gitRoot = mkdtempSync(join(tmpdir(), 'codemesh-ghgit-'));

/** A bare repository `<gitRoot>/acme/<name>.git` with a submodule entry, an attribute naming a filter, a symlink. */
function remoteRepo(name: string, extra: Record<string, string> = {}): string {
  const work = mkdtempSync(join(tmpdir(), 'codemesh-src-'));
  git(work, 'init', '-q', '-b', 'main');
  writeFileSync(join(work, 'calc.ts'), 'export const sub = (a: number, b: number) => a + b;\n');
  writeFileSync(join(work, '.gitattributes'), '*.ts filter=lfs diff=lfs merge=lfs\n');
  writeFileSync(join(work, '.gitmodules'), '[submodule "vendor"]\n\tpath = vendor\n\turl = file:///etc\n');
  for (const [f, text] of Object.entries(extra)) writeFileSync(join(work, f), text);
  git(work, 'add', '-A');
  git(work, 'update-index', '--add', '--cacheinfo', `160000,${'1'.repeat(40)},vendor`);
  git(work, '-c', 'user.name=Dev', '-c', 'user.email=dev@example.com', 'commit', '-q', '-m', 'initial');
  const bare = join(gitRoot, 'acme', `${name}.git`);
  mkdirSync(join(gitRoot, 'acme'), { recursive: true });
  git(gitRoot, 'clone', '-q', '--bare', work, bare);
  return bare;
}

beforeAll(async () => {
  const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyFile = join(mkdtempSync(join(tmpdir(), 'codemesh-app-key-')), 'app.pem');
  writeFileSync(keyFile, key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  remoteRepo('widget');
  remoteRepo('big', { 'blob.txt': 'x'.repeat(300_000) });
  remoteRepo('twin');
  gh = await startGitHubDouble({
    gitRoot,
    app: {
      appId: '99',
      publicKey: key.publicKey,
      installations: {
        'acme/widget': 5,
        'acme/big': 5,
        'acme/ghost': 5,
        'acme/gadget': 5,
        'acme/twin': 5,
        'evil/widget': 6,
      },
    },
  });
  for (const [owner, repo] of [
    ['acme', 'widget'],
    ['acme', 'big'],
    ['acme', 'ghost'],
    ['acme', 'gadget'],
    ['acme', 'twin'],
    ['evil', 'widget'],
  ] as const)
    gh.setIssue(owner, repo, 5, { title: `${repo} is wrong`, body: 'sub adds.', comments: [] });
  settings = gitHubSettingsFromEnv({
    CODEMESH_GITHUB_API_URL: gh.url,
    CODEMESH_GITHUB_APP_ID: '99',
    CODEMESH_GITHUB_APP_PRIVATE_KEY_FILE: keyFile,
    CODEMESH_GITHUB_CLONE_ROOT: '/placeholder',
    CODEMESH_GITHUB_CLONE_OWNERS: 'Acme',
  });
  t = await startTestGateway({ github: createGitHub(settings) });
  // The clone root lies under the gateway's allowed repository root (made by the test gateway).
  cloneRoot = join(t.repoRoot, 'github');
  mkdirSync(cloneRoot);
  settings.clone!.root = cloneRoot;
}, 60_000);
afterAll(async () => {
  await t?.stop();
  await gh?.close();
});

const issue = (owner: string, repo: string) => `${gh.url}/${owner}/${repo}/issues/5`;
const errorOf = async (res: Response) =>
  ((await res.json()) as { error: { code: string; message: string } }).error;
const leftovers = () => (existsSync(join(cloneRoot, 'acme')) ? readdirSync(join(cloneRoot, 'acme')) : []);

it("clones an unregistered repository for an org admin, hardened, over the App's token, and registers it in that org", async () => {
  const alice = await t.jwt('alice');
  const res = await t.call('POST', '/v1/tasks', alice, { issue_url: issue('acme', 'widget'), org: 'org-a' });
  expect(res.status, await res.clone().text()).toBe(201);
  const { task } = (await res.json()) as { task: { repo: string; repository: { name: string } } };
  const dest = join(realpathSync(cloneRoot), 'acme', 'widget');
  expect(task.repo).toBe(dest);
  expect(task.repository.name).toBe('widget');
  // Checked out; the attribute's filter ran nothing (no driver), the submodule was not fetched.
  expect(readFileSync(join(dest, 'calc.ts'), 'utf8')).toContain('a + b');
  expect(readdirSync(join(dest, 'vendor'))).toEqual([]);
  expect(existsSync(join(dest, '.git', 'modules'))).toBe(false);
  // No hooks (an empty template), and the stored remote is the plain URL: no credential anywhere in the config.
  const hooks = join(dest, '.git', 'hooks');
  expect(existsSync(hooks) ? readdirSync(hooks) : []).toEqual([]);
  const config = readFileSync(join(dest, '.git', 'config'), 'utf8');
  expect(config).toContain(`url = ${gh.url}/acme/widget.git`);
  expect(config).not.toMatch(/authorization|extraheader|ghs_|x-access-token/i);
  // Every git request carried the installation token, as basic auth; the double refuses any other.
  const calls = gh.gitRequests.filter((r) => r.path.startsWith('/acme/widget.git/'));
  expect(calls.length).toBeGreaterThanOrEqual(2);
  const token = gh.tokens.find((x) => x.installationId === 5)!.token;
  for (const c of calls)
    expect(Buffer.from(c.authorization!.replace(/^Basic /, ''), 'base64').toString()).toBe(
      `x-access-token:${token}`,
    );
  // Registered in alice's org, audited as a clone.
  const repos = (await (await t.call('GET', '/v1/repos', alice)).json()) as {
    items: Array<{ orgId: string; path: string }>;
  };
  expect(repos.items.find((r) => r.path === dest)?.orgId).toBe('org-a');
  expect(leftovers()).toEqual(['widget']);
  expect(lstatSync(join(dest, '.git')).isDirectory()).toBe(true);
});

it('a second intake of that repository reuses the checkout: nothing is fetched again', async () => {
  const alice = await t.jwt('alice');
  const before = gh.gitRequests.length;
  const res = await t.call('POST', '/v1/tasks', alice, { issue_url: issue('acme', 'widget') });
  expect(res.status).toBe(201);
  expect(((await res.json()) as { task: { repo: string } }).task.repo).toBe(
    join(realpathSync(cloneRoot), 'acme', 'widget'),
  );
  expect(gh.gitRequests.length).toBe(before);
  // Another org's admin may not use (or re-clone) what org-a registered.
  const bob = await t.jwt('bob');
  const other = await t.call('POST', '/v1/tasks', bob, { issue_url: issue('acme', 'widget'), org: 'org-b' });
  expect(other.status).toBe(403);
  expect(gh.gitRequests.length).toBe(before);
});

it('an owner off the allow list, or a caller who is not admin of the org named, clones nothing', async () => {
  const alice = await t.jwt('alice');
  const bob = await t.jwt('bob');
  const before = gh.gitRequests.length;
  const off = await t.call('POST', '/v1/tasks', alice, { issue_url: issue('evil', 'widget'), org: 'org-a' });
  expect(off.status).toBe(422);
  const offErr = await errorOf(off);
  expect(offErr.code).toBe('REPO_NOT_RESOLVED');
  expect(offErr.message).toContain('CODEMESH_GITHUB_CLONE_OWNERS');
  const noOrg = await t.call('POST', '/v1/tasks', bob, { issue_url: issue('acme', 'gadget') });
  expect(noOrg.status).toBe(403);
  expect((await errorOf(noOrg)).code).toBe('REPO_NOT_REGISTERED');
  const notAdmin = await t.call('POST', '/v1/tasks', bob, {
    issue_url: issue('acme', 'gadget'),
    org: 'org-a',
  });
  expect(notAdmin.status).toBe(403);
  expect(gh.gitRequests.length).toBe(before);
  expect(leftovers()).toEqual(['widget']);
});

it('a clone past the size bound, or the time bound, or of a repository GitHub does not serve, leaves nothing', async () => {
  const alice = await t.jwt('alice');
  const clone = settings.clone!;
  const { maxBytes, timeoutMs } = clone;
  try {
    clone.maxBytes = 64 * 1024;
    const big = await t.call('POST', '/v1/tasks', alice, { issue_url: issue('acme', 'big'), org: 'org-a' });
    expect(big.status).toBe(502);
    const bigErr = await errorOf(big);
    expect(bigErr.code).toBe('CLONE_FAILED');
    expect(bigErr.message).toContain('CODEMESH_GITHUB_CLONE_MAX_MB');
    clone.maxBytes = maxBytes;
    clone.timeoutMs = 1;
    const slow = await t.call('POST', '/v1/tasks', alice, { issue_url: issue('acme', 'big'), org: 'org-a' });
    expect(slow.status).toBe(502);
    expect((await errorOf(slow)).message).toContain('CODEMESH_GITHUB_CLONE_TIMEOUT_S');
    clone.timeoutMs = timeoutMs;
    const ghost = await t.call('POST', '/v1/tasks', alice, {
      issue_url: issue('acme', 'ghost'),
      org: 'org-a',
    });
    expect(ghost.status).toBe(502);
    const ghostErr = await errorOf(ghost);
    expect(ghostErr.code).toBe('CLONE_FAILED');
    for (const x of gh.tokens) expect(ghostErr.message).not.toContain(x.token);
  } finally {
    clone.maxBytes = maxBytes;
    clone.timeoutMs = timeoutMs;
  }
  expect(leftovers()).toEqual(['widget']);
  // Within the bounds the same repository clones.
  const ok = await t.call('POST', '/v1/tasks', alice, { issue_url: issue('acme', 'big'), org: 'org-a' });
  expect(ok.status).toBe(201);
  expect(leftovers().sort()).toEqual(['big', 'widget']);
});

it('two intakes of one repository at once make one clone and one registration', async () => {
  const alice = await t.jwt('alice');
  const [a, b] = await Promise.all(
    [0, 1].map(() => t.call('POST', '/v1/tasks', alice, { issue_url: issue('acme', 'twin'), org: 'org-a' })),
  );
  expect([a!.status, b!.status]).toEqual([201, 201]);
  const dest = join(realpathSync(cloneRoot), 'acme', 'twin');
  for (const r of [a!, b!]) expect(((await r.json()) as { task: { repo: string } }).task.repo).toBe(dest);
  expect(
    gh.gitRequests.filter((r) => r.method === 'GET' && r.path === '/acme/twin.git/info/refs'),
  ).toHaveLength(1);
  const repos = (await (await t.call('GET', '/v1/repos', alice)).json()) as {
    items: Array<{ path: string }>;
  };
  expect(repos.items.filter((r) => r.path === dest)).toHaveLength(1);
  expect(leftovers().sort()).toEqual(['big', 'twin', 'widget']);
});

it('a clone root outside the allowed repository roots is refused before anything is fetched', async () => {
  const alice = await t.jwt('alice');
  const before = gh.gitRequests.length;
  const outside = mkdtempSync(join(tmpdir(), 'codemesh-outside-'));
  settings.clone!.root = outside;
  try {
    const res = await t.call('POST', '/v1/tasks', alice, {
      issue_url: issue('acme', 'gadget'),
      org: 'org-a',
    });
    expect(res.status).toBe(503);
    const err = await errorOf(res);
    expect(err.code).toBe('CLONE_ROOT_REFUSED');
    expect(err.message).toContain('CODEMESH_REPO_ROOTS');
  } finally {
    settings.clone!.root = cloneRoot;
  }
  expect(readdirSync(outside)).toEqual([]);
  expect(gh.gitRequests.length).toBe(before);
});
