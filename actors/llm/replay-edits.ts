// A unified diff (e.g. a known-correct fix) turned into the Coder's SEARCH/REPLACE edit blocks, each one
// matching exactly once at the moment it is applied, so that the Coder's own applyEdits reproduces the diff.

/** One file of a unified diff. `oldPath`/`newPath` are undefined for a created/deleted file. */
export interface DiffFile {
  oldPath?: string;
  newPath?: string;
  hunks: DiffHunk[];
  binary: boolean;
}

export interface DiffHunk {
  /** 1-based first line of the old side (0 when the old side is empty). */
  oldStart: number;
  oldLines: string[];
  newLines: string[];
  /** The body in order, for context-aware splitting. */
  body: Array<{ op: ' ' | '-' | '+'; text: string }>;
}

export class DiffParseError extends Error {
  override readonly name = 'DiffParseError';
  readonly code = 'DIFF_PARSE';
}

const HUNK = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

function stripPrefix(p: string): string | undefined {
  const path = p.replace(/\t.*$/, '').trim();
  if (path === '/dev/null') return undefined;
  return path.replace(/^[ab]\//, '');
}

/** Parses a git-style unified diff. Hunk bodies are read by their line counts, so `---` inside them is safe. */
export function parseUnifiedDiff(diff: string): DiffFile[] {
  const lines = diff.split('\n');
  const files: DiffFile[] = [];
  let cur: DiffFile | undefined;
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.startsWith('diff --git ')) {
      const m = /^diff --git a\/(.+) b\/(.+)$/.exec(line);
      cur = { oldPath: m?.[1], newPath: m?.[2], hunks: [], binary: false };
      files.push(cur);
      i++;
      continue;
    }
    if (!cur) {
      i++;
      continue;
    }
    if (line.startsWith('--- ')) cur.oldPath = stripPrefix(line.slice(4));
    else if (line.startsWith('+++ ')) cur.newPath = stripPrefix(line.slice(4));
    else if (line.startsWith('new file mode')) cur.oldPath = undefined;
    else if (line.startsWith('deleted file mode')) cur.newPath = undefined;
    else if (line.startsWith('Binary files') || line.startsWith('GIT binary patch')) cur.binary = true;
    else if (line.startsWith('@@')) {
      const m = HUNK.exec(line);
      if (!m) throw new DiffParseError(`bad hunk header at line ${i + 1}: ${line}`);
      let oldLeft = m[2] === undefined ? 1 : Number(m[2]);
      let newLeft = m[4] === undefined ? 1 : Number(m[4]);
      const hunk: DiffHunk = { oldStart: Number(m[1]), oldLines: [], newLines: [], body: [] };
      i++;
      while (i < lines.length && (oldLeft > 0 || newLeft > 0 || lines[i]!.startsWith('\\'))) {
        const l = lines[i]!;
        if (l.startsWith('\\')) {
          i++;
          continue;
        }
        const op = (l[0] ?? ' ') as ' ' | '-' | '+';
        const text = l.slice(1);
        if (op === ' ' || l === '') {
          hunk.oldLines.push(text);
          hunk.newLines.push(text);
          hunk.body.push({ op: ' ', text });
          oldLeft--;
          newLeft--;
        } else if (op === '-') {
          hunk.oldLines.push(text);
          hunk.body.push({ op, text });
          oldLeft--;
        } else if (op === '+') {
          hunk.newLines.push(text);
          hunk.body.push({ op, text });
          newLeft--;
        } else throw new DiffParseError(`unexpected line ${i + 1} in a hunk: ${l.slice(0, 80)}`);
        i++;
      }
      if (oldLeft !== 0 || newLeft !== 0) throw new DiffParseError(`hunk at line ${i} is cut short`);
      cur.hunks.push(hunk);
      continue;
    }
    i++;
  }
  return files;
}

/** Lines the block format cannot carry (they would be read as block markers). */
const MARKER = /^(<{5,9} SEARCH|={5,9}|>{5,9} REPLACE)\s*$/;

function splitText(text: string): string[] {
  if (text === '') return [];
  const parts = text.split('\n');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts.map((l) => l.replace(/\r$/, ''));
}

function countAt(lines: string[], window: string[]): number {
  let n = 0;
  for (let s = 0; s + window.length <= lines.length; s++) {
    let ok = true;
    for (let k = 0; k < window.length && ok; k++) ok = lines[s + k] === window[k];
    if (ok && ++n > 1) return n;
  }
  return n;
}

/** The start of `window` in `lines` closest to `near` (git apply's offset tolerance), if anywhere. */
function locate(lines: string[], window: string[], near: number): number | undefined {
  const at = (p: number) =>
    p >= 0 && p + window.length <= lines.length && window.every((l, k) => lines[p + k] === l);
  for (let d = 0; d <= lines.length; d++) {
    if (at(near - d)) return near - d;
    if (at(near + d)) return near + d;
  }
  return undefined;
}

function block(path: string, search: string[], replace: string[]): string {
  return [path, '<<<<<<< SEARCH', ...search, '=======', ...replace, '>>>>>>> REPLACE', ''].join('\n');
}

export interface BlocksResult {
  /** The edit blocks, ready to be the Coder's answer. */
  text: string;
  blocks: number;
  /** What could not be expressed (binary files, lines that look like block markers, paths with spaces). */
  problems: string[];
}

/**
 * Converts `diff` into edit blocks against the files as `read` returns them (undefined: no such file).
 * Each hunk becomes one block whose SEARCH is its old side, widened with surrounding lines until it matches
 * exactly once in the file as the earlier blocks left it. A created file is one block with an empty SEARCH; a
 * deleted file becomes a block that empties it (the format cannot delete).
 *
 * @example
 * const { text } = await diffToEditBlocks(goldPatch, (p) => gitShow(repo, base, p));
 */
export async function diffToEditBlocks(
  diff: string,
  read: (path: string) => Promise<string | undefined>,
): Promise<BlocksResult> {
  const out: string[] = [];
  const problems: string[] = [];
  for (const f of parseUnifiedDiff(diff)) {
    const path = f.newPath ?? f.oldPath;
    if (!path) continue;
    if (f.binary) {
      problems.push(`${path}: binary change`);
      continue;
    }
    if (/\s/.test(path)) {
      problems.push(`${path}: paths with spaces cannot be written as edit blocks`);
      continue;
    }
    if (f.oldPath && f.newPath && f.oldPath !== f.newPath) {
      problems.push(`${f.oldPath} → ${f.newPath}: renames cannot be written as edit blocks`);
      continue;
    }
    if (!f.oldPath) {
      const content = f.hunks.flatMap((h) => h.newLines);
      if (content.some((l) => MARKER.test(l))) problems.push(`${path}: a new line looks like a block marker`);
      out.push(block(path, [], content));
      continue;
    }
    const text = await read(f.oldPath);
    if (text === undefined) {
      problems.push(`${f.oldPath}: not in the repository`);
      continue;
    }
    let lines = splitText(text);
    if (!f.newPath) {
      if (lines.length) out.push(block(path, lines, []));
      continue;
    }
    let delta = 0;
    for (const h of f.hunks) {
      // Where the old side starts now: its nominal line moved by the earlier hunks, or (as git apply allows)
      // the nearest place where the old side is found when the hunk's line numbers are off.
      const nominal = (h.oldLines.length ? h.oldStart - 1 : h.oldStart) + delta;
      const hs = locate(lines, h.oldLines, nominal);
      if (hs === undefined) {
        problems.push(`${path}: hunk at line ${h.oldStart} does not match the file`);
        continue;
      }
      delta += hs - nominal;
      let s = hs;
      let e = hs + h.oldLines.length;
      const ok = (k: number) => k >= 0 && k < lines.length && !MARKER.test(lines[k]!);
      while (e - s === 0 || countAt(lines, lines.slice(s, e)) !== 1) {
        if (ok(s - 1) && (e - s) % 2 === 0) s--;
        else if (ok(e)) e++;
        else if (ok(s - 1)) s--;
        else break;
      }
      const search = lines.slice(s, e);
      const replace = [...lines.slice(s, hs), ...h.newLines, ...lines.slice(hs + h.oldLines.length, e)];
      if (search.length === 0 || countAt(lines, search) !== 1) {
        problems.push(`${path}: no unique SEARCH for the hunk at line ${h.oldStart}`);
      }
      if ([...search, ...replace].some((l) => MARKER.test(l))) {
        problems.push(`${path}: the hunk at line ${h.oldStart} has a line that looks like a block marker`);
      }
      out.push(block(path, search, replace));
      lines = [...lines.slice(0, s), ...replace, ...lines.slice(e)];
      delta += h.newLines.length - h.oldLines.length;
    }
  }
  return { text: out.join('\n'), blocks: out.length, problems };
}
