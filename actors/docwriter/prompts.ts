// The Doc Writer's prompt: the changed signatures, each function as it is now, the documentation that mentions
// it, the changelog's head; the answer is the Coder's SEARCH/REPLACE blocks, restricted to those files.
import type { ChangedSymbol, TaskRecord } from '../../schemas/index.ts';
import { EDIT_BLOCK_FORMAT } from '../coder/prompts.ts';
import { roleMarker } from '../llm/index.ts';
import type { DocSection } from './symbols.ts';

/** What the model answers when the documentation is already right. */
export const NO_CHANGES = 'NO CHANGES';

export function docWriterSystem(): string {
  return `${roleMarker('docwriter')} You are the Doc Writer of codemesh. A reviewed patch changed the signature of public
functions. Bring the documentation that describes them in line with the code: the docstring or doc comment of
each changed function, the README and docs sections shown that mention it, and — when a changelog is shown — one
entry for the change under its unreleased heading. Change documentation only: never code, never tests, never a
file that is not shown. Reply with edit blocks only, one per change:

path/to/file.ext
${EDIT_BLOCK_FORMAT}

The SEARCH part must match the file exactly, once. When nothing needs changing, reply ${NO_CHANGES}.`;
}

export interface DocBrief {
  task: TaskRecord;
  diff: string;
  symbols: ChangedSymbol[];
  /** Each changed function in the patched file, numbered lines around its definition. */
  definitions: Array<{ symbol: ChangedSymbol; text: string }>;
  sections: DocSection[];
  changelog?: { file: string; head: string };
}

export function docWriterUser(b: DocBrief): string {
  const parts = [`Task: ${b.task.request.title}`, '', 'The reviewed patch:', b.diff.slice(0, 20_000), ''];
  parts.push('Public functions whose signature changed:');
  for (const s of b.symbols) parts.push(`- ${s.name} (${s.file}): \`${s.before}\` → \`${s.after}\``);
  for (const d of b.definitions)
    parts.push('', `${d.symbol.file}, around ${d.symbol.name} (after the patch):`, d.text);
  for (const s of b.sections)
    parts.push(
      '',
      `${s.file}, section "${s.heading || '(top)'}" from line ${s.line}:`,
      s.text.slice(0, 4_000),
    );
  if (b.changelog) parts.push('', `${b.changelog.file} (first lines):`, b.changelog.head);
  if (b.sections.length === 0) parts.push('', 'No README or docs section mentions these functions.');
  return parts.join('\n');
}

/** The review of a documentation patch: the reviewer role's model, its own marker (`docreview`). */
export function docReviewSystem(): string {
  return `${roleMarker('docreview')} You review a documentation patch that codemesh's Doc Writer wrote for a reviewed
code patch. Approve it when every documentation change is accurate for the code after the patch, says nothing the
code does not do, and changes no code. Otherwise answer "revise" with what is wrong, briefly. Answer with JSON only:
{"verdict": "approve" | "revise", "comments": "..."}`;
}

export function docReviewUser(b: { task: TaskRecord; codeDiff: string; docDiff: string }): string {
  return [
    `Task: ${b.task.request.title}`,
    '',
    'The reviewed code patch:',
    b.codeDiff.slice(0, 16_000),
    '',
    'The documentation patch to review (on top of the code patch):',
    b.docDiff.slice(0, 16_000),
  ].join('\n');
}
