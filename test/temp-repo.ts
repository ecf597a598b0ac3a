// Small git repositories written from a map of files, for tests of detection, selection and settings.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export function gitIn(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
}

/** Writes `files` (path → content; a path ending in `*` is written executable, without the `*`). */
export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [key, content] of Object.entries(files)) {
    const path = join(dir, key.replace(/\*$/, ''));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    if (key.endsWith('*')) chmodSync(path, 0o755);
  }
}

/** A committed repository (branch main) in a new temp dir; returns its path and the commit. */
export function makeRepo(
  files: Record<string, string>,
  parent = mkdtempSync(join(tmpdir(), 'codemesh-repo-')),
): { dir: string; commit: string } {
  const dir = join(parent, 'repo');
  mkdirSync(dir, { recursive: true });
  writeFiles(dir, files);
  gitIn(dir, 'init', '-q', '-b', 'main');
  gitIn(dir, 'config', 'user.email', 'dev@example.com');
  gitIn(dir, 'config', 'user.name', 'Dev');
  gitIn(dir, 'add', '-A');
  gitIn(dir, 'commit', '-q', '--allow-empty', '-m', 'initial');
  return { dir, commit: gitIn(dir, 'rev-parse', 'HEAD') };
}

/** Commits more files on top; returns the new commit. */
export function commitFiles(dir: string, files: Record<string, string>, message = 'more'): string {
  writeFiles(dir, files);
  gitIn(dir, 'add', '-A');
  gitIn(dir, 'commit', '-q', '-m', message);
  return gitIn(dir, 'rev-parse', 'HEAD');
}
