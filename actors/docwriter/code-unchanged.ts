// Holds the Doc Writer to documentation: an edit of a source file may change its comments and docstrings,
// never its code. The check compares the file's code tokens before and after (tree-sitter leaves outside
// comments and docstrings); a file the parsers do not read is compared line by line, where only comment lines
// may change. The model's edits are untrusted: a "docstring" edit that slips in a statement is refused.
import type Parser from 'tree-sitter';
import { languageOf, parseSource } from '../curator/languages.ts';

type Parsed = Exclude<ReturnType<typeof languageOf>, 'text'>;

const COMMENT_TYPES = new Set(['comment', 'line_comment', 'block_comment']);

/**
 * Whether `node` is documentation: a comment, or (Python) a statement that is a plain string literal — a
 * docstring or any other bare string, which has no effect when run. An f-string can call code when it is
 * evaluated, so a string with an interpolation is code.
 */
function isDoc(node: Parser.SyntaxNode, language: Parsed): boolean {
  if (COMMENT_TYPES.has(node.type)) return true;
  if (language !== 'python' || node.type !== 'expression_statement' || node.namedChildCount !== 1)
    return false;
  const only = node.namedChild(0);
  if (!only || (only.type !== 'string' && only.type !== 'concatenated_string')) return false;
  return !hasDescendant(only, 'interpolation');
}

function hasDescendant(node: Parser.SyntaxNode, type: string): boolean {
  if (node.type === type) return true;
  for (const child of node.children) if (hasDescendant(child, type)) return true;
  return false;
}

/** The code tokens of `text` (`type:text` of every leaf outside documentation); undefined on a parse error. */
export function codeTokens(language: Parsed, text: string): string[] | undefined {
  const tree = parseSource(language, text);
  if (tree.rootNode.hasError) return undefined;
  const out: string[] = [];
  const walk = (node: Parser.SyntaxNode) => {
    if (isDoc(node, language)) return;
    if (node.childCount === 0) {
      out.push(`${node.type}:${node.text}`);
      return;
    }
    for (const child of node.children) walk(child);
  };
  walk(tree.rootNode);
  return out;
}

const COMMENT_LINE = /^(#|\/\/|\/\*|\*|--|;|<!--)/;

/** The lines of one text not matched in the other (as multisets). */
function unmatched(a: string[], b: string[]): string[] {
  const counts = new Map<string, number>();
  for (const l of b) counts.set(l, (counts.get(l) ?? 0) + 1);
  const out: string[] = [];
  for (const l of a) {
    const n = counts.get(l) ?? 0;
    if (n > 0) counts.set(l, n - 1);
    else out.push(l);
  }
  return out;
}

/**
 * Why the edit from `before` to `after` changes more than documentation, or undefined when it changes only
 * comments and docstrings.
 *
 * @example
 * codeChangeIn('calc.py', 'def f():\n    """Old."""\n    return 1\n', 'def f():\n    """New."""\n    return 2\n')
 * // 'the code of calc.py changed (only comments and docstrings may)'
 */
export function codeChangeIn(path: string, before: string, after: string): string | undefined {
  const language = languageOf(path);
  if (language !== 'text') {
    const a = codeTokens(language, before);
    const b = codeTokens(language, after);
    if (a && !b) return `${path} no longer parses after the edit`;
    if (a && b) {
      const same = a.length === b.length && a.every((t, i) => t === b[i]);
      return same ? undefined : `the code of ${path} changed (only comments and docstrings may)`;
    }
  }
  // Not parsed (or not parsable before the edit): every line that differs must be a comment or blank.
  const la = before.split('\n');
  const lb = after.split('\n');
  const changed = [...unmatched(la, lb), ...unmatched(lb, la)].map((l) => l.trim());
  const bad = changed.find((l) => l !== '' && !COMMENT_LINE.test(l));
  return bad === undefined ? undefined : `${path}: a changed line is not a comment: ${bad.slice(0, 80)}`;
}
