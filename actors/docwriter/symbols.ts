// What a code patch changes that documentation may describe: public functions whose signature changed, and
// the README/docs sections and CHANGELOG that mention them. Pure text work, no model: it decides whether the
// Doc Writer asks one at all.
import type { ChangedSymbol } from '../../schemas/index.ts';

/** Definition lines by language: the name is the first capture group that matched. */
const DEFINITIONS: Array<{ file: RegExp; def: RegExp }> = [
  { file: /\.pyi?$/, def: /^\s*(?:async\s+)?def\s+([A-Za-z]\w*)\s*\(/ },
  {
    file: /\.[cm]?[jt]sx?$/,
    def: /^\s*export\s+(?:default\s+)?(?:async\s+)?function\s*\*?\s*([A-Za-z$][\w$]*)\s*[<(]|^\s*export\s+const\s+([A-Za-z$][\w$]*)\s*=\s*(?:async\s*)?\(/,
  },
];

function definedName(file: string, line: string): string | undefined {
  const lang = DEFINITIONS.find((d) => d.file.test(file));
  const m = lang?.def.exec(line);
  return m ? (m[1] ?? m[2]) : undefined;
}

/**
 * Public functions (Python: no leading underscore; JS/TS: exported) whose definition line the diff replaces
 * with a different one: a changed signature. Functions only added or only removed are not listed.
 *
 * @example
 * changedSymbols('--- a/calc.py\n+++ b/calc.py\n@@ -1 +1 @@\n-def add(a, b):\n+def add(a, b, c=0):\n')
 * // [{ name: 'add', file: 'calc.py', before: 'def add(a, b):', after: 'def add(a, b, c=0):' }]
 */
export function changedSymbols(diff: string): ChangedSymbol[] {
  const out: ChangedSymbol[] = [];
  let file = '';
  let removed = new Map<string, string>();
  let added = new Map<string, string>();
  const flush = () => {
    for (const [name, before] of removed) {
      const after = added.get(name);
      if (after !== undefined && after.trim() !== before.trim())
        out.push({ name, file, before: before.trim(), after: after.trim() });
    }
    removed = new Map();
    added = new Map();
  };
  for (const line of diff.split('\n')) {
    if (line.startsWith('+++ ')) {
      flush();
      file = line.slice(4).replace(/^b\//, '').trim();
      continue;
    }
    if (line.startsWith('--- ') || line.startsWith('diff --git')) continue;
    const sign = line[0];
    if (sign !== '+' && sign !== '-') continue;
    const name = definedName(file, line.slice(1));
    if (!name || name.startsWith('_')) continue;
    (sign === '-' ? removed : added).set(name, line.slice(1));
  }
  flush();
  return out;
}

export interface DocSection {
  file: string;
  /** 1-based first line of the section, and its heading (empty before the first heading). */
  line: number;
  heading: string;
  text: string;
}

/** Documentation files of a tree, by path: READMEs, CHANGELOGs, Markdown and reStructuredText files. */
export const isDocFile = (path: string): boolean =>
  /(^|\/)(README|CHANGELOG|CHANGES|HISTORY)(\.[a-z]+)?$/i.test(path) || /\.(md|rst)$/i.test(path);

/** The changelog at the repository root, if it keeps one. */
export const changelogOf = (paths: readonly string[]): string | undefined =>
  paths.find((p) => /^(CHANGELOG|CHANGES|HISTORY)(\.(md|rst|txt))?$/i.test(p));

const word = (name: string) => new RegExp(`(^|[^\\w$])${name.replace(/\$/g, '\\$')}([^\\w$]|$)`);

/**
 * The sections of a documentation file (split at Markdown headings) that mention one of `names` as a whole
 * word. A file without headings is one section.
 */
export function sectionsMentioning(file: string, text: string, names: readonly string[]): DocSection[] {
  const tests = names.map(word);
  const lines = text.split('\n');
  const out: DocSection[] = [];
  let start = 0;
  const close = (end: number) => {
    const body = lines.slice(start, end).join('\n');
    if (body.trim() && tests.some((t) => t.test(body)))
      out.push({
        file,
        line: start + 1,
        heading: /^#{1,6}\s/.test(lines[start] ?? '') ? lines[start]!.trim() : '',
        text: body,
      });
  };
  let fenced = false;
  lines.forEach((l, i) => {
    if (/^\s*(```|~~~)/.test(l)) fenced = !fenced;
    if (!fenced && i > start && /^#{1,6}\s/.test(l)) {
      close(i);
      start = i;
    }
  });
  close(lines.length);
  return out;
}

/**
 * The lines around a function's definition in `text` (its doc comment above, its docstring and body below),
 * numbered, for the prompt; undefined when the definition line is not found.
 */
export function definitionContext(text: string, defLine: string): string | undefined {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.trim() === defLine.trim());
  if (at < 0) return undefined;
  const from = Math.max(0, at - 12);
  return lines
    .slice(from, at + 30)
    .map((l, i) => `${from + i + 1}: ${l}`)
    .join('\n');
}
