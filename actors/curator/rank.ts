// Hybrid ranking: file BM25, best-chunk BM25, paths/modules/traceback frames and identifiers named in the
// query, and personalized PageRank seeded by those matches, fused as a weighted sum of per-query normalised
// scores times a prior that demotes tests, docs and non-code files. Chunks are then ranked with a per-file cap.
import { findMentions, type Mentions } from './mentions.ts';
import { personalizedPageRank } from './pagerank.ts';
import { parseChunkId, type RepoIndex } from './repo-index.ts';
import { addTerms } from './tokenize.ts';
import type { ChunkKind } from './types.ts';

export interface RankWeights {
  bm25: number;
  chunk: number;
  path: number;
  module: number;
  package: number;
  names: number;
  title: number;
  /** File BM25 with weak length normalisation (b = 0.3): long central files are often the ones to fix. */
  bm25Flat: number;
  /** Sum of the file's three best chunk scores. */
  chunkTop3: number;
  /** log10(1 + lines) / 4: a mild preference for larger files. */
  size: number;
  codeSymbol: number;
  qualified: number;
  frame: number;
  symbol: number;
  pagerank: number;
  /** Multipliers for file classes (1 = no change). */
  testPrior: number;
  docPrior: number;
  textPrior: number;
  /** How many top files seed PageRank besides the named ones. */
  seeds: number;
}

export const DEFAULT_WEIGHTS: RankWeights = {
  bm25: 1,
  chunk: 0.6,
  path: 1.5,
  module: 1,
  package: 0.3,
  names: 0.3,
  title: 0,
  bm25Flat: 0,
  chunkTop3: 0,
  size: 0,
  codeSymbol: 0,
  qualified: 0,
  frame: 0.8,
  symbol: 1,
  pagerank: 0.4,
  testPrior: 0.25,
  docPrior: 0.4,
  textPrior: 0.3,
  seeds: 10,
};

export interface RankedChunk {
  path: string;
  index: number;
  symbol: string;
  kind: ChunkKind;
  startLine: number;
  endLine: number;
  score: number;
}

export interface Ranking {
  files: Array<{ path: string; score: number }>;
  chunks: RankedChunk[];
  mentions: Mentions;
}

const TEST_RE =
  /(^|\/)(tests?|testing|test_utils)\/|(^|\/)(test_[^/]*|[^/]*_tests?\.py|conftest\.py)$|\.(test|spec)\.[jt]sx?$/;
const DOC_RE = /(^|\/)(docs?|examples?|benchmarks?|asv_bench|tutorials?|galleries)\//;

export function filePrior(path: string, language: string, w: RankWeights): number {
  let p = 1;
  if (TEST_RE.test(path)) p *= w.testPrior;
  if (DOC_RE.test(path)) p *= w.docPrior;
  if (language === 'text') p *= w.textPrior;
  return p;
}

function normalise(m: Map<string, number>): Map<string, number> {
  let max = 0;
  for (const v of m.values()) if (v > max) max = v;
  if (max <= 0) return m;
  const out = new Map<string, number>();
  for (const [k, v] of m) out.set(k, v / max);
  return out;
}

export function queryTerms(text: string): Map<string, number> {
  const tf = addTerms(text);
  for (const [t, n] of tf) tf.set(t, 1 + Math.log(n));
  return tf;
}

export interface Signals {
  terms: Map<string, number>;
  mentions: Mentions;
  /** Per-query normalised (max = 1) scores per file. */
  bm25: Map<string, number>;
  chunk: Map<string, number>;
  paths: Map<string, number>;
  modules: Map<string, number>;
  packages: Map<string, number>;
  names: Map<string, number>;
  /** File BM25 of the first line of the query (an issue's title). */
  title: Map<string, number>;
  bm25Flat: Map<string, number>;
  chunkTop3: Map<string, number>;
  frames: Map<string, number>;
  symbols: Map<string, number>;
  codeSymbols: Map<string, number>;
  qualified: Map<string, number>;
  /** Raw chunk BM25 (internal doc numbers of `index.chunkLex`, scores) and its maximum. */
  chunkDocs: number[];
  chunkLex: Float64Array;
  maxChunk: number;
}

/** The per-file evidence a query yields, before weighting. */
export function signals(index: RepoIndex, query: string): Signals {
  const terms = queryTerms(query);
  const mentions = findMentions(index, query);
  const bm25 = normalise(index.fileLex.scoreAll(terms));
  const { docs, scores: lex } = index.chunkLex.scoreDocs(terms);
  const bestChunk = new Map<string, number>();
  const top3 = new Map<string, [number, number, number]>();
  let maxChunk = 0;
  for (let i = 0; i < docs.length; i++) {
    const path = index.chunkLex.groupAt(docs[i]!)!;
    const s = lex[i]!;
    if (s > (bestChunk.get(path) ?? 0)) bestChunk.set(path, s);
    if (s > maxChunk) maxChunk = s;
    const t = top3.get(path) ?? [0, 0, 0];
    if (s > t[2]) {
      t[2] = s;
      t.sort((a, b) => b - a);
    }
    top3.set(path, t);
  }
  const chunkTop3 = new Map<string, number>();
  for (const [p, t] of top3) chunkTop3.set(p, t[0] + t[1] + t[2]);
  return {
    terms,
    mentions,
    bm25,
    chunk: normalise(bestChunk),
    paths: normalise(mentions.paths),
    modules: normalise(mentions.modules),
    packages: normalise(mentions.packages),
    names: normalise(index.nameLex.scoreAll(terms)),
    title: normalise(index.fileLex.scoreAll(queryTerms(query.trimStart().split('\n', 1)[0] ?? ''))),
    bm25Flat: normalise(index.fileLex.scoreAll(terms, 0.3)),
    chunkTop3: normalise(chunkTop3),
    codeSymbols: normalise(mentions.codeSymbols),
    qualified: normalise(mentions.qualified),
    frames: normalise(mentions.frames),
    symbols: normalise(mentions.symbols),
    chunkDocs: docs,
    chunkLex: lex,
    maxChunk,
  };
}

export function rank(
  index: RepoIndex,
  query: string,
  topK: number,
  w: RankWeights = DEFAULT_WEIGHTS,
): Ranking {
  const sig = signals(index, query);
  const { mentions, bm25, chunk, paths, modules, packages, names, title, frames, symbols, maxChunk } = sig;
  const docs = sig.chunkDocs;
  const lex = sig.chunkLex;
  const base = new Map<string, number>();
  const addSignal = (m: Map<string, number>, weight: number) => {
    if (weight === 0) return;
    for (const [p, v] of m) base.set(p, (base.get(p) ?? 0) + weight * v);
  };
  addSignal(bm25, w.bm25);
  addSignal(chunk, w.chunk);
  addSignal(paths, w.path);
  addSignal(modules, w.module);
  addSignal(packages, w.package);
  addSignal(names, w.names);
  addSignal(title, w.title);
  addSignal(sig.bm25Flat, w.bm25Flat);
  addSignal(sig.chunkTop3, w.chunkTop3);
  if (w.size !== 0) {
    for (const p of base.keys()) base.set(p, base.get(p)! + (w.size * Math.log10(1 + (index.records.get(p)?.lines ?? 0))) / 4);
  }
  addSignal(sig.codeSymbols, w.codeSymbol);
  addSignal(sig.qualified, w.qualified);
  addSignal(frames, w.frame);
  addSignal(symbols, w.symbol);
  const prior = (p: string) => filePrior(p, index.records.get(p)?.language ?? 'text', w);
  for (const [p, v] of base) base.set(p, v * prior(p));

  let scores = base;
  if (w.pagerank > 0) {
    const seeds = new Map<string, number>();
    const top = [...base].sort((a, b) => b[1] - a[1]).slice(0, w.seeds);
    for (const [p, v] of top) seeds.set(p, v);
    for (const m of [paths, modules, frames]) for (const [p, v] of m) seeds.set(p, Math.max(seeds.get(p) ?? 0, v));
    const pr = normalise(personalizedPageRank(index.graph, seeds));
    scores = new Map(base);
    for (const [p, v] of pr) scores.set(p, (scores.get(p) ?? 0) + w.pagerank * v * prior(p));
  }
  const files = [...scores]
    .filter(([p]) => index.records.has(p))
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([path, score]) => ({ path, score }));

  const topFiles = new Set(files.slice(0, 10).map((f) => f.path));
  const chunkScores = new Map<string, number>();
  for (let i = 0; i < docs.length; i++) {
    const doc = docs[i]!;
    if (lex[i]! > 0.5 * maxChunk || topFiles.has(index.chunkLex.groupAt(doc)!)) {
      chunkScores.set(index.chunkLex.idAt(doc), lex[i]! / (maxChunk || 1));
    }
  }
  return {
    files: files.slice(0, Math.max(topK, 20)),
    chunks: rankChunks(index, chunkScores, topFiles, scores, mentions, topK),
    mentions,
  };
}

/** Chunks by their own BM25, their file's score and named symbols; at most 3 per file, each next one damped. */
function rankChunks(
  index: RepoIndex,
  chunkScores: Map<string, number>,
  topFiles: Set<string>,
  fileScores: Map<string, number>,
  mentions: Mentions,
  topK: number,
): RankedChunk[] {
  let maxFile = 0;
  for (const v of fileScores.values()) if (v > maxFile) maxFile = v;
  const candidates: RankedChunk[] = [];
  const consider = new Set<string>(topFiles);
  for (const id of chunkScores.keys()) consider.add(id);
  for (const key of consider) {
    const isChunk = key.includes('#');
    const paths = isChunk
      ? [parseChunkId(key)]
      : (index.records.get(key)?.chunks ?? []).map((_, i) => ({ path: key, index: i }));
    for (const { path, index: i } of paths) {
      const rec = index.records.get(path);
      const c = rec?.chunks[i];
      if (!rec || !c) continue;
      const lex = chunkScores.get(`${path}#${i}`) ?? 0;
      const file = (fileScores.get(path) ?? 0) / (maxFile || 1);
      const last = c.symbol.slice(c.symbol.lastIndexOf('.') + 1);
      const named = Math.min(
        2,
        (mentions.symbolNames.get(c.symbol) ?? 0) + (last ? (mentions.symbolNames.get(last) ?? 0) * 0.5 : 0),
      );
      const score = lex + file + 0.5 * named;
      candidates.push({
        path,
        index: i,
        symbol: c.symbol,
        kind: c.kind,
        startLine: c.startLine,
        endLine: c.endLine,
        score,
      });
    }
  }
  const seen = new Set<string>();
  const unique = candidates.filter((c) => {
    const k = `${c.path}#${c.index}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  unique.sort((a, b) => b.score - a.score);
  const perFile = new Map<string, number>();
  const out: RankedChunk[] = [];
  for (const c of unique) {
    const n = perFile.get(c.path) ?? 0;
    if (n >= 3) continue;
    perFile.set(c.path, n + 1);
    out.push({ ...c, score: c.score * 0.8 ** n });
  }
  out.sort((a, b) => b.score - a.score);
  return out.slice(0, topK);
}
