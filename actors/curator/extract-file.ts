// Turns one file's content into the record an index keeps: chunks, terms, definitions, references, imports.
import { type ChunkSpan, chunkAst } from './chunk-ast.ts';
import { chunkLines, countLines } from './chunk-lines.ts';
import { extractImports } from './imports.ts';
import { languageOf } from './languages.ts';
import { extractPhrases } from './phrases.ts';
import { addTerms, pathTerms, splitIdentifier } from './tokenize.ts';
import type { Language } from './types.ts';

export const MAX_FILE_BYTES = 1024 * 1024;

/** What an index keeps of one file. Immutable: a changed file gets a new record. */
export interface FileRecord {
  path: string;
  blob: string;
  language: Language;
  /** Set for files left out of search; they keep a record so skip counts survive incremental updates. */
  skip?: 'binary' | 'tooLarge';
  parseError: boolean;
  lines: number;
  chunks: ChunkSpan[];
  /** Term frequencies of each chunk, parallel to `chunks`. */
  chunkTerms: Map<string, number>[];
  terms: Map<string, number>;
  /** Names the file defines (see `chunkAst`). */
  defs: string[];
  /** Identifiers the file uses, with counts (raw spelling, 3+ characters). */
  refs: Map<string, number>;
  /** Import specs (see `imports.ts`). */
  imports: string[];
  /** Normalised fragments of the file's string literals (see `phrases.ts`); empty for text files. */
  phrases: string[];
}

const IDENT = /[A-Za-z_][A-Za-z0-9_]{2,63}/g;

export function skippedRecord(path: string, blob: string, skip: 'binary' | 'tooLarge'): FileRecord {
  return {
    path,
    blob,
    language: languageOf(path),
    skip,
    parseError: false,
    lines: 0,
    chunks: [],
    chunkTerms: [],
    terms: new Map(),
    defs: [],
    refs: new Map(),
    imports: [],
    phrases: [],
  };
}

export function isBinary(buf: Buffer): boolean {
  const n = Math.min(buf.length, 8000);
  for (let i = 0; i < n; i++) if (buf[i] === 0) return true;
  return false;
}

/** Byte offset of the start of each line (index 0 = line 1), for slicing chunk texts. */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

export function sliceLines(text: string, starts: number[], startLine: number, endLine: number): string {
  const from = starts[startLine - 1] ?? text.length;
  const to = starts[endLine] ?? text.length;
  return text.slice(from, to);
}

export function extractFile(path: string, blob: string, content: Buffer): FileRecord {
  if (content.length > MAX_FILE_BYTES) return skippedRecord(path, blob, 'tooLarge');
  if (isBinary(content)) return skippedRecord(path, blob, 'binary');
  const text = content.toString('utf8');
  const language = languageOf(path);
  const lines = countLines(text);
  let chunks: ChunkSpan[];
  let defs: string[] = [];
  let parseError = false;
  if (language === 'text') {
    chunks = chunkLines(lines);
  } else {
    // A file the parser or the walk cannot handle (nesting deep enough to exhaust the stack) is indexed by
    // line windows, like text: one hostile file must not fail the repository's index.
    let ast: ReturnType<typeof chunkAst> | undefined;
    try {
      ast = chunkAst(language, text);
    } catch {
      ast = undefined;
    }
    chunks = ast?.chunks ?? [];
    defs = ast?.defs ?? [];
    parseError = ast?.hasError ?? true;
    if (chunks.length === 0 && lines > 0) chunks = chunkLines(lines);
  }
  const starts = lineStarts(text);
  // File terms are the sum of chunk bodies (chunks cover nearly all of a file) plus the path, weighted 2.
  const terms = pathTerms(path, new Map(), 2);
  const pathTf = pathTerms(path);
  const chunkTerms = chunks.map((c) => {
    const body = addTerms(sliceLines(text, starts, c.startLine, c.endLine));
    for (const [t, n] of body) terms.set(t, (terms.get(t) ?? 0) + n);
    if (c.symbol) addTerms(c.symbol.replace(/\./g, ' '), body, 2);
    for (const [t, n] of pathTf) body.set(t, (body.get(t) ?? 0) + n);
    return body;
  });
  const refs = new Map<string, number>();
  if (language !== 'text') {
    for (const m of text.matchAll(IDENT)) refs.set(m[0], (refs.get(m[0]) ?? 0) + 1);
    for (const d of defs) if (!d.includes('.')) refs.delete(d);
  }
  const imports = extractImports(path, language, text);
  const phrases = language === 'text' ? [] : extractPhrases(text);
  return {
    path,
    blob,
    language,
    parseError,
    lines,
    chunks,
    chunkTerms,
    terms,
    defs,
    refs,
    imports,
    phrases,
  };
}

/** Terms of a definition name, for matching names mentioned in prose. */
export function defTerms(def: string): string[] {
  return splitIdentifier(def.slice(def.lastIndexOf('.') + 1));
}
