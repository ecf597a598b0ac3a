// Unified diffs for display: each line classified (file header, hunk header, addition, deletion, context),
// split per file so the console can show one block per changed file.

export type DiffLineKind = 'file' | 'meta' | 'hunk' | 'add' | 'del' | 'context' | 'note';

export interface DiffLine {
  kind: DiffLineKind;
  text: string;
}

export interface DiffFile {
  /** The path after the change (`b/…`), or the old path for a deletion. */
  path: string;
  lines: DiffLine[];
  additions: number;
  deletions: number;
}

/**
 * Classifies the lines of a unified diff. `---`/`+++` are headers only outside a hunk: inside one, a line
 * `--- x` is the deletion of the text `-- x`, so the hunk's line counts decide.
 */
export function classifyDiff(diff: string): DiffLine[] {
  const out: DiffLine[] = [];
  let oldLeft = 0;
  let newLeft = 0;
  const lines = diff.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const text of lines) {
    const inHunk = oldLeft > 0 || newLeft > 0;
    if (inHunk) {
      if (text.startsWith('+')) {
        newLeft--;
        out.push({ kind: 'add', text });
        continue;
      }
      if (text.startsWith('-')) {
        oldLeft--;
        out.push({ kind: 'del', text });
        continue;
      }
      if (text.startsWith(' ') || text === '') {
        oldLeft--;
        newLeft--;
        out.push({ kind: 'context', text });
        continue;
      }
      if (text.startsWith('\\')) {
        out.push({ kind: 'note', text });
        continue;
      }
      // A malformed hunk (counts too large): fall through and treat the line as a header.
      oldLeft = 0;
      newLeft = 0;
    }
    const hunk = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/.exec(text);
    if (hunk) {
      oldLeft = hunk[1] === undefined ? 1 : Number(hunk[1]);
      newLeft = hunk[2] === undefined ? 1 : Number(hunk[2]);
      out.push({ kind: 'hunk', text });
    } else if (text.startsWith('diff --git ')) out.push({ kind: 'file', text });
    else if (text.startsWith('\\')) out.push({ kind: 'note', text });
    else out.push({ kind: 'meta', text });
  }
  return out;
}

/**
 * Splits a diff into files: a `diff --git` line starts one, and so does a `--- ` header after the current file
 * already had a hunk (plain `diff -u` output has no `diff --git` lines).
 */
export function splitDiff(diff: string): DiffFile[] {
  const files: DiffFile[] = [];
  let cur: DiffFile | undefined;
  let hadHunk = false;
  for (const l of classifyDiff(diff)) {
    const newFile = l.kind === 'file' || (l.kind === 'meta' && l.text.startsWith('--- ') && hadHunk);
    if (!cur || newFile) {
      cur = { path: '', lines: [], additions: 0, deletions: 0 };
      files.push(cur);
      hadHunk = false;
    }
    cur.lines.push(l);
    if (l.kind === 'hunk') hadHunk = true;
    else if (l.kind === 'add') cur.additions++;
    else if (l.kind === 'del') cur.deletions++;
    else if (l.kind === 'file') cur.path = /^diff --git a\/.* b\/(.*)$/.exec(l.text)?.[1] ?? '';
    else if (l.kind === 'meta') {
      const plus = /^\+\+\+ (?:b\/)?(.*)$/.exec(l.text);
      const minus = /^--- (?:a\/)?(.*)$/.exec(l.text);
      if (plus && plus[1] !== '/dev/null') cur.path = plus[1]!;
      else if (minus && minus[1] !== '/dev/null' && !cur.path) cur.path = minus[1]!;
    }
  }
  return files;
}
