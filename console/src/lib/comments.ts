// Inline comments on a diff: each names its file and line (the new line; a deleted line by its old number),
// and together they become one change request's comment (`file:line: text`, one per line, in file order) —
// the gate takes one change request per arrival, so the comments of a review go out at once.

export interface LineComment {
  file: string;
  /** `new`: the line number after the change (added or context lines); `old`: a deleted line's number. */
  side: 'old' | 'new';
  line: number;
  text: string;
}

/** `src/calc.ts:12`, or `src/calc.ts:12 (old)` for a line the patch deletes. */
export const lineRef = (c: Pick<LineComment, 'file' | 'side' | 'line'>): string =>
  `${c.file}:${c.line}${c.side === 'old' ? ' (old)' : ''}`;

/** The comment a change request carries: one `file:line: text` entry per comment, by file then line. */
export function changeRequestText(comments: LineComment[]): string {
  return [...comments]
    .filter((c) => c.text.trim() !== '')
    .sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.side.localeCompare(b.side))
    .map((c) => `${lineRef(c)}: ${c.text.trim().replace(/\n/g, '\n  ')}`)
    .join('\n');
}
