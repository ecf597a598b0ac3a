// Reads a repository at a commit straight from git objects, so an index never depends on a work tree's state.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CONFIG_READ_TIMEOUT_MS, gitEnv } from '../runtime/git.ts';
import { GitError, NotAGitRepoError, UnknownCommitError } from './errors.ts';

export interface TreeEntry {
  path: string;
  blob: string;
  size: number;
}

const MAX_BUFFER = 256 * 1024 * 1024;

function git(repoPath: string, args: string[], input?: string, timeout = 300_000): string {
  // The runtime's hardened env (no hooks, fsmonitor, pager, external diff, transports; no parent env): these
  // reads of git objects run no repository-defined driver, so the per-driver overrides are not needed. Bounded
  // in time: a config include naming a FIFO would otherwise block this synchronous call, and the process.
  return execFileSync('git', ['-C', repoPath, '--no-pager', ...args], {
    env: gitEnv(),
    encoding: 'utf8',
    maxBuffer: MAX_BUFFER,
    input,
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout,
    killSignal: 'SIGKILL',
  });
}

/** The absolute git common dir of a repository: shared by all its worktrees, so a good cache key. */
export function gitCommonDir(repoPath: string): string {
  if (!existsSync(repoPath)) throw new NotAGitRepoError(repoPath);
  try {
    const args = ['rev-parse', '--path-format=absolute', '--git-common-dir'];
    return git(repoPath, args, undefined, CONFIG_READ_TIMEOUT_MS).trim();
  } catch (cause) {
    throw new NotAGitRepoError(repoPath, { cause });
  }
}

/** The full id of the commit a revision names, or `UnknownCommitError`. */
export function resolveCommit(repoPath: string, rev = 'HEAD'): string {
  gitCommonDir(repoPath);
  try {
    return git(repoPath, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]).trim();
  } catch (cause) {
    throw new UnknownCommitError(repoPath, rev, { cause });
  }
}

/** Regular files (blobs) of the commit's tree with their sizes; submodules and symlinks are left out. */
export function listTree(repoPath: string, commit: string): TreeEntry[] {
  const out = git(repoPath, ['ls-tree', '-r', '-l', '-z', '--full-tree', commit]);
  const entries: TreeEntry[] = [];
  for (const rec of out.split('\0')) {
    if (!rec) continue;
    const tab = rec.indexOf('\t');
    const [mode, type, blob, size] = rec.slice(0, tab).split(/\s+/);
    if (type !== 'blob' || mode === '120000' || !blob) continue;
    entries.push({ path: rec.slice(tab + 1), blob, size: Number(size) });
  }
  return entries;
}

/** Paths that differ between two commits (added, modified, deleted; renames as delete + add). */
export function diffNames(repoPath: string, from: string, to: string): string[] {
  const out = git(repoPath, [
    'diff',
    '--name-only',
    '--no-renames',
    '--no-ext-diff',
    '--no-textconv',
    '-z',
    from,
    to,
  ]);
  return out.split('\0').filter(Boolean);
}

/** Contents of blobs by id, read through one `git cat-file --batch` process. */
export function readBlobs(repoPath: string, blobs: string[]): Promise<Map<string, Buffer>> {
  const result = new Map<string, Buffer>();
  if (blobs.length === 0) return Promise.resolve(result);
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['-C', repoPath, '--no-pager', 'cat-file', '--batch'], {
      env: gitEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const parts: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => parts.push(d));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', (err) => reject(new GitError(`git cat-file failed: ${err.message}`, { cause: err })));
    child.on('close', (code) => {
      if (code !== 0) return reject(new GitError(`git cat-file exited ${code}: ${stderr.trim()}`));
      const buf = Buffer.concat(parts);
      let pos = 0;
      while (pos < buf.length) {
        const nl = buf.indexOf(10, pos);
        if (nl < 0) break;
        const header = buf.toString('utf8', pos, nl).split(' ');
        pos = nl + 1;
        if (header[1] === 'missing') continue;
        const size = Number(header[2]);
        result.set(header[0]!, buf.subarray(pos, pos + size));
        pos += size + 1;
      }
      resolve(result);
    });
    // git may exit before it read everything (a repository removed meanwhile): its exit code tells, and the
    // write's EPIPE must not become an unhandled error that kills the process.
    child.stdin.on('error', () => {});
    child.stdin.end(`${blobs.join('\n')}\n`);
  });
}
