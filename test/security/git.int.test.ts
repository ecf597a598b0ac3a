// Issue 10: a hostile repository gets nothing. Every git operation codemesh runs on a repository whose config,
// hooks and attributes try to run programs must run none of them, and a worktree whose `.git` file was
// rewritten (by the tests running in the sandbox) must not steer codemesh's git anywhere.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { Patch, TaskRecord } from '../../schemas/index.ts';
import { applyEdits, diffWorktree } from '../../actors/coder/edits.ts';
import { runTool } from '../../actors/coder/tools.ts';
import { initialWorkflow } from '../../actors/conductor/workflow.ts';
import { BlobReader } from '../../actors/curator/blob-reader.ts';
import { diffNames, listTree, readBlobs } from '../../actors/curator/git.ts';
import {
  branchFor,
  commitMessage,
  commitPatch,
  existingIntegration,
  pushBranch,
  revertOnNewBranch,
} from '../../actors/integrator/git-integrate.ts';
import {
  addWorktree,
  applyPatch,
  headCommit,
  receivePackFor,
  removeWorktree,
} from '../../actors/runtime/git.ts';
import { armHooks, makeHostileRepo, makeTrap, patchA, sh, shIn } from './git-tools-harden-helpers.ts';

function taskFor(repo: string, base: string, diff: string): { task: TaskRecord; patch: Patch } {
  const now = new Date().toISOString();
  const task: TaskRecord = {
    id: 't-hostile001',
    request: {
      repo,
      title: 'Hostile',
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
  const patch: Patch = {
    id: 't-hostile001-p1',
    taskId: task.id,
    attempt: 1,
    baseCommit: base,
    diff,
    files: [],
    summary: '',
    stats: { additions: 0, deletions: 0 },
    createdAt: now,
  };
  return { task, patch };
}

it('runs no hook, fsmonitor, filter, diff/merge driver, ssh command, pager, helper or gpg of a hostile repository', async () => {
  const trap = makeTrap();
  const { repo, base, moved } = makeHostileRepo(trap);
  const fired: Record<string, string[]> = {};
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const out = await fn();
    fired[name] = trap.fired().filter((m) => !Object.values(fired).flat().includes(m));
    return out;
  };
  const work = join(trap.root, 'data', 'work');
  mkdirSync(work, { recursive: true });
  const wt = join(work, 't-hostile001-code-1-r0');

  await step('addWorktree', () => addWorktree(repo, wt, base));
  expect(readFileSync(join(wt, 'a.txt'), 'utf8')).toContain('six');
  await step('applyPatch', () => applyPatch(wt, patchA(repo, base)));
  expect(readFileSync(join(wt, 'a.txt'), 'utf8')).toContain('SIX');
  await step('applyPatch --3way', () =>
    applyPatch(wt, patchA(repo, base).replace('+SIX', '+SIX\n+6'), { threeWay: true }).catch(() => {}),
  );
  const edits = await step('applyEdits', () =>
    applyEdits(wt, [{ path: 'b.inc', search: ['included filter'], replace: ['changed'], block: 1 }]),
  );
  expect(edits.errors).toEqual([]);
  const d = await step('diffWorktree', () => diffWorktree(wt));
  expect(d.files.sort()).toEqual(['a.txt', 'b.inc']);
  expect(await step('headCommit', () => headCommit(wt))).toBe(base);
  expect(await step('grep tool', () => runTool(wt, 'grep', JSON.stringify({ pattern: 'SIX' })))).toContain(
    'a.txt',
  );

  const { task, patch } = taskFor(repo, base, d.diff);
  // A signed commit on the task's branch: `git log` with log.showSignature would hand it to gpg.program.
  const tree = sh(repo, 'rev-parse', `${base}^{tree}`);
  const signedBody = `tree ${tree}\nparent ${base}\nauthor a <b> 1 +0000\ncommitter a <b> 1 +0000\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEE\n -----END PGP SIGNATURE-----\n\nsigned\n`;
  const signedCommit = shIn(repo, ['hash-object', '-t', 'commit', '-w', '--stdin'], signedBody);
  sh(repo, '-c', 'core.hooksPath=/dev/null', 'update-ref', `refs/heads/${branchFor(task.id)}`, signedCommit);
  expect(await step('existingIntegration', () => existingIntegration(repo, task, patch))).toBeUndefined();

  const workDir = join(trap.root, 'data', 'integrate');
  const commit = await step('commitPatch onto a moved base', () =>
    commitPatch({ task, patch, base: moved, workDir, message: commitMessage(task, patch, []) }),
  );
  expect(sh(repo, 'cat-file', '-p', `${commit}:a.txt`)).toBe('ONE\ntwo\nthree\nfour\nfive\nSIX\nseven');
  expect(sh(repo, 'cat-file', '-p', `${commit}:b.inc`)).toBe('changed');
  expect(await step('existingIntegration (own)', () => existingIntegration(repo, task, patch))).toBe(commit);
  await step('revertOnNewBranch', () => revertOnNewBranch({ repo, taskId: task.id, commit, workDir }));

  sh(repo, 'remote', 'add', 'origin', 'ssh://127.0.0.1:1/x.git');
  const viaSsh = await step('pushBranch over ssh', () => pushBranch(repo, branchFor(task.id)));
  expect(viaSsh.pushed).toBe(false);

  // A local remote: its own hooks and a receivepack command from the pushing repository's config.
  const remote = join(trap.root, 'remote.git');
  sh(trap.root, 'init', '-q', '--bare', remote);
  armHooks(trap, remote, 'remote');
  sh(repo, 'remote', 'set-url', 'origin', remote);
  sh(repo, 'config', 'remote.origin.receivepack', trap.script('receivepack'));
  const local = await step('pushBranch to a local remote', () => pushBranch(repo, branchFor(task.id)));
  expect(local).toEqual({ pushed: true, remote: 'origin' });
  expect(sh(remote, 'rev-parse', `refs/heads/${branchFor(task.id)}`)).toBe(commit);

  await step('curator reads', async () => {
    listTree(repo, base);
    diffNames(repo, base, moved);
    await readBlobs(repo, [sh(repo, 'rev-parse', `${base}:a.txt`)]);
    const reader = new BlobReader(repo);
    await reader.read(sh(repo, 'rev-parse', `${base}:a.txt`));
    reader.close();
  });

  await step('removeWorktree', () => removeWorktree(repo, wt));
  expect(existsSync(wt)).toBe(false);
  expect(Object.fromEntries(Object.entries(fired).filter(([, m]) => m.length > 0))).toEqual({});
  expect(trap.fired()).toEqual([]);
});

it('a worktree whose .git file points at an attacker repository: no hook runs, git stays on the real repository, removal works', async () => {
  const trap = makeTrap();
  const repo = join(trap.root, 'repo');
  mkdirSync(repo);
  sh(repo, 'init', '-q', '-b', 'main');
  writeFileSync(join(repo, 'a.txt'), 'one\ntwo\nthree\nfour\nfive\nsix\nseven\n');
  sh(repo, 'add', '-A');
  sh(repo, '-c', 'user.name=D', '-c', 'user.email=d@e.f', 'commit', '-q', '-m', 'init');
  const base = sh(repo, 'rev-parse', 'HEAD');

  const attacker = join(trap.root, 'attacker');
  mkdirSync(attacker);
  sh(attacker, 'init', '-q', '-b', 'main');
  writeFileSync(join(attacker, 'x.txt'), 'x\n');
  sh(attacker, 'add', '-A');
  sh(attacker, '-c', 'user.name=D', '-c', 'user.email=d@e.f', 'commit', '-q', '-m', 'attacker');
  armHooks(trap, join(attacker, '.git'), 'attacker');
  sh(attacker, 'config', 'core.fsmonitor', trap.script('attacker-fsmonitor'));

  const wt = join(trap.root, 'data', 'work', 't-swap001-test-1-r0');
  mkdirSync(join(trap.root, 'data', 'work'), { recursive: true });
  await addWorktree(repo, wt, base);
  // What a test running in the sandbox can do: the worktree is writable there, its .git file included.
  writeFileSync(join(wt, '.git'), `gitdir: ${join(attacker, '.git')}\n`);

  await applyPatch(wt, patchA(repo, base));
  expect(readFileSync(join(wt, 'a.txt'), 'utf8')).toContain('SIX');
  expect(await headCommit(wt)).toBe(base);
  const d = await diffWorktree(wt);
  expect(d.files).toEqual(['a.txt']);
  expect(await runTool(wt, 'grep', JSON.stringify({ pattern: 'SIX' }))).toContain('a.txt:6:SIX');
  expect(trap.fired()).toEqual([]);

  await removeWorktree(repo, wt);
  expect(existsSync(wt)).toBe(false);
  expect(sh(repo, 'worktree', 'list', '--porcelain')).not.toContain(wt);
  // And the same place can be used again.
  await addWorktree(repo, wt, base);
  expect(readFileSync(join(wt, 'a.txt'), 'utf8')).toContain('six');
  await removeWorktree(repo, wt);
  expect(trap.fired()).toEqual([]);
});

it('only directories codemesh creates are made into worktrees or removed', async () => {
  const trap = makeTrap();
  const { repo, base } = makeHostileRepo(trap);
  await expect(addWorktree(repo, join(trap.root, 'elsewhere'), base)).rejects.toThrow(/work directory/);
  await expect(removeWorktree(repo, repo)).rejects.toThrow(/work directory|refusing/);
  mkdirSync(join(repo, '.git', 'work'), { recursive: true });
  await expect(removeWorktree(repo, join(repo, '.git', 'work', 'x'))).rejects.toThrow(/\.git/);
  expect(existsSync(join(repo, 'a.txt'))).toBe(true);
  expect(existsSync(join(repo, '.git', 'HEAD'))).toBe(true);
});

it('refuses repository config that includes a file inside a codemesh worktree (the sandbox writes there)', async () => {
  const trap = makeTrap();
  const repo = join(trap.root, 'repo');
  mkdirSync(repo);
  sh(repo, 'init', '-q', '-b', 'main');
  writeFileSync(join(repo, 'a.txt'), 'one\ntwo\nthree\nfour\nfive\nsix\nseven\n');
  sh(repo, 'add', '-A');
  sh(repo, '-c', 'user.name=D', '-c', 'user.email=d@e.f', 'commit', '-q', '-m', 'init');
  const base = sh(repo, 'rev-parse', 'HEAD');
  const wt = join(trap.root, 'data', 'work', 't-incl001-code-1-r0');
  mkdirSync(join(trap.root, 'data', 'work'), { recursive: true });
  await addWorktree(repo, wt, base);
  writeFileSync(join(wt, 'evil.cfg'), `[filter "x"]\n\tclean = ${trap.script('included-clean')}\n`);
  writeFileSync(join(wt, '.gitattributes'), '* filter=x\n');
  sh(repo, 'config', 'include.path', join(wt, 'evil.cfg'));
  await expect(diffWorktree(wt)).rejects.toThrow(/inside a codemesh worktree/);
  expect(trap.fired()).toEqual([]);
  sh(repo, 'config', '--unset', 'include.path');
  await removeWorktree(repo, wt);
});

it('a driver added to the repository config after codemesh cached its reading is still neutralised', async () => {
  const trap = makeTrap();
  const repo = join(trap.root, 'repo');
  mkdirSync(repo);
  sh(repo, 'init', '-q', '-b', 'main');
  writeFileSync(join(repo, 'a.txt'), 'one\ntwo\nthree\nfour\nfive\nsix\nseven\n');
  sh(repo, 'add', '-A');
  sh(repo, '-c', 'user.name=D', '-c', 'user.email=d@e.f', 'commit', '-q', '-m', 'init');
  const base = sh(repo, 'rev-parse', 'HEAD');
  const wt = join(trap.root, 'data', 'work', 't-late001-code-1-r0');
  mkdirSync(join(trap.root, 'data', 'work'), { recursive: true });
  // Old enough config files are cached; then the config changes under the cache.
  await new Promise((r) => setTimeout(r, 2100));
  await addWorktree(repo, wt, base);
  expect(await headCommit(wt)).toBe(base);
  expect(await headCommit(wt)).toBe(base);
  sh(repo, 'config', 'filter.late.clean', trap.script('late-clean'));
  sh(repo, 'config', 'core.fsmonitor', trap.script('late-fsmonitor'));
  writeFileSync(join(wt, '.gitattributes'), '* filter=late\n');
  writeFileSync(join(wt, 'a.txt'), 'changed\n');
  expect((await diffWorktree(wt)).files.sort()).toEqual(['.gitattributes', 'a.txt']);
  expect(trap.fired()).toEqual([]);
  await removeWorktree(repo, wt);
});

it('a push to a local remote runs its receive-pack with hooks off; ssh and https remotes get the plain program', () => {
  for (const local of ['/srv/x.git', './x.git', 'file:///srv/x.git', '../a:b.git'])
    expect(receivePackFor(local)).toMatch(/^git -c core\.hooksPath=\/dev\/null .* receive-pack$/);
  for (const remote of ['ssh://host/x.git', 'git@github.com:o/r.git', 'https://github.com/o/r.git'])
    expect(receivePackFor(remote)).toBe('git-receive-pack');
});
