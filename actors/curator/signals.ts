// The evidence a query yields per file, before weighting: lexical scores (file, chunk, title, names) and
// what the text names (paths, modules, packages, traceback frames, identifiers). Each is normalised per
// query so its best file scores 1.
import { findMentions, type Mentions } from './mentions.ts';
import type { RepoIndex } from './repo-index.ts';
import { addTerms } from './tokenize.ts';

export const FILE_SIGNALS = [
  /** File BM25 over the whole query. */
  'bm25',
  /** File BM25 with weak length normalisation (b = 0.3): long central files are often the ones to fix. */
  'bm25Flat',
  /** Best chunk BM25 of the file. */
  'chunk',
  /** Sum of the file's three best chunk scores. */
  'chunkTop3',
  /** File BM25 of the query's first line (an issue's title). */
  'title',
  /** BM25 over the file's path and the names it defines. */
  'names',
  /** Written paths (`django/db/models/query.py`). */
  'path',
  /** Dotted module names (`django.db.models.query`, imports in code blocks). */
  'module',
  /** Dotted names resolving to a package `__init__`. */
  'package',
  /** Traceback frames, later frames weighing more. */
  'frame',
  /** Definitions of identifiers the text uses. */
  'symbol',
  /** Definitions of code-like identifiers only (snake_case, camelCase, in code). */
  'codeSymbol',
  /** Definitions of qualified names (`QuerySet.order_by`). */
  'qualified',
] as const;
export type FileSignal = (typeof FILE_SIGNALS)[number];

export interface Signals {
  terms: Map<string, number>;
  mentions: Mentions;
  files: Record<FileSignal, Map<string, number>>;
  /** Raw chunk BM25: internal doc numbers of `index.chunkLex`, their scores, and the maximum. */
  chunkDocs: number[];
  chunkLex: Float64Array;
  maxChunk: number;
}

export function normalise(m: Map<string, number>): Map<string, number> {
  let max = 0;
  for (const v of m.values()) if (v > max) max = v;
  if (max <= 0) return m;
  const out = new Map<string, number>();
  for (const [k, v] of m) out.set(k, v / max);
  return out;
}

/** Query terms with damped frequencies (1 + ln tf): a long issue should not drown in one repeated word. */
export function queryTerms(text: string): Map<string, number> {
  const tf = addTerms(text);
  for (const [t, n] of tf) tf.set(t, 1 + Math.log(n));
  return tf;
}

export function signals(index: RepoIndex, query: string): Signals {
  const terms = queryTerms(query);
  const mentions = findMentions(index, query);
  const { docs, scores: lex } = index.chunkLex.scoreDocs(terms);
  const best = new Map<string, number>();
  const top3 = new Map<string, [number, number, number]>();
  let maxChunk = 0;
  for (let i = 0; i < docs.length; i++) {
    const path = index.chunkLex.groupAt(docs[i]!)!;
    const s = lex[i]!;
    if (s > (best.get(path) ?? 0)) best.set(path, s);
    if (s > maxChunk) maxChunk = s;
    let t = top3.get(path);
    if (!t) {
      t = [0, 0, 0];
      top3.set(path, t);
    }
    if (s > t[2]) {
      t[2] = s;
      t.sort((a, b) => b - a);
    }
  }
  const chunkTop3 = new Map<string, number>();
  for (const [p, t] of top3) chunkTop3.set(p, t[0] + t[1] + t[2]);
  const title = query.trimStart().split('\n', 1)[0] ?? '';
  const files: Record<FileSignal, Map<string, number>> = {
    bm25: normalise(index.fileLex.scoreAll(terms)),
    bm25Flat: normalise(index.fileLex.scoreAll(terms, 0.3)),
    chunk: normalise(best),
    chunkTop3: normalise(chunkTop3),
    title: normalise(index.fileLex.scoreAll(queryTerms(title))),
    names: normalise(index.nameLex.scoreAll(terms)),
    path: normalise(mentions.paths),
    module: normalise(mentions.modules),
    package: normalise(mentions.packages),
    frame: normalise(mentions.frames),
    symbol: normalise(mentions.symbols),
    codeSymbol: normalise(mentions.codeSymbols),
    qualified: normalise(mentions.qualified),
  };
  return { terms, mentions, files, chunkDocs: docs, chunkLex: lex, maxChunk };
}
