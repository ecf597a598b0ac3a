// The files a unified diff changes and the new-file line numbers of its added lines: what the SAST and
// dependency checks look at (code the patch did not touch is already in the repository).

export interface ChangedFile {
  /** Repository-relative path after the patch (`/dev/null` files — deletions — are left out). */
  path: string;
  /** 1-based line numbers, in the post-patch file, of the lines the patch adds. */
  added: Set<number>;
  /** The removed lines' text, trimmed and without a trailing comma: an "added" line equal to one of them only
   * moved or gained a comma (a JSON entry that is no longer last). */
  removed: Set<string>;
  /** The patch creates the file (`--- /dev/null`). */
  created: boolean;
}

/** How `removed` compares lines. */
export const lineKey = (text: string): string => text.trim().replace(/,$/, '');

function newPath(header: string): string {
  let p = header.slice(4).trim();
  if (p.startsWith('"') && p.endsWith('"')) p = p.slice(1, -1);
  return p.startsWith('b/') ? p.slice(2) : p;
}

/** Changed files with added lines, in diff order. */
export function changedFiles(diff: string): ChangedFile[] {
  const out: ChangedFile[] = [];
  let cur: ChangedFile | undefined;
  let oldLeft = 0;
  let newLeft = 0;
  let line = 0;
  let fromNothing = false;
  for (const l of diff.split('\n')) {
    if (oldLeft > 0 || newLeft > 0) {
      const tag = l[0];
      if (tag === '+') {
        cur?.added.add(line);
        newLeft--;
        line++;
      } else if (tag === '-') {
        cur?.removed.add(lineKey(l.slice(1)));
        oldLeft--;
      } else if (tag !== '\\') {
        oldLeft--;
        newLeft--;
        line++;
      }
      continue;
    }
    if (l.startsWith('--- ')) fromNothing = l.slice(4).trim() === '/dev/null';
    else if (l.startsWith('+++ ')) {
      const path = newPath(l);
      cur =
        path === '/dev/null'
          ? undefined
          : { path, added: new Set(), removed: new Set(), created: fromNothing };
      if (cur) out.push(cur);
    } else {
      const h = /^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(l);
      if (h) {
        oldLeft = h[1] === undefined ? 1 : Number(h[1]);
        line = Number(h[2]);
        newLeft = h[3] === undefined ? 1 : Number(h[3]);
      }
    }
  }
  return out.filter((f) => f.added.size > 0);
}
