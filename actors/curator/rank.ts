// Hybrid ranking of files: a weighted sum of per-query normalised signals (see `signals.ts`), plus
// personalized PageRank seeded by the best files and the files the text names (expansion along imports and
// references), with priors that demote tests, docs and non-code files. Chunks are ranked after the files.
import type { Mentions } from './mentions.ts';
import { personalizedPageRankNodes } from './pagerank.ts';
import { type RankedChunk, rankChunks } from './rank-chunks.ts';
import type { RepoIndex } from './repo-index.ts';
import {
  FILE_SIGNALS,
  type FileSignal,
  isDocPath,
  isTestPath,
  normalise,
  type Signals,
  signals,
} from './signals.ts';

export type { RankedChunk } from './rank-chunks.ts';

/** Weights of the ranking. Tuned on part of the localization dev set (see the Curator's report). */
export interface RankWeights extends Record<FileSignal, number> {
  pagerank: number;
  /** Files changed together with the seed files in past commits (see `CommitHistory.coChanged`). */
  cochange: number;
  /** Weight of log10(1 + lines) / 4. */
  size: number;
  /** Multipliers for tests, docs/examples, and non-code text files (1 = no change). */
  testPrior: number;
  docPrior: number;
  textPrior: number;
  /** Added to the score of tests, docs/examples and non-code text files (0 = no change). */
  testPenalty: number;
  docPenalty: number;
  textPenalty: number;
  /** How many top files seed PageRank besides the files the text names. */
  seeds: number;
}

// A linear model fitted by `fit-weights.ts` (softmax over each instance's top 200 candidate files, L2 0.001) on the
// instances of the localization dev set with md5(instance_id) % 3 == 0 (127 of 407); see the README for held-out figures.
export const DEFAULT_WEIGHTS: RankWeights = {
  bm25: 0.068,
  bm25Flat: -1.068,
  chunk: 1.98,
  chunkTop3: 1.904,
  title: 1.689,
  names: 1.473,
  path: 2.145,
  module: 0.446,
  package: -0.141,
  frame: 1.924,
  symbol: 1.78,
  codeSymbol: -1.522,
  qualified: 1.402,
  history: -0.537,
  historyTitle: 1.049,
  cited: 1.24,
  historyProfile: 1.236,
  historyProfileTitle: 2.299,
  churn: -0.324,
  recentChurn: 0.036,
  phrase: 0.513,
  cochange: 1.405,
  pagerank: 0.129,
  size: 0.341,
  testPrior: 1,
  docPrior: 1,
  textPrior: 1,
  testPenalty: -4.649,
  docPenalty: -1.628,
  textPenalty: -1.94,
  seeds: 10,
};

/** What a file's score is made of: each signal's value (0–1), PageRank, size and the path facts. */
export type FileFeatures = Record<
  FileSignal | 'pagerank' | 'cochange' | 'size' | 'test' | 'doc' | 'text',
  number
>;

export interface Ranking {
  /** `features` only when `rank` was asked to explain. */
  files: Array<{ path: string; score: number; features?: FileFeatures }>;
  chunks: RankedChunk[];
  mentions: Mentions;
}

export function filePrior(path: string, language: string, w: RankWeights): number {
  return prior(isTestPath(path), isDocPath(path), language === 'text', w);
}

export function filePenalty(path: string, language: string, w: RankWeights): number {
  return penalty(isTestPath(path), isDocPath(path), language === 'text', w);
}

function prior(
  test: boolean | number,
  doc: boolean | number,
  text: boolean | number,
  w: RankWeights,
): number {
  let p = 1;
  if (test) p *= w.testPrior;
  if (doc) p *= w.docPrior;
  if (text) p *= w.textPrior;
  return p;
}

function penalty(
  test: boolean | number,
  doc: boolean | number,
  text: boolean | number,
  w: RankWeights,
): number {
  let p = 0;
  if (test) p += w.testPenalty;
  if (doc) p += w.docPenalty;
  if (text) p += w.textPenalty;
  return p;
}

/** The first `k` of `items` by `before` (a strict order, ties kept in input order), by insertion. */
function topBy(items: number[], k: number, before: (a: number, b: number) => boolean): number[] {
  const top: number[] = [];
  if (k <= 0) return top;
  for (const f of items) {
    let j = top.length;
    if (j === k) {
      if (!before(f, top[k - 1]!)) continue;
      j = k - 1;
    }
    while (j > 0 && before(f, top[j - 1]!)) {
      top[j] = top[j - 1]!;
      j--;
    }
    top[j] = f;
  }
  return top;
}

/**
 * The files that seed expansion: the `w.seeds` best files so far (their scores in `sig.table.scratch.score`)
 * and the files the text names by path, module or traceback frame.
 */
function seedFiles(sig: Signals, order: number[], w: RankWeights): Map<string, number> {
  const { paths } = sig.table;
  const { score } = sig.table.scratch;
  // As `[...base].sort(desc).slice(0, seeds)` would pick: ties in first-seen order.
  const k = w.seeds >= 0 ? Math.trunc(w.seeds) : Math.max(0, order.length + Math.trunc(w.seeds));
  const seeds = new Map<string, number>();
  for (const f of topBy(order, k, (a, b) => score[a]! > score[b]!)) seeds.set(paths[f]!, score[f]!);
  for (const name of ['path', 'module', 'frame'] as const) {
    const { slots, values } = sig.files[name];
    for (let i = 0; i < slots.length; i++) {
      const p = paths[slots[i]!]!;
      seeds.set(p, Math.max(seeds.get(p) ?? 0, values[i]!));
    }
  }
  return seeds;
}

/** Personalized PageRank per graph node from the seeds (expansion along imports and references), best 1. */
function pagerankOfFiles(sig: Signals, seeds: Map<string, number>): Float64Array | undefined {
  const pr = personalizedPageRankNodes(sig.table.graph, seeds);
  if (!pr) return undefined;
  let max = 0;
  for (let i = 0; i < pr.length; i++) if (pr[i]! > max) max = pr[i]!;
  for (let i = 0; i < pr.length; i++) pr[i] = pr[i]! / max;
  return pr;
}

function explain(
  sig: Signals,
  pr: Float64Array | undefined,
  co: Map<string, number> | undefined,
  best: number[],
  files: Ranking['files'],
): void {
  const t = sig.table;
  const at = new Map(best.map((f, i) => [f, i] as const));
  const rows = best.map((f) => {
    const node = t.graph.indexOf.get(t.paths[f]!);
    const row = {
      pagerank: pr && node !== undefined ? pr[node]! : 0,
      cochange: co?.get(t.paths[f]!) ?? 0,
      size: t.logLines[f]! / 4,
    } as FileFeatures;
    row.test = t.isTest[f]!;
    row.doc = t.isDoc[f]!;
    row.text = t.isText[f]!;
    for (const name of FILE_SIGNALS) row[name] = 0;
    return row;
  });
  for (const name of FILE_SIGNALS) {
    const { slots, values } = sig.files[name];
    for (let k = 0; k < slots.length; k++) {
      const i = at.get(slots[k]!);
      if (i !== undefined) rows[i]![name] = values[k]!;
    }
  }
  files.forEach((file, i) => {
    file.features = rows[i];
  });
}

export function rank(
  index: RepoIndex,
  query: string,
  topK: number,
  w: RankWeights = DEFAULT_WEIGHTS,
  opts: { explain?: boolean } = {},
): Ranking {
  const sig = signals(index, query);
  let pr: Float64Array | undefined;
  let co: Map<string, number> | undefined;
  const t = sig.table;
  const { paths, isTest, isDoc, isText } = t;
  const { score, fileMark, topMark } = t.scratch;
  // Files with any evidence, in the order they first got some (that order breaks ties between seeds).
  const order: number[] = [];
  try {
    for (const name of FILE_SIGNALS) {
      const weight = w[name];
      if (!weight) continue;
      const { slots, values } = sig.files[name];
      for (let k = 0; k < slots.length; k++) {
        const f = slots[k]!;
        if (!fileMark[f]) {
          fileMark[f] = 1;
          order.push(f);
        }
        score[f] = score[f]! + weight * values[k]!;
      }
    }
    if (w.size) for (const f of order) score[f] = score[f]! + (w.size * t.logLines[f]!) / 4;
    const priorOf = (f: number) => prior(isTest[f]!, isDoc[f]!, isText[f]!, w);
    for (const f of order) score[f] = score[f]! * priorOf(f);

    const history = index.historyAtCommit;
    const expand = w.pagerank > 0 || (w.cochange !== 0 && history) || opts.explain;
    const seeds = expand ? seedFiles(sig, order, w) : undefined;
    if (seeds && (w.pagerank > 0 || opts.explain)) pr = pagerankOfFiles(sig, seeds);
    if (seeds && history && (w.cochange !== 0 || opts.explain)) co = normalise(history.coChanged(seeds));
    if (co && w.cochange !== 0) {
      for (const [p, v] of co) {
        const f = t.slotOf.get(p);
        if (f === undefined) continue;
        if (!fileMark[f]) {
          fileMark[f] = 1;
          order.push(f);
        }
        score[f] = score[f]! + w.cochange * v * priorOf(f);
      }
    }
    if (w.pagerank > 0) {
      if (pr) {
        for (let i = 0; i < pr.length; i++) {
          const f = t.slotOfNode[i]!;
          if (!(pr[i]! > 0) || f < 0) continue;
          if (!fileMark[f]) {
            fileMark[f] = 1;
            order.push(f);
          }
          score[f] = score[f]! + w.pagerank * pr[i]! * priorOf(f);
        }
      }
    }
    if (w.testPenalty || w.docPenalty || w.textPenalty) {
      for (const f of order) score[f] = score[f]! + penalty(isTest[f]!, isDoc[f]!, isText[f]!, w);
    }
    const byScore = (a: number, b: number) =>
      score[a]! > score[b]! || (score[a] === score[b] && paths[a]! < paths[b]!);
    const n = Math.max(topK, 20);
    const best =
      n <= 64
        ? topBy(order, n, byScore)
        : order
            .slice()
            .sort((a, b) => (byScore(a, b) ? -1 : byScore(b, a) ? 1 : 0))
            .slice(0, n);
    const files: Ranking['files'] = best.map((f) => ({ path: paths[f]!, score: score[f]! }));
    if (opts.explain) explain(sig, pr, co, best, files);

    const topFiles = best.slice(0, 10);
    for (const f of topFiles) topMark[f] = 1;
    const { chunkDocs: docs, chunkLex: lex, maxChunk } = sig;
    const chunkDocs: number[] = [];
    const chunkLex: number[] = [];
    for (let i = 0; i < docs.length; i++) {
      const f = t.chunkDocSlot[docs[i]!]!;
      if (lex[i]! > 0.5 * maxChunk || (f >= 0 && topMark[f])) {
        chunkDocs.push(docs[i]!);
        chunkLex.push(lex[i]! / (maxChunk || 1));
      }
    }
    let maxFile = 0;
    for (const f of order) if (score[f]! > maxFile) maxFile = score[f]!;
    return {
      files,
      chunks: rankChunks(
        t,
        chunkDocs,
        chunkLex,
        topFiles,
        (f) => (fileMark[f] ? score[f]! : 0),
        maxFile,
        sig.mentions,
        topK,
      ),
      mentions: sig.mentions,
    };
  } finally {
    for (const f of order) {
      score[f] = 0;
      fileMark[f] = 0;
      topMark[f] = 0;
    }
  }
}
