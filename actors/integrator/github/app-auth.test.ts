// GitHub App auth against the loopback double, which verifies the App JWT with the App's public key: tokens are
// minted, reused, refreshed five minutes before expiry (injected clock), re-minted once on a 401, and a bad key
// fails with an error naming the setting, never the key.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { IssueUrl } from '../../../schemas/index.ts';
import { type GitHubDouble, startGitHubDouble } from '../../../test/github-double.ts';
import { createGitHub, GitHubApiError, GitHubConfigError, gitHubSettingsFromEnv } from './index.ts';

const keys = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const appKey = keys();
const otherKey = keys();
const dir = mkdtempSync(join(tmpdir(), 'codemesh-app-key-'));
const pem = (k: ReturnType<typeof keys>) => k.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const keyFile = join(dir, 'app.pem');
const otherFile = join(dir, 'other.pem');
const garbageFile = join(dir, 'garbage.pem');
writeFileSync(keyFile, pem(appKey));
writeFileSync(otherFile, pem(otherKey));
writeFileSync(garbageFile, '-----BEGIN PRIVATE KEY-----\nnot-a-key-SECRETISH\n-----END PRIVATE KEY-----\n');

let clock = 1_800_000_000_000;
let gh: GitHubDouble;
beforeAll(async () => {
  gh = await startGitHubDouble({
    app: {
      appId: '4242',
      publicKey: appKey.publicKey,
      installations: { 'acme/calc': 77, 'acme/other': 78, 'acme/moved': 90 },
      now: () => clock,
    },
  });
  gh.setIssue('acme', 'calc', 7, { title: 'subtract is wrong', body: 'b', comments: [] });
  gh.setIssue('acme', 'other', 1, { title: 'other', body: 'b', comments: [] });
  gh.setIssue('acme', 'moved', 2, { title: 'moved', body: 'b', comments: [] });
});
afterAll(async () => gh?.close());

function client(env: Record<string, string> = {}) {
  const logs: string[] = [];
  const github = createGitHub(
    gitHubSettingsFromEnv({
      CODEMESH_GITHUB_API_URL: gh.url,
      CODEMESH_GITHUB_APP_ID: '4242',
      CODEMESH_GITHUB_APP_PRIVATE_KEY_FILE: keyFile,
      ...env,
    }),
    { now: () => clock, sleep: async () => undefined, log: (l) => logs.push(l) },
  );
  return { github, logs };
}
const issue = (repo: string, n: number) => IssueUrl.parse(`${gh.url}/acme/${repo}/issues/${n}`);
const since = (i: number) => gh.requests.slice(i).map((r) => `${r.method} ${r.path}`);

it('looks the installation up, mints a token with a JWT GitHub verifies, and reuses it', async () => {
  const { github, logs } = client();
  const at = gh.requests.length;
  const minted = gh.tokens.length;
  await github.readIssue(issue('calc', 7));
  expect(since(at)).toEqual([
    'GET /repos/acme/calc/installation',
    'POST /app/installations/77/access_tokens',
    'GET /repos/acme/calc/issues/7',
    'GET /repos/acme/calc/issues/7/comments',
  ]);
  expect(gh.tokens.length).toBe(minted + 1);
  const token = gh.tokens.at(-1)!.token;
  const reqs = gh.requests.slice(at);
  expect(reqs[0]!.authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
  expect(reqs[2]!.authorization).toBe(`token ${token}`);
  // Reused: no second lookup, no second mint.
  const at2 = gh.requests.length;
  await github.readIssue(issue('calc', 7));
  expect(since(at2)).toEqual(['GET /repos/acme/calc/issues/7', 'GET /repos/acme/calc/issues/7/comments']);
  expect(gh.tokens.length).toBe(minted + 1);
  // Another repository, another installation: its own token.
  await github.readIssue(issue('other', 1));
  expect(gh.tokens.length).toBe(minted + 2);
  expect(gh.tokens.at(-1)!.installationId).toBe(78);
  // The clone credential is the installation token of that repository, as basic auth.
  const header = await github.gitAuthorization({ owner: 'acme', repo: 'calc' });
  expect(Buffer.from(header!.replace(/^Basic /, ''), 'base64').toString()).toBe(`x-access-token:${token}`);
  expect(logs.join('\n')).not.toContain('ghs_');
});

it('a configured installation id needs no lookup; the JWT is at most ten minutes and backdated', async () => {
  const { github } = client({ CODEMESH_GITHUB_APP_INSTALLATION_ID: '77' });
  const at = gh.requests.length;
  await github.readIssue(issue('calc', 7));
  expect(since(at)[0]).toBe('POST /app/installations/77/access_tokens');
  const jwt = gh.requests[at]!.authorization!.replace(/^Bearer /, '');
  const claims = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<
    string,
    number
  >;
  expect(claims.iss).toBe('4242');
  expect(claims.iat).toBe(clock / 1000 - 60);
  expect(claims.exp! - clock / 1000).toBeLessThanOrEqual(600);
  expect(claims.exp! - clock / 1000).toBeGreaterThan(60);
});

it('refreshes the token five minutes before it expires (injected clock), not earlier', async () => {
  const { github } = client({ CODEMESH_GITHUB_APP_INSTALLATION_ID: '77' });
  await github.readIssue(issue('calc', 7));
  const first = gh.tokens.at(-1)!;
  const minted = gh.tokens.length;
  clock = first.expiresAt - 6 * 60_000;
  await github.readIssue(issue('calc', 7));
  expect(gh.tokens.length).toBe(minted);
  clock = first.expiresAt - 4 * 60_000;
  const at = gh.requests.length;
  await github.readIssue(issue('calc', 7));
  expect(gh.tokens.length).toBe(minted + 1);
  expect(gh.requests.slice(at).at(-1)!.authorization).toBe(`token ${gh.tokens.at(-1)!.token}`);
  // Past the old token's expiry the double refuses it; codemesh no longer sends it.
  clock = first.expiresAt + 1000;
  await expect(github.readIssue(issue('calc', 7))).resolves.toMatchObject({ title: 'subtract is wrong' });
});

it('a 401 (a revoked token) mints a new token once and retries; a second 401 fails without a third mint', async () => {
  const { github, logs } = client({ CODEMESH_GITHUB_APP_INSTALLATION_ID: '77' });
  await github.readIssue(issue('calc', 7));
  const minted = gh.tokens.length;
  gh.tokens.at(-1)!.revoked = true;
  const at = gh.requests.length;
  await github.readIssue(issue('calc', 7));
  expect(gh.tokens.length).toBe(minted + 1);
  expect(since(at)).toEqual([
    'GET /repos/acme/calc/issues/7',
    'POST /app/installations/77/access_tokens',
    'GET /repos/acme/calc/issues/7',
    'GET /repos/acme/calc/issues/7/comments',
  ]);
  gh.failNext({ status: 401, headers: {}, times: 2, match: 'GET /repos/acme/calc/issues/7' });
  const err = await github.readIssue(issue('calc', 7)).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(GitHubApiError);
  expect((err as GitHubApiError).status).toBe(401);
  expect(gh.tokens.length).toBe(minted + 2);
  for (const t of gh.tokens) {
    expect(String(err)).not.toContain(t.token);
    expect(logs.join('\n')).not.toContain(t.token);
  }
});

it('an installation GitHub no longer knows (the App reinstalled) is looked up again, once', async () => {
  const { github } = client();
  await github.readIssue(issue('moved', 2));
  // Reinstalled: the double now knows acme/moved as installation 91, and 90 no more.
  gh.setInstallation('acme/moved', 91);
  clock += 2 * 3_600_000; // the cached token of 90 has expired: a mint is needed
  const at = gh.requests.length;
  await github.readIssue(issue('moved', 2));
  expect(since(at)).toEqual([
    'POST /app/installations/90/access_tokens',
    'GET /repos/acme/moved/installation',
    'POST /app/installations/91/access_tokens',
    'GET /repos/acme/moved/issues/2',
    'GET /repos/acme/moved/issues/2/comments',
  ]);
});

it('GraphQL (ready for review) uses the installation of the repository it is told', async () => {
  const { github } = client();
  const pr = await github.openPullRequest(
    { owner: 'acme', repo: 'other' },
    { title: 't', body: 'b', head: 'codemesh/t-app', base: 'main', draft: true },
  );
  const at = gh.requests.length;
  await github.markReady({ nodeId: pr.nodeId, repo: { owner: 'acme', repo: 'other' } });
  const gql = gh.requests.slice(at).find((r) => r.path === '/graphql')!;
  const used = gh.tokens.find((t) => gql.authorization === `token ${t.token}`);
  expect(used?.installationId).toBe(78);
  // Without a repository and without a configured installation there is no installation to ask for.
  const err = await github.markReady({ nodeId: pr.nodeId }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(GitHubConfigError);
  expect(String(err)).toContain('CODEMESH_GITHUB_APP_INSTALLATION_ID');
});

it("a key that is not the App's is refused by GitHub: the error names the settings, not the key or the JWT", async () => {
  const { github } = client({ CODEMESH_GITHUB_APP_PRIVATE_KEY_FILE: otherFile });
  const minted = gh.tokens.length;
  const at = gh.requests.length;
  const err = await github.readIssue(issue('calc', 7)).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(GitHubConfigError);
  expect(String(err)).toContain('CODEMESH_GITHUB_APP_PRIVATE_KEY_FILE');
  expect(String(err)).toContain('CODEMESH_GITHUB_APP_ID');
  expect(String(err)).not.toContain(gh.requests[at]!.authorization!.replace(/^Bearer /, ''));
  expect(String(err)).not.toContain(pem(otherKey).split('\n')[1]!);
  expect(gh.tokens.length).toBe(minted);
  // Nothing but the installation lookup was asked: no issue read without a token.
  expect(since(at)).toEqual(['GET /repos/acme/calc/installation']);
});

it('a file that is no key fails at start naming the setting, never its content or path', () => {
  let err: unknown;
  try {
    client({ CODEMESH_GITHUB_APP_PRIVATE_KEY_FILE: garbageFile });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(GitHubConfigError);
  expect(String(err)).toContain('CODEMESH_GITHUB_APP_PRIVATE_KEY_FILE');
  expect(String(err)).not.toContain('SECRETISH');
  expect(String(err)).not.toContain(garbageFile);
  expect(() => client({ CODEMESH_GITHUB_APP_PRIVATE_KEY_FILE: join(dir, 'missing.pem') })).toThrow(
    /CODEMESH_GITHUB_APP_PRIVATE_KEY_FILE: .*cannot be read/,
  );
});

it('settings: a token and an App together, an App without its key, a bad installation id are refused', () => {
  expect(() =>
    gitHubSettingsFromEnv({
      CODEMESH_GITHUB_TOKEN: 'ghp_secretvalue123',
      CODEMESH_GITHUB_APP_ID: '1',
      CODEMESH_GITHUB_APP_PRIVATE_KEY_FILE: keyFile,
    }),
  ).toThrow(/CODEMESH_GITHUB_TOKEN and CODEMESH_GITHUB_APP_ID/);
  expect(() => gitHubSettingsFromEnv({ CODEMESH_GITHUB_APP_ID: '1' })).toThrow(
    /CODEMESH_GITHUB_APP_PRIVATE_KEY_FILE/,
  );
  expect(() =>
    gitHubSettingsFromEnv({ CODEMESH_GITHUB_APP_PRIVATE_KEY_FILE: keyFile, CODEMESH_GITHUB_APP_ID: 'x' }),
  ).toThrow(/CODEMESH_GITHUB_APP_ID/);
  expect(() =>
    gitHubSettingsFromEnv({
      CODEMESH_GITHUB_APP_ID: '1',
      CODEMESH_GITHUB_APP_PRIVATE_KEY_FILE: keyFile,
      CODEMESH_GITHUB_APP_INSTALLATION_ID: 'abc',
    }),
  ).toThrow(/CODEMESH_GITHUB_APP_INSTALLATION_ID/);
  const s = gitHubSettingsFromEnv({
    CODEMESH_GITHUB_APP_ID: '1',
    CODEMESH_GITHUB_APP_PRIVATE_KEY_FILE: keyFile,
    CODEMESH_GITHUB_APP_INSTALLATION_ID: '9',
  });
  expect(s.app).toEqual({ appId: '1', privateKeyFile: keyFile, installationId: 9 });
  expect(s.token).toBeUndefined();
});
