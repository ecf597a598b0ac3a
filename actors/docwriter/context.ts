// What the Doc Writer shows the model besides the diff: the README/docs sections naming the changed symbols,
// the CHANGELOG's head and each symbol's definition, read from the worktree of base + code patch. The tree is
// the repository's (untrusted): a committed symlink to /etc/shadow, a FIFO or a huge file is read as absent.
import type { ChangedSymbol } from '../../schemas/index.ts';
import { readTreeFile } from '../runtime/read-tree-file.ts';
import { changelogOf, definitionContext, isDocFile, sectionsMentioning } from './symbols.ts';

/** Documentation files larger than this are not searched for sections. */
export const MAX_DOC_BYTES = 256 * 1024;
/** Source files (definitions) larger than this are not read. */
const MAX_SOURCE_BYTES = 4 * 1024 * 1024;

export interface DocContext {
  sections: ReturnType<typeof sectionsMentioning>;
  changelog?: { file: string; head: string };
  definitions: { symbol: ChangedSymbol; text: string }[];
}

/** The context of `symbols` in the worktree whose tracked files are `paths`. */
export async function docContext(
  worktree: string,
  paths: readonly string[],
  symbols: readonly ChangedSymbol[],
): Promise<DocContext> {
  const names = symbols.map((s) => s.name);
  const sections: DocContext['sections'] = [];
  for (const p of paths.filter(isDocFile).slice(0, 200)) {
    const text = await readTreeFile(worktree, p, MAX_DOC_BYTES);
    if (text !== undefined) sections.push(...sectionsMentioning(p, text, names));
  }
  const clog = changelogOf([...paths]);
  const changelog = clog
    ? {
        file: clog,
        head: ((await readTreeFile(worktree, clog, MAX_DOC_BYTES)) ?? '').split('\n').slice(0, 40).join('\n'),
      }
    : undefined;
  const definitions: DocContext['definitions'] = [];
  for (const s of symbols) {
    const text = definitionContext((await readTreeFile(worktree, s.file, MAX_SOURCE_BYTES)) ?? '', s.after);
    if (text) definitions.push({ symbol: s, text });
  }
  return { sections, ...(changelog ? { changelog } : {}), definitions };
}
