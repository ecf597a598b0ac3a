import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { applyEdits, parseEditBlocks } from '../coder/edits.ts';
import { diffToEditBlocks, parseUnifiedDiff } from './replay-edits.ts';

const scratch = mkdtempSync(join(tmpdir(), 'codemesh-replay-edits-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let n = 0;

/** A git-style diff of `before` → `after` (path → content; undefined = absent), as `git diff` writes it. */
function gitDiff(
  before: Record<string, string | undefined>,
  after: Record<string, string | undefined>,
  context = 3,
): string {
  const dir = join(scratch, `d${n++}`);
  let out = '';
  for (const path of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = join(dir, 'old', path);
    const b = join(dir, 'new', path);
    mkdirSync(join(dir, 'old'), { recursive: true });
    mkdirSync(join(dir, 'new'), { recursive: true });
    if (before[path] !== undefined) writeFileSync(a, before[path]!);
    if (after[path] !== undefined) writeFileSync(b, after[path]!);
    const args = [
      'diff',
      '--no-index',
      '--no-color',
      `-U${context}`,
      before[path] === undefined ? '/dev/null' : `old/${path}`,
      after[path] === undefined ? '/dev/null' : `new/${path}`,
    ];
    let text = '';
    try {
      text = execFileSync('git', args, { cwd: dir, encoding: 'utf8' });
    } catch (err) {
      text = String((err as { stdout?: string }).stdout ?? ''); // exit 1: the files differ
    }
    // Both sides as the repository path: `a/old/f.py` → `a/f.py` (a created file shows `a/new/...`).
    out += text.replace(/\b([ab])\/(old|new)\//g, '$1/');
  }
  return out;
}

/** Applies the blocks made from `diff` with the Coder's own parser and applyEdits; returns the new files. */
async function replay(
  before: Record<string, string | undefined>,
  diff: string,
): Promise<{ files: Record<string, string | undefined>; problems: string[]; errors: string[] }> {
  const root = join(scratch, `w${n++}`);
  mkdirSync(root, { recursive: true });
  for (const [p, c] of Object.entries(before)) if (c !== undefined) writeFileSync(join(root, p), c);
  const conv = await diffToEditBlocks(diff, async (p) => before[p]);
  const parsed = parseEditBlocks(conv.text);
  const applied = await applyEdits(root, parsed.edits);
  const files: Record<string, string | undefined> = {};
  for (const p of Object.keys(before)) {
    try {
      files[p] = readFileSync(join(root, p), 'utf8');
    } catch {
      files[p] = undefined;
    }
  }
  for (const f of parseUnifiedDiff(diff)) {
    const p = (f.newPath ?? f.oldPath)!;
    try {
      files[p] = readFileSync(join(root, p), 'utf8');
    } catch {
      files[p] = undefined;
    }
  }
  return { files, problems: conv.problems, errors: [...parsed.errors, ...applied.errors] };
}

describe('diffToEditBlocks', () => {
  it('reproduces any change to a file full of repeated lines (property, against git diff)', async () => {
    // Few distinct lines, mostly one: hunks (with 0 to 3 lines of context) are rarely unique as they stand.
    const line = fc.constantFrom('a', 'a', 'a', 'a', 'b', '', '    return x');
    const file = fc.array(line, { minLength: 1, maxLength: 40 });
    const edits = fc.array(fc.tuple(fc.nat(), fc.nat(3), fc.array(line, { maxLength: 3 })), { maxLength: 4 });
    await fc.assert(
      fc.asyncProperty(file, edits, fc.nat(3), async (lines, changes, context) => {
        const next = [...lines];
        for (const [at, del, ins] of changes) next.splice(at % (next.length + 1), del, ...ins);
        const before = { 'f.py': `${lines.join('\n')}\n` };
        const after = { 'f.py': `${next.join('\n')}\n` };
        const diff = gitDiff(before, after, context);
        const r = await replay(before, diff);
        expect(r.problems).toEqual([]);
        expect(r.errors).toEqual([]);
        expect(r.files['f.py']).toBe(after['f.py']);
      }),
      { numRuns: 40 },
    );
  }, 60_000);

  it('creates new files, empties deleted ones, and tolerates hunk line numbers that are off', async () => {
    const before = { 'keep.py': 'one\ntwo\nthree\nfour\nfive\nsix\nseven\n', 'old.py': 'gone\n' };
    const after = {
      'keep.py': 'one\ntwo\nthree\nFOUR\nfive\nsix\nseven\n',
      'old.py': undefined,
      'new.py': 'fresh\nfile\n',
    };
    const diff = gitDiff(before, after);
    const r = await replay(before, diff);
    expect(r.problems).toEqual([]);
    expect(r.files['keep.py']).toBe(after['keep.py']);
    expect(r.files['new.py']).toBe('fresh\nfile\n');
    expect(r.files['old.py']).toBe('');
    // The same diff with its line numbers shifted, as an old patch against a moved file would be.
    const shifted = diff.replace(/^@@ -1,7 \+1,7 @@/m, '@@ -3,7 +3,7 @@');
    expect(shifted).not.toBe(diff);
    expect((await replay(before, shifted)).files['keep.py']).toBe(after['keep.py']);
  });

  it('reports what the block format cannot carry instead of sending a broken block', async () => {
    const before = { 'doc.rst': 'Title\n=======\n\ntext\n' };
    const after = { 'doc.rst': 'Title\n=======\n\nnew text\n' };
    const conv = await diffToEditBlocks(gitDiff(before, after), async (p) => before[p as 'doc.rst']);
    expect(conv.problems.join('\n')).toMatch(/looks like a block marker/);
    const missing = await diffToEditBlocks(gitDiff(before, after), async () => undefined);
    expect(missing.problems.join('\n')).toMatch(/not in the repository/);
  });
});
