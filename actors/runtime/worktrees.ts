// Worktrees under <dataDir>/work that a crash or an interrupt cannot leave registered in the user's
// repository: each one has an owner marker (pid, repo), and stale ones are removed and pruned.
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { addWorktree, git, removeWorktree } from './git.ts';

const OWNERS = '.owners';

interface Owner {
  pid: number;
  repo: string;
  dir: string;
}

function markerOf(dataDir: string, dir: string): string {
  return join(dataDir, 'work', OWNERS, `${basename(dir)}.json`);
}

/** Adds a detached worktree at `dir` (under <dataDir>/work), recording its owner first. */
export async function addOwnedWorktree(
  dataDir: string,
  repo: string,
  dir: string,
  commit: string,
): Promise<void> {
  await mkdir(join(dataDir, 'work', OWNERS), { recursive: true });
  const owner: Owner = { pid: process.pid, repo, dir };
  await writeFile(markerOf(dataDir, dir), JSON.stringify(owner));
  await addWorktree(repo, dir, commit);
}

/** Removes the worktree, prunes its registration if the folder was already gone, then the marker. */
export async function removeOwnedWorktree(dataDir: string, repo: string, dir: string): Promise<void> {
  const existed = existsSync(dir);
  if (existed) await removeWorktree(repo, dir);
  // The folder was gone already (or `worktree remove` failed): drop it and the registration left behind.
  if (!existed || existsSync(dir)) {
    await rm(dir, { recursive: true, force: true });
    if (existsSync(repo)) await git(repo, ['worktree', 'prune'], { allowFail: true });
  }
  await rm(markerOf(dataDir, dir), { force: true });
}

/**
 * Removes worktrees whose owner process is gone (killed, crashed). With `includeOwn`, also this process's
 * (for an interrupt: its steps are stopped and will not clean up). Returns the removed directories.
 */
export async function pruneStaleWorktrees(
  dataDir: string,
  opts: { includeOwn?: boolean } = {},
): Promise<string[]> {
  const dir = join(dataDir, 'work', OWNERS);
  const files = await readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const f of files) {
    if (!f.endsWith('.json')) continue;
    let owner: Owner;
    try {
      owner = JSON.parse(await readFile(join(dir, f), 'utf8')) as Owner;
    } catch {
      continue; // being written, or not ours
    }
    const own = owner.pid === process.pid;
    if (own ? !opts.includeOwn : alive(owner.pid)) continue;
    await removeOwnedWorktree(dataDir, owner.repo, owner.dir).catch(() => undefined);
    removed.push(owner.dir);
  }
  return removed;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
