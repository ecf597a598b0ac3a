// Edit blocks: parsing, all-or-nothing application inside a root, and diffs from a real git repository.
import { execFileSync } from 'node:child_process';
import {
  chmod,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  applyEdits,
  diffWorktree,
  type Edit,
  EditWriteError,
  formatEditErrors,
  GitDiffError,
  parseEditBlocks,
} from './edits.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'codemesh-edits-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const put = async (rel: string, text: string | Buffer) => {
  await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
  await writeFile(path.join(root, rel), text);
};
const read = (rel: string) => readFile(path.join(root, rel), 'utf8');
const edit = (p: string, search: string[], replace: string[], block = 1): Edit => ({
  path: p,
  search,
  replace,
  block,
});

describe('parseEditBlocks', () => {
  it('reads blocks amid prose and fences, keeping blank SEARCH lines and empty REPLACE sections', () => {
    const text = [
      'I will change two files.',
      '',
      'src/a.ts',
      '```ts',
      '<<<<<<< SEARCH',
      'const a = 1;',
      '=======',
      'const a = 2;',
      'const b = 3;',
      '>>>>>>> REPLACE',
      '```',
      'Then remove the old setting:',
      '',
      '`lib/b.py`:',
      '<<<<<<< SEARCH',
      'x = 1',
      '',
      '=======',
      '>>>>>>> REPLACE',
      'Done.',
    ].join('\n');
    expect(parseEditBlocks(text)).toEqual({
      edits: [
        { path: 'src/a.ts', search: ['const a = 1;'], replace: ['const a = 2;', 'const b = 3;'], block: 1 },
        { path: 'lib/b.py', search: ['x = 1', ''], replace: [], block: 2 },
      ],
      errors: [],
    });
  });

  it('reads a well-formed answer exactly', () => {
    const text = [
      'src/a.ts',
      '<<<<<<< SEARCH',
      'const a = 1;',
      '=======',
      'const a = 2;',
      '>>>>>>> REPLACE',
      '',
      '```',
      'src/new.ts',
      '```ts',
      '<<<<<<< SEARCH',
      '=======',
      'export const n = 1;',
      '>>>>>>> REPLACE',
      '```',
    ].join('\n');
    expect(parseEditBlocks(text)).toEqual({
      edits: [
        { path: 'src/a.ts', search: ['const a = 1;'], replace: ['const a = 2;'], block: 1 },
        { path: 'src/new.ts', search: [], replace: ['export const n = 1;'], block: 2 },
      ],
      errors: [],
    });
  });

  it('strips CRLF and markdown decoration from paths', () => {
    const text = '**src/a.ts**:\r\n<<<<<<< SEARCH\r\nold\r\n=======\r\nnew\r\n>>>>>>> REPLACE\r\n';
    expect(parseEditBlocks(text)).toEqual({
      edits: [{ path: 'src/a.ts', search: ['old'], replace: ['new'], block: 1 }],
      errors: [],
    });
  });

  it('names the block and the missing divider', () => {
    const text = ['a.ts', '<<<<<<< SEARCH', 'x', '>>>>>>> REPLACE'].join('\n');
    expect(parseEditBlocks(text)).toEqual({
      edits: [],
      errors: ['Block 1 (a.ts): missing "=======" divider after "<<<<<<< SEARCH" (line 2).'],
    });
  });

  it('names the block and the missing terminator, and keeps parsing the next block', () => {
    const text = [
      'a.ts',
      '<<<<<<< SEARCH',
      'x',
      '=======',
      'y',
      'b.ts',
      '<<<<<<< SEARCH',
      'p',
      '=======',
      'q',
      '>>>>>>> REPLACE',
      'c.ts',
      '<<<<<<< SEARCH',
      'r',
      '=======',
      's',
    ].join('\n');
    const { edits, errors } = parseEditBlocks(text);
    expect(edits).toEqual([{ path: 'b.ts', search: ['p'], replace: ['q'], block: 2 }]);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(
      /^Block 1 \(a\.ts\): missing ">>>>>>> REPLACE" terminator after "=======" \(line 4\)/,
    );
    expect(errors[1]).toMatch(/^Block 3 \(c\.ts\): missing ">>>>>>> REPLACE" terminator/);
  });

  it('reports a block without a path line, prose in its place, a stray REPLACE and a second divider', () => {
    const text = [
      'a.ts',
      '<<<<<<< SEARCH',
      'x',
      '=======',
      'y',
      '>>>>>>> REPLACE',
      '<<<<<<< SEARCH',
      'z',
      '=======',
      'w',
      '>>>>>>> REPLACE',
      'Here is the fix:',
      '<<<<<<< SEARCH',
      'z',
      '=======',
      'w',
      '>>>>>>> REPLACE',
      '>>>>>>> REPLACE',
      'd.ts',
      '<<<<<<< SEARCH',
      'k',
      '=======',
      'l',
      '=======',
      'm',
      '>>>>>>> REPLACE',
    ].join('\n');
    const { edits, errors } = parseEditBlocks(text);
    expect(edits.map((e) => e.block)).toEqual([1]);
    expect(errors).toEqual([
      'Block 2: no file path line before "<<<<<<< SEARCH" (line 7); put the path alone on the line above it.',
      'Block 3: the line above "<<<<<<< SEARCH" (line 12) must be the file path alone, found "Here is the fix:".',
      'Line 18: ">>>>>>> REPLACE" without a "<<<<<<< SEARCH" before it.',
      'Block 4 (d.ts): a second "=======" divider (line 24); a block has exactly one "=======" line.',
    ]);
  });

  it('reports a SEARCH marker on the first line as having no path', () => {
    expect(parseEditBlocks('<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE').errors).toEqual([
      'Block 1: no file path line before "<<<<<<< SEARCH" (line 1); put the path alone on the line above it.',
    ]);
  });
});

describe('applyEdits', () => {
  it('replaces an exact, unique match and keeps the rest of the file', async () => {
    await put('src/a.ts', 'const a = 1;\nconst b = 2;\nconst c = 3;\n');
    const res = await applyEdits(root, [
      edit('src/a.ts', ['const b = 2;'], ['const b = 20;', 'const bb = 21;']),
    ]);
    expect(res).toEqual({ applied: ['src/a.ts'], errors: [] });
    expect(await read('src/a.ts')).toBe('const a = 1;\nconst b = 20;\nconst bb = 21;\nconst c = 3;\n');
  });

  it('applies edits in order, later ones seeing earlier ones, and deletes lines', async () => {
    await put('a.txt', 'one\ntwo\nthree\n');
    const res = await applyEdits(root, [
      edit('a.txt', ['two'], ['TWO'], 1),
      edit('./a.txt', ['TWO', 'three'], ['three'], 2),
      edit('a.txt', ['one'], [], 3),
    ]);
    expect(res.errors).toEqual([]);
    expect(res.applied).toEqual(['a.txt']);
    expect(await read('a.txt')).toBe('three\n');
  });

  it('preserves CRLF, a missing final newline, a BOM and the file mode', async () => {
    await put('win.txt', '\uFEFFalpha\r\nbeta\r\ngamma');
    await chmod(path.join(root, 'win.txt'), 0o751);
    const res = await applyEdits(root, [
      edit('win.txt', ['beta'], ['BETA', 'beta2'], 1),
      edit('win.txt', ['gamma'], ['GAMMA'], 2),
    ]);
    expect(res.errors).toEqual([]);
    expect(await readFile(path.join(root, 'win.txt'), 'utf8')).toBe('\uFEFFalpha\r\nBETA\r\nbeta2\r\nGAMMA');
    expect((await stat(path.join(root, 'win.txt'))).mode & 0o777).toBe(0o751);
  });

  it('keeps a mixed file’s other line endings, and drops the newline when deleting the unterminated last line', async () => {
    await put('m.txt', 'a\r\nb\nc\nd');
    const res = await applyEdits(root, [edit('m.txt', ['d'], [])]);
    expect(res.errors).toEqual([]);
    expect(await read('m.txt')).toBe('a\r\nb\nc');
  });

  it('reports "not found" with the closest region of the file', async () => {
    const text = 'function add(a, b) {\n  return a + b;\n}\n\nfunction sub(a, b) {\n  return a - b;\n}\n';
    await put('m.js', text);
    const res = await applyEdits(root, [
      edit('m.js', ['function sub(a, b) {', '  return b - a;', '}'], ['x'], 3),
    ]);
    expect(res.applied).toEqual([]);
    expect(res.errors).toHaveLength(1);
    expect(res.errors[0]).toBe(
      'Block 3 (m.js): SEARCH was not found: its lines must match the file exactly, including whitespace. ' +
        'The closest region is lines 5-7 (2 of 3 lines equal):\n```\nfunction sub(a, b) {\n  return a - b;\n}\n```',
    );
    expect(await read('m.js')).toBe(text);
  });

  it('points at a whitespace-only mismatch', async () => {
    await put('i.py', 'def f():\n    return 1\n');
    const res = await applyEdits(root, [
      edit('i.py', ['def f():', '  return 1'], ['def f():', '  return 2']),
    ]);
    expect(res.errors[0]).toContain('Lines 1-2 match if whitespace is ignored');
    expect(res.errors[0]).toContain('```\ndef f():\n    return 1\n```');
  });

  it('says when no line of SEARCH is in the file', async () => {
    await put('a.txt', 'hello\n');
    const res = await applyEdits(root, [edit('a.txt', ['nothing like it'], ['x'])]);
    expect(res.errors[0]).toContain('No line of SEARCH occurs in the file');
  });

  it('refuses a SEARCH that matches several times', async () => {
    await put('a.ts', 'x();\ny();\nx();\nz();\nx();\n');
    const res = await applyEdits(root, [edit('a.ts', ['x();'], ['w();'])]);
    expect(res).toEqual({
      applied: [],
      errors: [
        'Block 1 (a.ts): SEARCH matches 3 times (starting at lines 1, 3, 5); it must match exactly once. ' +
          'Add more surrounding lines to SEARCH to make it unique.',
      ],
    });
    expect(await read('a.ts')).toBe('x();\ny();\nx();\nz();\nx();\n');
  });

  it('keeps every path inside the root', async () => {
    const outside = await mkdtemp(path.join(tmpdir(), 'codemesh-outside-'));
    try {
      await writeFile(path.join(outside, 'secret.txt'), 'keep\n');
      await symlink(outside, path.join(root, 'link'));
      await put('.git/config', '[core]\n');
      const cases = [
        '../escape.txt',
        'a/../../escape.txt',
        '/etc/passwd',
        'C:/x.txt',
        '.git/config',
        'sub/.git/hooks/pre-commit',
        'link/secret.txt',
        'a\\b.txt',
        'dir/',
      ];
      const res = await applyEdits(
        root,
        cases.map((p, k) => edit(p, [], ['pwned'], k + 1)),
      );
      expect(res.applied).toEqual([]);
      expect(res.errors).toHaveLength(cases.length);
      expect(res.errors[0]).toContain('".." is not allowed');
      expect(res.errors[1]).toContain('".." is not allowed');
      expect(res.errors[2]).toContain('absolute paths are not allowed');
      expect(res.errors[3]).toContain('absolute paths are not allowed');
      expect(res.errors[4]).toContain('.git/');
      expect(res.errors[5]).toContain('.git/');
      expect(res.errors[6]).toContain('link is a symbolic link');
      expect(res.errors[7]).toContain('path separator');
      expect(res.errors[8]).toContain('directory');
      expect(await readFile(path.join(outside, 'secret.txt'), 'utf8')).toBe('keep\n');
      expect(await read('.git/config')).toBe('[core]\n');
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('creates a new file, with its directories, from an empty SEARCH', async () => {
    const res = await applyEdits(root, [
      edit('src/deep/new.ts', [], ['export const n = 1;', '']),
      edit('src/deep/new.ts', ['export const n = 1;'], ['export const n = 2;'], 2),
    ]);
    expect(res).toEqual({ applied: ['src/deep/new.ts'], errors: [] });
    expect(await read('src/deep/new.ts')).toBe('export const n = 2;\n\n');
  });

  it('refuses an empty SEARCH on an existing file and a SEARCH on a missing one', async () => {
    await put('a.ts', 'x\n');
    const res = await applyEdits(root, [edit('a.ts', [], ['y'], 1), edit('nope.ts', ['x'], ['y'], 2)]);
    expect(res.errors).toEqual([
      'Block 1 (a.ts): the file already exists, and an empty SEARCH only creates new files. ' +
        'To change it, put the exact existing lines to replace in SEARCH.',
      'Block 2 (nope.ts): the file does not exist. To create it, leave SEARCH empty and put its content in REPLACE.',
    ]);
  });

  it('refuses binary and non-UTF-8 files', async () => {
    await put('img.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01]));
    await put('latin1.txt', Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
    const res = await applyEdits(root, [
      edit('img.png', ['PNG'], ['x'], 1),
      edit('latin1.txt', ['caf'], ['x'], 2),
    ]);
    expect(res.errors).toEqual([
      'Block 1 (img.png): is a binary file; only text files can be edited.',
      'Block 2 (latin1.txt): is not UTF-8 text; only UTF-8 text files can be edited.',
    ]);
  });

  it('writes nothing when one edit of the batch is bad', async () => {
    await put('a.ts', 'a\n');
    await put('b.ts', 'b\n');
    const res = await applyEdits(root, [
      edit('a.ts', ['a'], ['A'], 1),
      edit('new/dir/c.ts', [], ['c'], 2),
      edit('b.ts', ['not there'], ['B'], 3),
    ]);
    expect(res.applied).toEqual([]);
    expect(res.errors).toHaveLength(1);
    expect(res.errors[0]).toMatch(/^Block 3 \(b\.ts\): SEARCH was not found/);
    expect(await read('a.ts')).toBe('a\n');
    expect(await read('b.ts')).toBe('b\n');
    expect(await readdir(root)).toEqual(['a.ts', 'b.ts']);
  });

  it('restores every file when the final write fails, and throws EditWriteError', async () => {
    await put('a.ts', 'a\n');
    await put('b.ts', 'b\n');
    let renames = 0;
    const failThird = async (from: string, to: string) => {
      if (++renames === 3) throw new Error('disk full');
      const { rename } = await import('node:fs/promises');
      await rename(from, to);
    };
    const err = await applyEdits(
      root,
      [edit('a.ts', ['a'], ['A'], 1), edit('new/c.ts', [], ['c'], 2), edit('b.ts', ['b'], ['B'], 3)],
      { rename: failThird },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EditWriteError);
    expect((err as Error).message).toContain('disk full');
    expect(await read('a.ts')).toBe('a\n');
    expect(await read('b.ts')).toBe('b\n');
    expect((await readdir(root)).sort()).toEqual(['a.ts', 'b.ts']);
  });

  it('reports no file when the edits change nothing', async () => {
    await put('a.ts', 'a\n');
    expect(await applyEdits(root, [edit('a.ts', ['a'], ['a'])])).toEqual({ applied: [], errors: [] });
  });
});

describe('formatEditErrors', () => {
  it('tells the model that nothing was applied and how to retry', () => {
    const text = formatEditErrors(['Block 2 (a.ts): SEARCH was not found.']);
    expect(text).toBe(
      [
        '1 edit block could not be applied, so NONE of your edits were made:',
        '',
        '- Block 2 (a.ts): SEARCH was not found.',
        '',
        'Send all your edit blocks again with these fixed. Each block is: the file path alone on a line, then',
        '<<<<<<< SEARCH, the exact existing lines, =======, the new lines, >>>>>>> REPLACE.',
      ].join('\n'),
    );
  });
});

describe('diffWorktree', () => {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' });
  const initRepo = () => {
    git('init', '-q', '-b', 'main');
    git('config', 'user.name', 'Codemesh Test');
    git('config', 'user.email', 'test@codemesh.invalid');
    git('config', 'commit.gpgsign', 'false');
  };

  it('sees a same-size edit made in the same second as the checkout (racy-git stat)', async () => {
    initRepo();
    // ctime cannot be set from a test: take it out of git's stat check so only size and mtime decide.
    git('config', 'core.trustctime', 'false');
    const file = path.join(root, 'calc.ts');
    const past = new Date(Date.now() - 3_600_000);
    await put('calc.ts', 'return a + b;\n');
    await utimes(file, past, past);
    git('add', '-A');
    git('commit', '-q', '-m', 'base');
    // The index was written in the same second as the file: git must compare its content, not trust its stat.
    const index = path.join(root, '.git', 'index');
    await utimes(index, past, past);
    await put('calc.ts', 'return a - b;\n');
    await utimes(file, past, past);
    const d = await diffWorktree(root);
    expect(d.files).toEqual(['calc.ts']);
    expect(d.diff).toContain('+return a - b;');
  });

  it('diffs edits, new files and deletions against HEAD without touching the index', async () => {
    initRepo();
    await put('src/a.ts', 'const a = 1;\nconst b = 2;\n');
    await put('old.txt', 'gone\nsoon\n');
    await put('.gitignore', 'dist/\n');
    git('add', '-A');
    git('commit', '-q', '-m', 'base');

    const res = await applyEdits(root, [
      edit('src/a.ts', ['const b = 2;'], ['const b = 3;', 'const c = 4;'], 1),
      edit('src/new.ts', [], ['export const n = 1;'], 2),
    ]);
    expect(res.errors).toEqual([]);
    await rm(path.join(root, 'old.txt'));
    await put('dist/bundle.js', 'ignored\n');

    const d = await diffWorktree(root);
    expect(d.files).toEqual(['old.txt', 'src/a.ts', 'src/new.ts']);
    expect(d.additions).toBe(3);
    expect(d.deletions).toBe(3);
    expect(d.diff).toContain('diff --git a/src/a.ts b/src/a.ts\n');
    expect(d.diff).toContain('-const b = 2;\n+const b = 3;\n+const c = 4;\n');
    expect(d.diff).toContain('diff --git a/src/new.ts b/src/new.ts\nnew file mode 100644\n');
    expect(d.diff).toContain('--- /dev/null\n+++ b/src/new.ts\n@@ -0,0 +1 @@\n+export const n = 1;\n');
    expect(d.diff).toContain('deleted file mode 100644');
    expect(d.diff).not.toContain('dist/bundle.js');
    expect(d.diff).not.toContain('\u001b[');

    // The worktree's own index is as it was: nothing staged, the new file still untracked.
    expect(git('diff', '--cached', '--name-only')).toBe('');
    expect(git('status', '--porcelain')).toContain('?? src/new.ts');
    // The diff is a real patch: it reverses cleanly out of the worktree.
    execFileSync('git', ['apply', '-R', '--check', '-'], { cwd: root, input: d.diff });
  });

  it('returns an empty diff for a clean worktree', async () => {
    initRepo();
    await put('a.txt', 'a\n');
    git('add', '-A');
    git('commit', '-q', '-m', 'base');
    expect(await diffWorktree(root)).toEqual({ diff: '', files: [], additions: 0, deletions: 0 });
  });

  it('diffs a repository without commits against the empty tree', async () => {
    initRepo();
    await put('first.txt', 'hello\n');
    const d = await diffWorktree(root);
    expect(d).toMatchObject({ files: ['first.txt'], additions: 1, deletions: 0 });
    expect(d.diff).toContain('+++ b/first.txt');
  });

  it('throws GitDiffError outside a repository and for an unknown base', async () => {
    await expect(diffWorktree(root)).rejects.toBeInstanceOf(GitDiffError);
    initRepo();
    await expect(diffWorktree(root, 'no-such-ref')).rejects.toThrow(/unknown base commit "no-such-ref"/);
  });
});
