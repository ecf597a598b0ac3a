// Language detection by file extension and the tree-sitter parsers (native, one per language, created lazily).
import Parser from 'tree-sitter';
import Go from 'tree-sitter-go';
import Java from 'tree-sitter-java';
import JavaScript from 'tree-sitter-javascript';
import Python from 'tree-sitter-python';
import TypeScript from 'tree-sitter-typescript';
import type { Language } from './types.ts';

const BY_EXT: Record<string, Language> = {
  py: 'python',
  pyi: 'python',
  ts: 'typescript',
  mts: 'typescript',
  cts: 'typescript',
  tsx: 'tsx',
  js: 'javascript',
  mjs: 'javascript',
  cjs: 'javascript',
  jsx: 'javascript',
  go: 'go',
  java: 'java',
};

export function languageOf(path: string): Language {
  const dot = path.lastIndexOf('.');
  if (dot < 0 || dot < path.lastIndexOf('/')) return 'text';
  return BY_EXT[path.slice(dot + 1).toLowerCase()] ?? 'text';
}

// The grammar packages' typings do not match tree-sitter 0.21's `Language` type exactly.
type Grammar = Parameters<Parser['setLanguage']>[0];
const GRAMMARS: Record<Exclude<Language, 'text'>, () => Grammar> = {
  python: () => Python as unknown as Grammar,
  typescript: () => (TypeScript as unknown as { typescript: Grammar }).typescript,
  tsx: () => (TypeScript as unknown as { tsx: Grammar }).tsx,
  javascript: () => JavaScript as unknown as Grammar,
  go: () => Go as unknown as Grammar,
  java: () => Java as unknown as Grammar,
};

const parsers = new Map<Language, Parser>();

export function parserFor(language: Exclude<Language, 'text'>): Parser {
  let p = parsers.get(language);
  if (!p) {
    p = new Parser();
    p.setLanguage(GRAMMARS[language]());
    parsers.set(language, p);
  }
  return p;
}

/**
 * Parses a source text. node-tree-sitter 0.21 rejects strings longer than its default 32 KiB buffer
 * ("Invalid argument") unless `bufferSize` covers the text.
 */
export function parseSource(language: Exclude<Language, 'text'>, text: string): Parser.Tree {
  return parserFor(language).parse(text, undefined, {
    bufferSize: Math.max(32 * 1024, text.length * 2 + 16),
  });
}
