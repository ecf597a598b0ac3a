// 3-way merge of subtask patches on a real git repository.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gitIn, makeRepo } from '../../test/temp-repo.ts';
import { commitTree, mergePatches } from './merge.ts';

const LINES = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join('\n');

/** The diff of `edit` applied to `file` on a scratch branch from `from`, then the branch is dropped. */
function diffOf(dir: string, from: string, file: string, edit: (s: string) => string): string {
  gitIn(dir, 'checkout', '-q', '--detach', from);
  writeFileSync(join(dir, file), edit(readFileSync(join(dir, file), 'utf8')));
  const d = execFileSync('git', ['diff'], { cwd: dir, encoding: 'utf8' });
  gitIn(dir, 'checkout', '-q', '--', '.');
  // The blob of the edited file must be in the object store, as the Coder's `git add` leaves it.
  writeFileSync(join(dir, file), edit(readFileSync(join(dir, file), 'utf8')));
  gitIn(dir, 'hash-object', '-w', file);
  gitIn(dir, 'checkout', '-q', '--', '.');
  return d;
}

describe('mergePatches', () => {
  const work = mkdtempSync(join(tmpdir(), 'codemesh-merge-'));

  it('merges patches on different files and on different parts of one file into one diff', async () => {
    const { dir, commit } = makeRepo({ 'a.txt': `${LINES}\n`, 'b.txt': 'b\n' });
    const p1 = diffOf(dir, commit, 'a.txt', (s) => s.replace('line 2\n', 'line two\n'));
    const p2 = diffOf(dir, commit, 'a.txt', (s) => s.replace('line 28\n', 'line twenty-eight\n'));
    const p3 = diffOf(dir, commit, 'b.txt', () => 'bee\n');
    const r = await mergePatches(
      dir,
      commit,
      [
        { id: 'one', diff: p1 },
        { id: 'two', diff: p2 },
        { id: 'three', diff: p3 },
      ],
      work,
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.files.sort()).toEqual(['a.txt', 'b.txt']);
    expect(r.diff).toContain('+line two');
    expect(r.diff).toContain('+line twenty-eight');
    expect(r.diff).toContain('+bee');
    expect(r.additions).toBe(3);
    // Nothing of the user's repository moved: no ref, clean work tree.
    expect(gitIn(dir, 'status', '--porcelain')).toBe('');
    const c = await commitTree(dir, r.tree, commit, 'start');
    expect(gitIn(dir, 'show', `${c}:a.txt`)).toContain('line twenty-eight');
  });

  it('names the first patch that conflicts and what was merged before it', async () => {
    const { dir, commit } = makeRepo({ 'a.txt': `${LINES}\n` });
    const p1 = diffOf(dir, commit, 'a.txt', (s) => s.replace('line 5\n', 'line FIVE\n'));
    const p2 = diffOf(dir, commit, 'a.txt', (s) => s.replace('line 5\n', 'line 5!\n'));
    const r = await mergePatches(
      dir,
      commit,
      [
        { id: 'first', diff: p1 },
        { id: 'second', diff: p2 },
      ],
      work,
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.conflict.subtask).toBe('second');
    expect(r.conflict.with).toEqual(['first']);
    expect(r.conflict.files).toEqual(['a.txt']);
  });
});
