// A file's unified diff as side-by-side rows: old line number and text on the left, new on the right.
// Deletions and additions of one run are paired row by row; git's header lines (`diff --git`, `index`,
// `---`/`+++`) are not shown, the hunk header becomes a separator row.
import type { DiffFile } from './diff.ts';

export interface SideCell {
  n: number;
  text: string;
  kind: 'context' | 'del' | 'add';
}
export type SideRow =
  | { kind: 'hunk'; text: string }
  | { kind: 'line'; left: SideCell | null; right: SideCell | null }
  | { kind: 'note'; text: string };

export function sideBySide(file: DiffFile): SideRow[] {
  const rows: SideRow[] = [];
  let oldN = 0;
  let newN = 0;
  let dels: SideCell[] = [];
  let adds: SideCell[] = [];
  const flush = () => {
    for (let i = 0; i < Math.max(dels.length, adds.length); i++)
      rows.push({ kind: 'line', left: dels[i] ?? null, right: adds[i] ?? null });
    dels = [];
    adds = [];
  };
  for (const l of file.lines) {
    if (l.kind === 'hunk') {
      flush();
      const m = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@ ?(.*)$/.exec(l.text);
      oldN = Number(m?.[1] ?? 1);
      newN = Number(m?.[2] ?? 1);
      rows.push({ kind: 'hunk', text: m?.[3]?.trim() ?? '' });
    } else if (l.kind === 'del') dels.push({ n: oldN++, text: l.text.slice(1), kind: 'del' });
    else if (l.kind === 'add') adds.push({ n: newN++, text: l.text.slice(1), kind: 'add' });
    else if (l.kind === 'context') {
      flush();
      const text = l.text.slice(1);
      rows.push({
        kind: 'line',
        left: { n: oldN++, text, kind: 'context' },
        right: { n: newN++, text, kind: 'context' },
      });
    } else if (l.kind === 'note') {
      flush();
      rows.push({ kind: 'note', text: l.text.replace(/^\\ ?/, '') });
    }
    // `file` and `meta` lines (diff --git, index, ---/+++, mode changes): the file's header says it all.
  }
  flush();
  return rows;
}
