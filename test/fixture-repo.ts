// Makes a real git repository from a fixture folder (test/fixtures/<name>) in a temp dir.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, renameSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CODEMESH_ROOT = join(import.meta.dirname, '..');

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
}

/** Returns the repo path. A JS fixture gets codemesh's node_modules linked in, as if it were installed. */
export function makeFixtureRepo(
  name: 'ts-calc' | 'py-calc',
  parent = mkdtempSync(join(tmpdir(), 'codemesh-fx-')),
): string {
  const dir = join(parent, name);
  cpSync(join(CODEMESH_ROOT, 'test', 'fixtures', name), dir, { recursive: true });
  // Stored as `gitignore` so the fixture's rules do not apply to codemesh's own tree.
  if (existsSync(join(dir, 'gitignore'))) renameSync(join(dir, 'gitignore'), join(dir, '.gitignore'));
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.email', 'dev@example.com');
  git(dir, 'config', 'user.name', 'Dev');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'initial');
  if (existsSync(join(dir, 'package.json')))
    symlinkSync(join(CODEMESH_ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}
