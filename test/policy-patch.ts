// A real `git diff` of a small repository before and after a change, and a reader of the changed work tree:
// the inputs of the policy checks (`checkPatch`), as the Coder has them.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gitIn, makeRepo, writeFiles } from './temp-repo.ts';

export interface PolicyPatch {
  dir: string;
  commit: string;
  diff: string;
  read: (path: string) => Promise<string | undefined>;
}

/** Commits `before`, writes `after` over it (uncommitted) and returns the diff between them. */
export function policyPatch(before: Record<string, string>, after: Record<string, string>): PolicyPatch {
  const { dir, commit } = makeRepo(before);
  writeFiles(dir, after);
  gitIn(dir, 'add', '-A');
  const diff = `${gitIn(dir, 'diff', '--cached', '--no-color', commit)}\n`;
  return {
    dir,
    commit,
    diff,
    read: (p) => readFile(join(dir, p), 'utf8').catch(() => undefined),
  };
}
