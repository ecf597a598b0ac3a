// `codemesh run --issue-url`: the issue is checked and read before anything starts (GitHub double on loopback).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type GitHubDouble, startGitHubDouble } from '../test/github-double.ts';
import { UsageError } from './errors.ts';
import { cmdRun } from './run.ts';

let gh: GitHubDouble;
const saved = { ...process.env };
beforeAll(async () => {
  gh = await startGitHubDouble();
  gh.setIssue('acme', 'calc', 9, { title: 'From the issue', body: 'text', comments: [] });
  process.env.CODEMESH_GITHUB_API_URL = gh.url;
  process.env.CODEMESH_GITHUB_TOKEN = 'ghp_cliTest0123456789abcdef';
  delete process.env.CODEMESH_GITHUB_REPOS;
});
afterAll(async () => {
  process.env = saved;
  await gh?.close();
});

const usage = (argv: string[]) => cmdRun(argv).catch((e: unknown) => e);

it('refuses a bad issue URL or another host before reading anything', async () => {
  for (const [url, msg] of [
    ['https://nope', /^--issue-url: not a GitHub issue URL/],
    [
      'https://github.com/acme/calc/issues/9',
      /^--issue-url: https:\/\/github.com is not the configured GitHub/,
    ],
  ] as const) {
    const err = await usage(['--issue-url', url, '--repo', '/nowhere']);
    expect(err, url).toBeInstanceOf(UsageError);
    expect((err as Error).message, url).toMatch(msg);
  }
  expect(gh.requests).toEqual([]);
});

it('needs a checkout: --repo, a mapping, or the current directory when its remote is the repository', async () => {
  const err = await usage(['--issue-url', `${gh.url}/acme/calc/issues/9`]);
  expect(err).toBeInstanceOf(UsageError);
  expect((err as Error).message).toContain('no checkout of acme/calc known');
});

it('reads the issue, then checks the other flags with its title in place of --title', async () => {
  const err = await usage([
    '--issue-url',
    `${gh.url}/acme/calc/issues/9`,
    '--repo',
    '/nowhere',
    '--candidates',
    '9',
  ]);
  expect(err).toBeInstanceOf(UsageError);
  expect((err as Error).message).toMatch(/^--candidates: /);
  expect(gh.requests.map((r) => r.path)).toEqual([
    '/repos/acme/calc/issues/9',
    '/repos/acme/calc/issues/9/comments',
  ]);
});

it('a GitHub App setting that cannot work is a usage error naming the setting, before anything is read', async () => {
  const bad = join(mkdtempSync(join(tmpdir(), 'codemesh-cli-key-')), 'app.pem');
  writeFileSync(bad, 'not a key: KEYCONTENT');
  const before = gh.requests.length;
  const url = `${gh.url}/acme/calc/issues/9`;
  try {
    process.env.CODEMESH_GITHUB_APP_ID = '12';
    process.env.CODEMESH_GITHUB_APP_PRIVATE_KEY_FILE = bad;
    const both = await usage(['--issue-url', url, '--repo', '/nowhere']);
    expect(both).toBeInstanceOf(UsageError);
    expect((both as Error).message).toMatch(/CODEMESH_GITHUB_TOKEN and CODEMESH_GITHUB_APP_ID/);
    delete process.env.CODEMESH_GITHUB_TOKEN;
    const key = await usage(['--issue-url', url, '--repo', '/nowhere']);
    expect(key).toBeInstanceOf(UsageError);
    expect((key as Error).message).toMatch(/^--issue-url: CODEMESH_GITHUB_APP_PRIVATE_KEY_FILE: /);
    expect((key as Error).message).not.toContain('KEYCONTENT');
  } finally {
    process.env.CODEMESH_GITHUB_TOKEN = 'ghp_cliTest0123456789abcdef';
    delete process.env.CODEMESH_GITHUB_APP_ID;
    delete process.env.CODEMESH_GITHUB_APP_PRIVATE_KEY_FILE;
  }
  expect(gh.requests.length).toBe(before);
});
