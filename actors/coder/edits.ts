// The Coder's edit blocks: parse SEARCH/REPLACE blocks, apply them all-or-nothing inside a worktree, diff with git.
// One file on purpose: the error texts of the three stages are one vocabulary that goes back to the model.
import { randomBytes } from 'node:crypto';
import {
  chmod,
  copyFile,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  realpath,
  rename,
  rm,
  stat,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GitError, git as runGit } from '../runtime/git.ts';

/** One SEARCH/REPLACE block. Lines carry no line terminators. */
export interface Edit {
  /** Relative to the worktree root, `/`-separated, as the model wrote it. */
  path: string;
  /** Lines to find, exactly once. Empty: create `path`, which must not exist (or be empty). */
  search: string[];
  replace: string[];
  /** 1-based position of the block in the model's answer, for error messages. */
  block: number;
}

const SEARCH = /^<{5,9} SEARCH\s*$/;
const DIVIDER = /^={5,9}\s*$/;
const REPLACE = /^>{5,9} REPLACE\s*$/;
const FENCE = /^\s*(```|~~~)/;

/**
 * Reads the edit blocks of a model answer. Text outside blocks (prose, code fences) is ignored; each
 * malformed block yields one error naming its number and what is missing, and is left out of `edits`.
 *
 * @example
 * parseEditBlocks('src/a.ts\n<<<<<<< SEARCH\nconst a = 1;\n=======\nconst a = 2;\n>>>>>>> REPLACE\n');
 * // { edits: [{ path: 'src/a.ts', search: ['const a = 1;'], replace: ['const a = 2;'], block: 1 }], errors: [] }
 */
export function parseEditBlocks(text: string): { edits: Edit[]; errors: string[] } {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const edits: Edit[] = [];
  const errors: string[] = [];
  let block = 0;
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (REPLACE.test(line)) {
      errors.push(`Line ${i + 1}: ">>>>>>> REPLACE" without a "<<<<<<< SEARCH" before it.`);
      i++;
      continue;
    }
    if (!SEARCH.test(line)) {
      i++;
      continue;
    }
    block++;
    const start = i;
    const where = pathAbove(lines, start);
    const filePath = 'path' in where ? where.path : undefined;
    const label = `Block ${block}${filePath ? ` (${filePath})` : ''}`;
    const search: string[] = [];
    i++;
    while (
      i < lines.length &&
      !DIVIDER.test(lines[i]!) &&
      !SEARCH.test(lines[i]!) &&
      !REPLACE.test(lines[i]!)
    ) {
      search.push(lines[i]!);
      i++;
    }
    if (i >= lines.length || !DIVIDER.test(lines[i]!)) {
      errors.push(`${label}: missing "=======" divider after "<<<<<<< SEARCH" (line ${start + 1}).`);
      if (i < lines.length && REPLACE.test(lines[i]!)) i++;
      continue;
    }
    const divider = i;
    const replace: string[] = [];
    i++;
    let bad: string | undefined;
    while (i < lines.length && !REPLACE.test(lines[i]!)) {
      if (SEARCH.test(lines[i]!)) break;
      if (DIVIDER.test(lines[i]!)) bad = `a second "=======" divider (line ${i + 1})`;
      replace.push(lines[i]!);
      i++;
    }
    if (i >= lines.length || !REPLACE.test(lines[i]!)) {
      errors.push(
        `${label}: missing ">>>>>>> REPLACE" terminator after "=======" (line ${divider + 1}); ` +
          `end every block with ">>>>>>> REPLACE".`,
      );
      continue;
    }
    i++;
    if (!filePath) {
      errors.push(`${label}: ${'problem' in where ? where.problem : ''}`);
    } else if (bad) {
      errors.push(`${label}: ${bad}; a block has exactly one "=======" line.`);
    } else {
      edits.push({ path: filePath, search, replace, block });
    }
  }
  return { edits, errors };
}

/** The path line above a SEARCH marker, skipping one code fence and stripping markdown decoration. */
function pathAbove(lines: string[], searchLine: number): { path: string } | { problem: string } {
  const missing = `no file path line before "<<<<<<< SEARCH" (line ${searchLine + 1}); put the path alone on the line above it.`;
  let j = searchLine - 1;
  if (j >= 0 && FENCE.test(lines[j]!)) j--;
  if (j < 0) return { problem: missing };
  const raw = lines[j]!;
  if (REPLACE.test(raw) || DIVIDER.test(raw) || FENCE.test(raw)) return { problem: missing };
  const cleaned = raw.trim().replace(/^[#*`\s]+|[*`:\s]+$/g, '');
  if (!cleaned) return { problem: missing };
  // Prose ("Here is the fix:") where the path belongs is the usual slip; file names with spaces are not supported.
  if (/\s/.test(cleaned)) {
    return {
      problem: `the line above "<<<<<<< SEARCH" (line ${j + 1}) must be the file path alone, found "${raw.trim()}".`,
    };
  }
  return { path: cleaned };
}

/** A file as edits see it: lines plus each line's own terminator, so untouched lines keep theirs. */
interface FileState {
  rel: string;
  abs: string;
  existed: boolean;
  original?: Buffer;
  mode?: number;
  bom: boolean;
  lines: string[];
  /** `\n`, `\r\n`, or `''` for a last line without newline. */
  terms: string[];
  eol: string;
  changed: boolean;
}

/** Writing failed after validation passed (disk full, permissions); every file was restored. */
export class EditWriteError extends Error {
  override readonly name = 'EditWriteError';
  readonly code = 'EDIT_WRITE_FAILED';
}

export interface ApplyOptions {
  /** Replaces `fs.promises.rename`, so tests can make the final step fail and check the rollback. */
  rename?: (from: string, to: string) => Promise<void>;
}

/**
 * Applies `edits` in order (later edits see earlier ones) to files under `rootDir`. All edits are checked in
 * memory first; if any fails, nothing is written and `errors` says why, one message per failed edit, ready
 * for `formatEditErrors`. `applied` lists the files whose content changed. Line endings (per line), a missing
 * final newline, a BOM and file modes are preserved. Throws `EditWriteError` only if the disk write itself
 * fails, after restoring every file.
 */
export async function applyEdits(
  rootDir: string,
  edits: Edit[],
  opts: ApplyOptions = {},
): Promise<{ applied: string[]; errors: string[] }> {
  const root = await realpath(rootDir);
  const files = new Map<string, FileState>();
  const errors: string[] = [];
  for (const edit of edits) {
    const label = `Block ${edit.block} (${edit.path})`;
    const rel = checkPath(edit.path);
    if (typeof rel !== 'string') {
      errors.push(`${label}: ${rel.error}`);
      continue;
    }
    let file = files.get(rel);
    if (!file) {
      const loaded = await load(root, rel);
      if ('error' in loaded) {
        errors.push(`${label}: ${loaded.error}`);
        continue;
      }
      file = loaded;
      files.set(rel, file);
    }
    const problem = applyOne(file, edit);
    if (problem) errors.push(`${label}: ${problem}`);
  }
  if (errors.length) return { applied: [], errors };
  const changed = [...files.values()].filter((f) => f.changed && render(f) !== f.original?.toString('utf8'));
  await writeAll(changed, opts.rename ?? rename);
  return { applied: changed.map((f) => f.rel), errors: [] };
}

function checkPath(p: string): string | { error: string } {
  const outside = 'paths must be relative to the repository root and stay inside it';
  if (!p.trim()) return { error: 'empty file path.' };
  if (p.includes('\0')) return { error: 'the file path contains a NUL character.' };
  if (p.includes('\\')) return { error: `use "/" as the path separator, not "\\".` };
  if (path.posix.isAbsolute(p) || /^[A-Za-z]:/.test(p) || p.startsWith('~')) {
    return { error: `absolute paths are not allowed: ${outside}.` };
  }
  const segments = p.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) return { error: `".." is not allowed: ${outside}.` };
  if (segments.some((s) => s.toLowerCase() === '.git'))
    return { error: 'files under .git/ may not be edited.' };
  if (p.endsWith('/') || segments.length === 0) return { error: 'the path names a directory, not a file.' };
  if (segments.some((s) => Buffer.byteLength(s) > 255))
    return { error: 'a file or directory name is longer than 255 bytes.' };
  return segments.join('/');
}

async function load(root: string, rel: string): Promise<FileState | { error: string }> {
  const abs = path.join(root, rel);
  const segments = rel.split('/');
  // Refuse symlinks anywhere on the way: a link could point outside the worktree, and renaming onto it
  // would replace the link rather than edit its target.
  for (let k = 1; k <= segments.length; k++) {
    const st = await lstat(path.join(root, ...segments.slice(0, k))).catch(() => undefined);
    if (!st) break;
    if (st.isSymbolicLink())
      return { error: `${segments.slice(0, k).join('/')} is a symbolic link; edit its target instead.` };
    if (k < segments.length && !st.isDirectory()) {
      return { error: `${segments.slice(0, k).join('/')} is a file, not a directory.` };
    }
    if (k === segments.length && !st.isFile())
      return { error: 'the path is a directory or special file, not a regular file.' };
  }
  const base = { rel, abs, changed: false };
  const found = await lstat(abs).catch((err: NodeJS.ErrnoException) =>
    err.code === 'ENOENT' ? undefined : err,
  );
  if (found instanceof Error) return { error: `cannot be examined (${found.code ?? found.message}).` };
  if (!found) return { ...base, existed: false, bom: false, lines: [], terms: [], eol: '\n' };
  const buf = await readFile(abs).catch((err: NodeJS.ErrnoException) => err);
  if (buf instanceof Error) return { error: `cannot be read (${buf.code ?? buf.message}).` };
  if (buf.includes(0)) return { error: 'is a binary file; only text files can be edited.' };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(buf);
  } catch {
    return { error: 'is not UTF-8 text; only UTF-8 text files can be edited.' };
  }
  const bom = text.startsWith('\uFEFF');
  if (bom) text = text.slice(1);
  const { lines, terms } = splitLines(text);
  const crlf = terms.filter((t) => t === '\r\n').length;
  const eol = crlf > terms.filter((t) => t === '\n').length ? '\r\n' : '\n';
  return { ...base, existed: true, original: buf, mode: found.mode & 0o7777, bom, lines, terms, eol };
}

function splitLines(text: string): { lines: string[]; terms: string[] } {
  if (text === '') return { lines: [], terms: [] };
  const parts = text.split('\n');
  const lines: string[] = [];
  const terms: string[] = [];
  parts.forEach((part, k) => {
    const last = k === parts.length - 1;
    if (last && part === '') return;
    if (!last && part.endsWith('\r')) {
      lines.push(part.slice(0, -1));
      terms.push('\r\n');
    } else {
      lines.push(part);
      terms.push(last ? '' : '\n');
    }
  });
  return { lines, terms };
}

function render(f: FileState): string {
  return (f.bom ? '\uFEFF' : '') + f.lines.map((l, k) => l + f.terms[k]).join('');
}

/** Applies one edit to the in-memory file; returns the reason it cannot be applied. */
function applyOne(f: FileState, edit: Edit): string | undefined {
  if (edit.search.length === 0) {
    if (f.existed && f.lines.length > 0) {
      return (
        'the file already exists, and an empty SEARCH only creates new files. ' +
        'To change it, put the exact existing lines to replace in SEARCH.'
      );
    }
    if (f.changed) return 'an earlier block already wrote this file; an empty SEARCH only creates new files.';
    f.lines = [...edit.replace];
    f.terms = edit.replace.map(() => f.eol);
    f.changed = true;
    return undefined;
  }
  if (!f.existed && !f.changed) {
    return 'the file does not exist. To create it, leave SEARCH empty and put its content in REPLACE.';
  }
  const at = findAll(f.lines, edit.search, (a, b) => a === b);
  if (at.length > 1) {
    const where = at
      .slice(0, 5)
      .map((s) => s + 1)
      .join(', ');
    return (
      `SEARCH matches ${at.length} times (starting at lines ${where}${at.length > 5 ? ', ...' : ''}); ` +
      'it must match exactly once. Add more surrounding lines to SEARCH to make it unique.'
    );
  }
  const start = at[0];
  if (start === undefined) return notFound(f.lines, edit.search);
  const n = edit.search.length;
  const lastTerm = f.terms[start + n - 1]!;
  const newTerms = edit.replace.map((_, k) => (k === edit.replace.length - 1 ? lastTerm : f.eol));
  if (edit.replace.length === 0 && start + n === f.lines.length && start > 0 && lastTerm === '') {
    // Deleting the last lines of a file without a final newline: the new last line loses its newline too.
    f.terms[start - 1] = '';
  }
  f.lines.splice(start, n, ...edit.replace);
  f.terms.splice(start, n, ...newTerms);
  f.changed = true;
  return undefined;
}

function findAll(lines: string[], search: string[], eq: (a: string, b: string) => boolean): number[] {
  const out: number[] = [];
  for (let s = 0; s + search.length <= lines.length; s++) {
    let ok = true;
    for (let k = 0; k < search.length && ok; k++) ok = eq(lines[s + k]!, search[k]!);
    if (ok) out.push(s);
  }
  return out;
}

/** "Not found", with the nearest region of the file so the model can copy the exact lines. */
function notFound(lines: string[], search: string[]): string {
  const head = 'SEARCH was not found: its lines must match the file exactly, including whitespace.';
  const loose = findAll(lines, search, (a, b) => a.trim() === b.trim());
  if (loose.length > 0) {
    const s = loose[0]!;
    return `${head} Lines ${s + 1}-${s + search.length} match if whitespace is ignored; copy their exact indentation:\n${excerpt(lines, s, search.length)}`;
  }
  // Vote for alignments: each SEARCH line equal (trimmed) to a file line suggests a start; linear in matches.
  const at = new Map<string, number[]>();
  lines.forEach((l, p) => {
    const t = l.trim();
    if (t) at.set(t, [...(at.get(t) ?? []), p]);
  });
  const votes = new Map<number, number>();
  search.forEach((l, k) => {
    for (const p of at.get(l.trim()) ?? []) votes.set(p - k, (votes.get(p - k) ?? 0) + 1);
  });
  let best = { start: -1, score: 0 };
  for (const [start, score] of votes) {
    if (score > best.score || (score === best.score && start < best.start)) best = { start, score };
  }
  if (best.score === 0)
    return `${head} No line of SEARCH occurs in the file; re-read the file before editing it.`;
  const from = Math.max(0, best.start);
  const to = Math.min(lines.length, best.start + search.length);
  return `${head} The closest region is lines ${from + 1}-${to} (${best.score} of ${search.length} lines equal):\n${excerpt(lines, from, to - from)}`;
}

function excerpt(lines: string[], start: number, count: number): string {
  const shown = lines.slice(start, start + Math.min(count, 30));
  const more = count > 30 ? `\n... (${count - 30} more lines)` : '';
  return `\`\`\`\n${shown.join('\n')}${more}\n\`\`\``;
}

/** Temp file then rename, per file; if anything fails, renamed files get their old content back. */
async function writeAll(
  files: FileState[],
  move: (from: string, to: string) => Promise<void>,
): Promise<void> {
  const temps: { file: FileState; tmp: string }[] = [];
  const createdDirs: string[] = [];
  const renamed: FileState[] = [];
  try {
    for (const f of files) {
      const dir = path.dirname(f.abs);
      const made = await mkdir(dir, { recursive: true });
      if (made) createdDirs.push(made);
      // Short on purpose: a name derived from the file's could exceed the 255-byte limit.
      const tmp = path.join(dir, `.codemesh-${randomBytes(6).toString('hex')}.tmp`);
      temps.push({ file: f, tmp });
      await writeFile(tmp, render(f), { flag: 'wx' });
      // Set after writing: a mode given to writeFile is filtered by the umask.
      if (f.mode !== undefined) await chmod(tmp, f.mode);
    }
    for (const { file, tmp } of temps) {
      await move(tmp, file.abs);
      renamed.push(file);
    }
  } catch (err) {
    for (const f of renamed) {
      await (f.existed && f.original ? writeFile(f.abs, f.original) : unlink(f.abs)).catch(() => {});
    }
    for (const { tmp } of temps) await rm(tmp, { force: true }).catch(() => {});
    for (const d of createdDirs.reverse()) await rm(d, { recursive: true, force: true }).catch(() => {});
    const reason = err instanceof Error ? err.message : String(err);
    throw new EditWriteError(`writing the edited files failed, nothing was changed: ${reason}`, {
      cause: err,
    });
  }
}

/**
 * The text sent back to the model when edits fail: every reason, and what to do next. Since a failed call
 * applies nothing, the model must send all its blocks again, corrected.
 */
export function formatEditErrors(errors: string[]): string {
  const n = errors.length;
  return [
    `${n} edit block${n === 1 ? '' : 's'} could not be applied, so NONE of your edits were made:`,
    '',
    ...errors.map((e) => `- ${e}`),
    '',
    'Send all your edit blocks again with these fixed. Each block is: the file path alone on a line, then',
    '<<<<<<< SEARCH, the exact existing lines, =======, the new lines, >>>>>>> REPLACE.',
  ].join('\n');
}

/** `git` failed while diffing (not a repository, unknown base). */
export class GitDiffError extends Error {
  override readonly name = 'GitDiffError';
  readonly code = 'GIT_DIFF_FAILED';
}

/**
 * The worktree at `rootDir` as a unified diff against `base` (default `HEAD`), new untracked files included
 * (`.gitignore` respected). Uses a throwaway index, so the worktree's own index is left as it was.
 * Binary files appear as "Binary files ... differ" and count 0 lines.
 */
export async function diffWorktree(
  rootDir: string,
  base = 'HEAD',
): Promise<{ diff: string; files: string[]; additions: number; deletions: number }> {
  const scratch = await mkdtemp(path.join(tmpdir(), 'codemesh-diff-'));
  const index = path.join(scratch, 'index');
  try {
    const realIndex = (
      await git(rootDir, ['rev-parse', '--path-format=absolute', '--git-path', 'index'])
    ).trim();
    // The copy keeps the original's timestamps: git trusts an entry's cached stat only when the file is older
    // than the index file, so a fresh mtime on the copy would hide an edit made in the same second as the
    // checkout with the same size (a one-character fix), and the diff would come out empty.
    await copyFile(realIndex, index)
      .then(async () => {
        const st = await stat(realIndex);
        await utimes(index, st.atime, st.mtime);
      })
      .catch(() => {}); // No index yet (fresh repository): start empty.
    const env = { GIT_INDEX_FILE: index };
    const hasBase = await git(rootDir, ['rev-parse', '--verify', '--quiet', `${base}^{commit}`]).then(
      () => true,
      () => false,
    );
    let against = base;
    if (!hasBase) {
      if (base !== 'HEAD') throw new GitDiffError(`unknown base commit "${base}" in ${rootDir}`);
      // A repository without commits: everything is new, compared with the empty tree.
      against = (await git(rootDir, ['hash-object', '-t', 'tree', '/dev/null'])).trim();
    }
    await git(rootDir, ['add', '--all', '--', '.'], env);
    const common = ['diff', '--cached', '--no-color', '--no-ext-diff', '--no-renames', '--no-textconv'];
    const diff = await git(rootDir, [...common, '--src-prefix=a/', '--dst-prefix=b/', against, '--'], env);
    const numstat = await git(rootDir, [...common, '--numstat', '-z', against, '--'], env);
    return { diff, ...parseNumstat(numstat) };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The runtime's git runner, with paths unquoted and failures as `GitDiffError` (what this module's callers catch). */
async function git(cwd: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  try {
    const r = await runGit(cwd, ['-c', 'core.quotepath=off', ...args], {
      env: { ...env, GIT_OPTIONAL_LOCKS: '0' },
      // Addressed through the main repository's admin dir, never the worktree's own `.git` file.
      worktree: true,
    });
    return r.stdout;
  } catch (err) {
    const detail = err instanceof GitError ? err.stderr.trim() : (err as Error).message;
    throw new GitDiffError(`git ${args[0]} failed in ${cwd}: ${detail}`, { cause: err });
  }
}

/** `git diff --numstat -z` output: the files and their added / deleted line counts (binary files count 0). */
export function parseNumstat(numstat: string): { files: string[]; additions: number; deletions: number } {
  const files: string[] = [];
  let additions = 0;
  let deletions = 0;
  for (const rec of numstat.split('\0')) {
    const m = /^(\d+|-)\t(\d+|-)\t(.+)$/s.exec(rec.replace(/^\n/, ''));
    if (!m) continue;
    additions += m[1] === '-' ? 0 : Number(m[1]);
    deletions += m[2] === '-' ? 0 : Number(m[2]);
    files.push(m[3]!);
  }
  return { files, additions, deletions };
}
