// SAST over the changed code: the tree-sitter queries of `sast-rules.ts` run over each changed Python or
// JS/TS file as it is after the patch; a match is reported only when it spans a line the patch adds.
import Parser from 'tree-sitter';
// The Curator's parsers, not its public surface: that surface loads the whole index engine, and the grammars
// must be loaded once per process (node-tree-sitter keeps one parser per language).
import { languageOf, parseSource, parserFor } from '../curator/languages.ts';
import type { ChangedFile } from './diff-files.ts';
import { SAST_QUERIES, type SastLanguage, type SastQuery } from './sast-rules.ts';

export interface SastMatch {
  ruleId: string;
  cwe: string;
  file: string;
  /** 1-based, in the post-patch file. */
  line: number;
  message: string;
  /** The matched code, first line, at most 120 characters. */
  code: string;
}

type Parsed = 'python' | 'javascript' | 'typescript' | 'tsx';
const FAMILY: Record<Parsed, SastLanguage> = {
  python: 'python',
  javascript: 'js',
  typescript: 'js',
  tsx: 'js',
};

const compiled = new Map<Parsed, { rule: SastQuery; query: Parser.Query }[]>();

function queriesFor(language: Parsed): { rule: SastQuery; query: Parser.Query }[] {
  let qs = compiled.get(language);
  if (!qs) {
    const grammar = parserFor(language).getLanguage();
    qs = SAST_QUERIES.filter((r) => r.language === FAMILY[language]).map((rule) => ({
      rule,
      query: new Parser.Query(grammar, rule.query),
    }));
    compiled.set(language, qs);
  }
  return qs;
}

/** Whether SAST looks at this path at all. */
export function sastLanguage(path: string): Parsed | undefined {
  const l = languageOf(path);
  return l in FAMILY ? (l as Parsed) : undefined;
}

/**
 * Runs the SAST queries over one file's post-patch text, keeping matches on added lines.
 *
 * @example
 * scanSource('app.py', 'import subprocess\nsubprocess.run(x, shell=True)\n', new Set([2]))
 * // [{ ruleId: 'py-subprocess-shell', cwe: 'CWE-78', file: 'app.py', line: 2, ... }]
 */
export function scanSource(path: string, text: string, added: ReadonlySet<number>): SastMatch[] {
  const language = sastLanguage(path);
  if (!language) return [];
  const tree = parseSource(language, text);
  const out: SastMatch[] = [];
  const seen = new Set<string>();
  for (const { rule, query } of queriesFor(language)) {
    for (const m of query.matches(tree.rootNode)) {
      const caps: Record<string, Parser.SyntaxNode> = {};
      for (const c of m.captures) caps[c.name] = c.node;
      const hit = caps.hit;
      if (!hit || (rule.accept && !rule.accept(caps))) continue;
      const first = hit.startPosition.row + 1;
      const last = hit.endPosition.row + 1;
      let line = 0;
      for (let l = first; l <= last; l++)
        if (added.has(l)) {
          line = l;
          break;
        }
      const key = `${rule.id}:${hit.startIndex}`;
      if (line === 0 || seen.has(key)) continue;
      seen.add(key);
      out.push({
        ruleId: rule.id,
        cwe: rule.cwe,
        file: path,
        line,
        message: rule.message,
        code: (hit.text.split('\n')[0] ?? '').slice(0, 120),
      });
    }
  }
  return out.sort((a, b) => a.line - b.line || a.ruleId.localeCompare(b.ruleId));
}

/** SAST over every changed file it understands; `read` returns a file's post-patch text (undefined: gone). */
export async function scanChangedCode(
  files: readonly ChangedFile[],
  read: (path: string) => Promise<string | undefined>,
): Promise<{ matches: SastMatch[]; notes: string[] }> {
  const matches: SastMatch[] = [];
  const notes: string[] = [];
  for (const f of files) {
    if (!sastLanguage(f.path)) continue;
    const text = await read(f.path);
    if (text === undefined) {
      notes.push(`${f.path}: not readable after the patch, not scanned by SAST`);
      continue;
    }
    matches.push(...scanSource(f.path, text, f.added));
  }
  return { matches, notes };
}

/** The rule ids SAST knows (a bundle's `sast` rules must be among them). */
export const sastRuleIds: ReadonlySet<string> = new Set(SAST_QUERIES.map((q) => q.id));
export const sastCwe = (id: string): string | undefined => SAST_QUERIES.find((q) => q.id === id)?.cwe;
