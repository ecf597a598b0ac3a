// Git side of integration on real repositories: plumbing commit, push to a configured remote, rollback.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { Patch, TaskRecord } from '../../schemas/index.ts';
import { initialWorkflow } from '../conductor/workflow.ts';
import {
  branchFor,
  commitMessage,
  commitPatch,
  existingIntegration,
  pushBranch,
  revertOnNewBranch,
} from './git-integrate.ts';

const sh = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

function setup() {
  const root = mkdtempSync(join(tmpdir(), 'codemesh-int-'));
  const origin = join(root, 'origin.git');
  const repo = join(root, 'repo');
  sh(root, 'init', '-q', '--bare', origin);
  sh(root, 'init', '-q', '-b', 'main', repo);
  sh(repo, 'config', 'user.email', 'd@e.f');
  sh(repo, 'config', 'user.name', 'D');
  writeFileSync(join(repo, 'a.txt'), 'one\ntwo\n');
  sh(repo, 'add', '-A');
  sh(repo, 'commit', '-q', '-m', 'init');
  sh(repo, 'remote', 'add', 'origin', origin);
  const base = sh(repo, 'rev-parse', 'HEAD');
  const now = new Date().toISOString();
  const task: TaskRecord = {
    id: 't-gitint001',
    request: {
      repo,
      title: 'Change two',
      description: '',
      approve: 'auto',
      budget: { maxAttempts: 1, maxCostUsd: 1, maxTokens: 10 },
    },
    repoPath: repo,
    baseCommit: base,
    status: 'integrating',
    attempt: 1,
    workflow: initialWorkflow({ maxAttempts: 1, approveMode: 'auto' }),
    createdAt: now,
    updatedAt: now,
  };
  const diff = 'diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n one\n-two\n+TWO\n';
  const patch: Patch = {
    id: 't-gitint001-p1',
    taskId: task.id,
    attempt: 1,
    baseCommit: base,
    diff,
    files: ['a.txt'],
    summary: '',
    stats: { additions: 1, deletions: 1 },
    createdAt: now,
  };
  return { root, origin, repo, base, task, patch };
}

it('commits without a checkout, recognises its own commit, pushes to origin, and rolls back on a new branch', async () => {
  const { root, origin, repo, base, task, patch } = setup();
  const commit = await commitPatch({
    task,
    patch,
    base,
    workDir: join(root, 'work'),
    message: commitMessage(task, patch, []),
  });
  expect(sh(repo, 'show', `${commit}:a.txt`)).toBe('one\nTWO');
  expect(sh(repo, 'rev-parse', `${commit}~1`)).toBe(base);
  expect(sh(repo, 'status', '--porcelain')).toBe('');
  expect(await existingIntegration(repo, task, patch)).toBe(commit);

  expect(await pushBranch(repo, branchFor(task.id))).toEqual({ pushed: true, remote: 'origin' });
  expect(sh(origin, 'rev-parse', `refs/heads/${branchFor(task.id)}`)).toBe(commit);

  const rb = await revertOnNewBranch({ repo, taskId: task.id, commit, workDir: join(root, 'work') });
  expect(rb.branch).toBe(`codemesh/${task.id}-rollback`);
  expect(sh(repo, 'rev-parse', `${rb.commit}^{tree}`)).toBe(sh(repo, 'rev-parse', `${base}^{tree}`));
  expect(await revertOnNewBranch({ repo, taskId: task.id, commit, workDir: join(root, 'work') })).toEqual(rb);
  expect(sh(repo, 'rev-parse', 'main')).toBe(base);
});

it('a patch that cannot apply onto the base is a conflict, and nothing is written', async () => {
  const { root, repo, base, task, patch } = setup();
  const bad = { ...patch, diff: patch.diff.replace(' one\n', ' uno\n') };
  await expect(
    commitPatch({ task, patch: bad, base, workDir: join(root, 'work'), message: 'x' }),
  ).rejects.toMatchObject({
    code: 'INTEGRATION_CONFLICT',
  });
  expect(sh(repo, 'branch', '--list', 'codemesh/*')).toBe('');
});

it('a repository without a remote is not pushed', async () => {
  const { repo } = setup();
  sh(repo, 'remote', 'remove', 'origin');
  expect(await pushBranch(repo, 'main')).toEqual({ pushed: false });
});
