// The main job as a user runs it: `codemesh run` on a repository, embedded mesh, scripted model over HTTP.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CODEMESH_ROOT, git, makeFixtureRepo } from './fixture-repo.ts';
import { type ScriptedLlm, startScriptedLlm } from './scripted-llm/index.ts';

const run = promisify(execFile);
let llm: ScriptedLlm;

beforeAll(async () => {
  llm = await startScriptedLlm(({ roleHint }) => {
    if (roleHint === 'planner')
      return {
        content: JSON.stringify({
          summary: 'Fix subtract',
          subtasks: [{ id: 'fix', title: 'Fix subtract', successCriteria: ['tests pass'] }],
        }),
      };
    if (roleHint === 'reviewer')
      return {
        content: JSON.stringify({
          decision: 'approve',
          confidence: 0.9,
          critique: 'Looks right.',
          risks: [],
        }),
      };
    return {
      content:
        'calc.py\n<<<<<<< SEARCH\ndef subtract(a, b):\n    return a + b\n=======\ndef subtract(a, b):\n    return a - b\n>>>>>>> REPLACE\n',
    };
  });
});
afterAll(async () => llm?.close());

it('codemesh run --approve auto takes a task to a commit and ends with the branch name', async () => {
  const repo = makeFixtureRepo('py-calc');
  const base = git(repo, 'rev-parse', 'HEAD');
  const { stdout } = await run(
    process.execPath,
    [
      join(CODEMESH_ROOT, 'bin', 'codemesh.js'),
      'run',
      '--repo',
      repo,
      '--title',
      'Fix subtract',
      '--approve',
      'auto',
    ],
    {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        CODEMESH_HOME: mkdtempSync(join(tmpdir(), 'codemesh-cli-')),
        CODEMESH_LLM_BASE_URL: llm.url,
        CODEMESH_LLM_API_KEY: 'sk-cli-test-key',
        CODEMESH_LLM_MODEL: 'scripted-model',
      },
      timeout: 90_000,
    },
  );
  const branch = /✔ done: branch (codemesh\/t-[a-z0-9]+)/.exec(stdout)?.[1];
  expect(branch, stdout).toBeDefined();
  expect(stdout).toMatch(/plan: Fix subtract/);
  expect(stdout).toMatch(/patch #1: 1 file\(s\), \+1 -1 — calc\.py/);
  expect(stdout).toMatch(/tests #1 \(pytest\): PASS — 2 passed, 0 failed/);
  // The calibrated confidence first, labelled, and the Reviewer model's own beside it.
  expect(stdout).toMatch(/review #1: approve \(calibrated confidence 0\.\d\d, the Reviewer's own 0\.90\)/);
  expect(stdout).not.toContain('sk-cli-test-key');
  expect(git(repo, 'rev-list', '--count', `${base}..${branch}`)).toBe('1');
}, 120_000);

it('codemesh index and search --json rank the file that defines what the query names', async () => {
  const repo = makeFixtureRepo('py-calc');
  const cli = join(CODEMESH_ROOT, 'bin', 'codemesh.js');
  const env = { PATH: process.env.PATH, HOME: mkdtempSync(join(tmpdir(), 'codemesh-home-')) };
  const idx = await run(process.execPath, [cli, 'index', '--repo', repo, '--json'], { env, timeout: 60_000 });
  expect(JSON.parse(idx.stdout)).toMatchObject({ files: 3, skipped: { binary: 0 } });
  const s = await run(
    process.execPath,
    [cli, 'search', '--repo', repo, '--query', 'subtract returns the wrong value', '--json'],
    {
      env,
      timeout: 60_000,
    },
  );
  const out = JSON.parse(s.stdout) as {
    files: Array<{ path: string }>;
    chunks: Array<{ path: string; symbol: string }>;
  };
  expect(out.files[0]?.path).toBe('calc.py');
  expect(out.chunks.some((c) => c.path === 'calc.py' && c.symbol === 'subtract')).toBe(true);
  const bad = await run(process.execPath, [cli, 'search', '--repo', '/nowhere', '--query', 'x'], {
    env,
    timeout: 60_000,
  }).catch((e: { code: number; stderr: string }) => e);
  expect('code' in bad && bad.code).toBe(2);
  expect(bad.stderr).toMatch(/not a git repo|does not exist|nowhere/i);
}, 120_000);
