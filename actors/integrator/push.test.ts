// Pushing is opt-in: a repository with an `origin` remote is not pushed to unless its settings or the task ask.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { TaskRequest, type TaskRecord } from '../../schemas/index.ts';
import { commitFiles, makeRepo } from '../../test/temp-repo.ts';
import { initialWorkflow } from '../conductor/workflow.ts';
import { pushIfAsked } from './machine.ts';

const roots: string[] = [];
afterAll(() => {
  for (const d of roots) rmSync(d, { recursive: true, force: true });
});
const sh = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

function setup(files: Record<string, string> = { 'a.txt': 'one\n' }) {
  const root = mkdtempSync(join(tmpdir(), 'codemesh-push-'));
  roots.push(root);
  const origin = join(root, 'origin.git');
  sh(root, 'init', '-q', '--bare', origin);
  const { dir, commit } = makeRepo(files, root);
  sh(dir, 'remote', 'add', 'origin', origin);
  sh(dir, 'branch', 'codemesh/t-push00001');
  const task = (config?: unknown): TaskRecord => {
    const now = new Date().toISOString();
    return {
      id: 't-push00001',
      request: TaskRequest.parse({ repo: dir, title: 'x', ...(config ? { config } : {}) }),
      repoPath: dir,
      baseCommit: commit,
      status: 'integrating',
      attempt: 1,
      workflow: initialWorkflow({ maxAttempts: 1, approveMode: 'auto' }),
      createdAt: now,
      updatedAt: now,
    };
  };
  const remoteHas = () => sh(origin, 'branch', '--list', 'codemesh/*') !== '';
  return { dir, commit, task, remoteHas };
}

it('does not push by default, even with an origin remote', async () => {
  const { task, remoteHas } = setup();
  const r = await pushIfAsked(task(), 'codemesh/t-push00001');
  expect(r).toEqual({
    pushed: false,
    reason: 'push is off (push: true in .codemesh.yml, or codemesh run --push)',
  });
  expect(remoteHas()).toBe(false);
});

it('pushes when the task asks (codemesh run --push)', async () => {
  const { task, remoteHas } = setup();
  expect(await pushIfAsked(task({ push: true }), 'codemesh/t-push00001')).toEqual({
    pushed: true,
    remote: 'origin',
  });
  expect(remoteHas()).toBe(true);
});

it('pushes when .codemesh.yml at the base commit says push: true, and the task can turn it off', async () => {
  const { task, remoteHas } = setup({ '.codemesh.yml': 'push: true\n' });
  expect(await pushIfAsked(task({ push: false }), 'codemesh/t-push00001')).toMatchObject({ pushed: false });
  expect(remoteHas()).toBe(false);
  expect(await pushIfAsked(task(), 'codemesh/t-push00001')).toEqual({ pushed: true, remote: 'origin' });
  expect(remoteHas()).toBe(true);
});

it('reads the setting at the base commit, not a later one', async () => {
  const { dir, task, remoteHas } = setup();
  commitFiles(dir, { '.codemesh.yml': 'push: true\n' });
  expect(await pushIfAsked(task(), 'codemesh/t-push00001')).toMatchObject({ pushed: false });
  expect(remoteHas()).toBe(false);
});
