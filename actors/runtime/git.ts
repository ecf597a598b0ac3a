// Thin, typed wrappers around the git CLI: worktrees, patches, commits, branches.
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

export class GitError extends Error {
  override readonly name = 'GitError';
  readonly code = 'GIT_FAILED';
  constructor(
    readonly args: readonly string[],
    readonly stderr: string,
    readonly exitCode: number | null,
  ) {
    super(`git ${args.join(' ')} failed (${exitCode}): ${stderr.trim().slice(0, 2000)}`);
  }
}

export class RepoNotFoundError extends Error {
  override readonly name = 'RepoNotFoundError';
  readonly code = 'REPO_NOT_FOUND';
}

export interface GitResult {
  stdout: string;
  stderr: string;
}

const GIT_ENV = {
  GIT_TERMINAL_PROMPT: '0',
  GIT_AUTHOR_NAME: 'codemesh',
  GIT_AUTHOR_EMAIL: 'codemesh@localhost',
  GIT_COMMITTER_NAME: 'codemesh',
  GIT_COMMITTER_EMAIL: 'codemesh@localhost',
};

/** Runs git; retries briefly when another process holds one of git's lock files. */
export async function git(
  cwd: string,
  args: string[],
  opts: { input?: string; signal?: AbortSignal; allowFail?: boolean; env?: Record<string, string> } = {},
): Promise<GitResult & { exitCode: number }> {
  for (let attempt = 0; ; attempt++) {
    const r = await new Promise<GitResult & { exitCode: number }>((res, rej) => {
      const child = execFile(
        'git',
        args,
        {
          cwd,
          env: { ...process.env, ...GIT_ENV, ...opts.env },
          maxBuffer: 64 * 1024 * 1024,
          signal: opts.signal,
        },
        (err, stdout, stderr) => {
          if (err && (err as NodeJS.ErrnoException).code === 'ABORT_ERR') return rej(err);
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          res({ stdout: String(stdout), stderr: String(stderr), exitCode: code });
        },
      );
      if (opts.input !== undefined) child.stdin?.end(opts.input);
    });
    if (
      r.exitCode !== 0 &&
      /\.lock'?: File exists|could not lock|Unable to create .*\.lock/i.test(r.stderr) &&
      attempt < 20
    ) {
      await new Promise((s) => setTimeout(s, 20 + Math.random() * 50));
      continue;
    }
    if (r.exitCode !== 0 && !opts.allowFail) throw new GitError(args, r.stderr, r.exitCode);
    return r;
  }
}

/** The top-level directory of the git repository at `path`, or a RepoNotFoundError naming the problem. */
export async function resolveRepo(path: string): Promise<string> {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new RepoNotFoundError(`repository path ${abs} does not exist`);
  if (!statSync(abs).isDirectory()) throw new RepoNotFoundError(`repository path ${abs} is not a directory`);
  const r = await git(abs, ['rev-parse', '--show-toplevel'], { allowFail: true });
  if (r.exitCode !== 0)
    throw new RepoNotFoundError(`${abs} is not a git repository (git init it, or pass --repo)`);
  return r.stdout.trim();
}

export async function resolveCommit(repo: string, ref = 'HEAD'): Promise<string> {
  const r = await git(repo, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { allowFail: true });
  if (r.exitCode !== 0) throw new RepoNotFoundError(`${ref} is not a commit in ${repo}`);
  return r.stdout.trim();
}

/** Adds a detached worktree, first clearing a leftover one at `dir` (a step re-run after a crash). */
export async function addWorktree(repo: string, dir: string, commit: string): Promise<void> {
  if (existsSync(dir)) await removeWorktree(repo, dir);
  const r = await git(repo, ['worktree', 'add', '--force', '--detach', dir, commit], { allowFail: true });
  if (r.exitCode === 0) return;
  // A worktree whose folder vanished still holds its registration: prune and try once more.
  await git(repo, ['worktree', 'prune']);
  await git(repo, ['worktree', 'add', '--force', '--detach', dir, commit]);
}

export async function removeWorktree(repo: string, dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  await git(repo, ['worktree', 'remove', '--force', dir], { allowFail: true });
}

/** Applies a unified diff to a worktree; with `threeWay` it may merge onto a moved base. */
export async function applyPatch(
  dir: string,
  diff: string,
  opts: { threeWay?: boolean } = {},
): Promise<void> {
  const args = ['apply', '--whitespace=nowarn', ...(opts.threeWay ? ['--3way'] : []), '-'];
  await git(dir, args, { input: diff });
}

export async function branchCommit(repo: string, branch: string): Promise<string | undefined> {
  const r = await git(repo, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], {
    allowFail: true,
  });
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

export async function headCommit(dir: string): Promise<string> {
  return (await git(dir, ['rev-parse', 'HEAD'])).stdout.trim();
}
