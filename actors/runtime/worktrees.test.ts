import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { git, makeFixtureRepo } from '../../test/fixture-repo.ts';
import { addOwnedWorktree, pruneStaleWorktrees, removeOwnedWorktree } from './worktrees.ts';

const registered = (repo: string) =>
  git(repo, 'worktree', 'list', '--porcelain')
    .split('\n')
    .filter((l) => l.startsWith('worktree '));

function setup() {
  const repo = makeFixtureRepo('py-calc');
  const dataDir = mkdtempSync(join(tmpdir(), 'cm-wt-data-'));
  return { repo, dataDir, head: git(repo, 'rev-parse', 'HEAD') };
}

/** Rewrites a worktree's owner marker as if a process that has exited had made it. */
function orphan(dataDir: string, dir: string) {
  const dead = spawnSync(process.execPath, ['-e', '']).pid!;
  const marker = join(dataDir, 'work', '.owners', `${dir.split('/').pop()}.json`);
  const owner = JSON.parse(readFileSync(marker, 'utf8')) as { pid: number };
  writeFileSync(marker, JSON.stringify({ ...owner, pid: dead }));
}

describe('owned worktrees', () => {
  it("a killed owner's worktree is removed and unregistered; live ones stay", async () => {
    const { repo, dataDir, head } = setup();
    const stale = join(dataDir, 'work', 't-1-test-1-r1');
    const live = join(dataDir, 'work', 't-2-code-1-r1');
    await addOwnedWorktree(dataDir, repo, stale, head);
    await addOwnedWorktree(dataDir, repo, live, head);
    orphan(dataDir, stale);
    expect(registered(repo)).toHaveLength(3);
    expect(await pruneStaleWorktrees(dataDir)).toEqual([stale]);
    expect(existsSync(stale)).toBe(false);
    expect(registered(repo)).toEqual([`worktree ${repo}`, `worktree ${live}`]);
    // This process's own worktrees go only on request (an interrupt).
    expect(await pruneStaleWorktrees(dataDir, { includeOwn: true })).toEqual([live]);
    expect(registered(repo)).toEqual([`worktree ${repo}`]);
  });

  it('a registration whose folder is already gone is pruned', async () => {
    const { repo, dataDir, head } = setup();
    const dir = join(dataDir, 'work', 't-3-test-1-r1');
    await addOwnedWorktree(dataDir, repo, dir, head);
    spawnSync('rm', ['-rf', dir]);
    orphan(dataDir, dir);
    await pruneStaleWorktrees(dataDir);
    expect(registered(repo)).toEqual([`worktree ${repo}`]);
    expect(await pruneStaleWorktrees(dataDir)).toEqual([]);
  });

  it('removeOwnedWorktree removes the worktree and its marker', async () => {
    const { repo, dataDir, head } = setup();
    const dir = join(dataDir, 'work', 't-4-test-1-r1');
    await addOwnedWorktree(dataDir, repo, dir, head);
    await removeOwnedWorktree(dataDir, repo, dir);
    expect(registered(repo)).toEqual([`worktree ${repo}`]);
    expect(existsSync(join(dataDir, 'work', '.owners', 't-4-test-1-r1.json'))).toBe(false);
  });
});
