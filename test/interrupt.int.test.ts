// Ctrl-C during `codemesh run` must not leave codemesh's worktrees registered in the user's repository, and
// says what it left.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CODEMESH_ROOT, git, makeFixtureRepo } from './fixture-repo.ts';
import { type ScriptedLlm, startScriptedLlm } from './scripted-llm/index.ts';

let llm: ScriptedLlm;
beforeAll(async () => {
  llm = await startScriptedLlm(({ roleHint }) =>
    roleHint === 'planner'
      ? {
          content: JSON.stringify({
            summary: 'Fix subtract',
            subtasks: [{ id: 'fix', title: 'Fix subtract', successCriteria: ['tests pass'] }],
          }),
        }
      : // The Coder's model never answers in time: the run is interrupted with the Coder's worktree open.
        { content: 'never used', delayMs: 120_000 },
  );
});
afterAll(async () => llm?.close());

const worktrees = (repo: string) =>
  git(repo, 'worktree', 'list', '--porcelain')
    .split('\n')
    .filter((l) => l.startsWith('worktree '));

it('SIGINT stops the run and removes the worktrees it added to the repository', async () => {
  const repo = makeFixtureRepo('py-calc');
  const child: ChildProcess = spawn(
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
        CODEMESH_HOME: mkdtempSync(join(tmpdir(), 'codemesh-int-')),
        CODEMESH_LLM_BASE_URL: llm.url,
        CODEMESH_LLM_API_KEY: 'sk-int-test-key',
        CODEMESH_LLM_MODEL: 'scripted-model',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout?.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  try {
    const deadline = Date.now() + 150_000;
    while (worktrees(repo).length < 2) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no worktree appeared:\n${out}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    child.kill('SIGINT');
    const code = await exited;
    expect(code, out).toBe(130);
    expect(out).toContain('codemesh: SIGINT, stopping');
    // It says what was left: nothing running; the task kept in the state dir, and how to carry it on.
    expect(out).toMatch(
      /stopped this run's actors, gateway and nats-server \(pid \d+\).*nothing of it is left running/,
    );
    expect(out).toMatch(/task t-[a-z0-9]+ \((coding|planning)\) is kept in .*codemesh up` carries it on/);
    expect(worktrees(repo)).toEqual([`worktree ${repo}`]);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}, 240_000);
