// 3-way merge of subtask patches with git plumbing on a private index (no checkout, no ref written): the
// attempt's patch when they all apply, else the first one that conflicts and what was merged before it.
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { git } from '../runtime/git.ts';
import { parseNumstat } from './edits.ts';

export interface PatchToMerge {
  /** The subtask id. */
  id: string;
  diff: string;
}

export type MergeResult =
  | {
      ok: true;
      /** The merged tree and a commit of it on `base` (an unreferenced object: a Coder's start point). */
      tree: string;
      diff: string;
      files: string[];
      additions: number;
      deletions: number;
    }
  | { ok: false; conflict: { subtask: string; with: string[]; files: string[]; detail: string } };

const DIFF = ['diff', '--cached', '--no-color', '--no-ext-diff', '--no-renames', '--no-textconv'];

/**
 * Applies the patches in order onto `base` (`git apply --cached --3way`: a patch made on another start point
 * merges by its blobs' common ancestor). Stops at the first patch that leaves unmerged paths or does not apply.
 *
 * @example
 * const r = await mergePatches(repo, base, [{ id: 'api', diff }, { id: 'cli', diff: diff2 }], workDir);
 * if (!r.ok) console.log(`${r.conflict.subtask} conflicts with ${r.conflict.with.join(', ')}`);
 */
export async function mergePatches(
  repo: string,
  base: string,
  patches: readonly PatchToMerge[],
  workDir: string,
): Promise<MergeResult> {
  await mkdir(workDir, { recursive: true });
  const index = join(workDir, `merge-index-${process.pid}-${randomBytes(6).toString('hex')}`);
  const env = { GIT_INDEX_FILE: index };
  try {
    await git(repo, ['read-tree', base], { env });
    const applied: string[] = [];
    for (const p of patches) {
      const r = await git(repo, ['apply', '--cached', '--3way', '--whitespace=nowarn', '-'], {
        input: p.diff,
        env,
        allowFail: true,
      });
      const unmerged = (await git(repo, ['ls-files', '-u'], { env })).stdout.trim();
      if (r.exitCode !== 0 || unmerged) {
        const files = [
          ...new Set(
            unmerged
              .split('\n')
              .filter(Boolean)
              .map((l) => l.split('\t')[1] ?? ''),
          ),
        ].filter(Boolean);
        return {
          ok: false,
          conflict: { subtask: p.id, with: applied, files, detail: r.stderr.trim().slice(0, 2000) },
        };
      }
      applied.push(p.id);
    }
    const tree = (await git(repo, ['write-tree'], { env })).stdout.trim();
    const diff = (await git(repo, [...DIFF, '--src-prefix=a/', '--dst-prefix=b/', base, '--'], { env }))
      .stdout;
    const numstat = (await git(repo, [...DIFF, '--numstat', '-z', base, '--'], { env })).stdout;
    return { ok: true, tree, diff, ...parseNumstat(numstat) };
  } finally {
    await rm(index, { force: true });
  }
}

/** A commit of `tree` on `parent`, referenced by nothing: a worktree can start from it. */
export async function commitTree(
  repo: string,
  tree: string,
  parent: string,
  message: string,
): Promise<string> {
  return (await git(repo, ['commit-tree', tree, '-p', parent], { input: message })).stdout.trim();
}
