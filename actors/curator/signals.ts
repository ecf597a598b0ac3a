// The evidence a query yields per file, before weighting: lexical scores (file, chunk, title, names) and
// what the text names (paths, modules, packages, traceback frames, identifiers). Each is normalised per
// query so its best file scores 1.
//
// Files are numbered per index (`FileTable`, built once per index version) so a query works on typed arrays
// instead of maps keyed by path: a signal is a sparse list of (file, value) in the order a map keyed by path
// would have been filled, which keeps the fused ranking (ties included) what the map-based code produced.
import type { FileRecord } from './extract-file.ts';
import type { FileGraph } from './symbol-graph.ts';
import type { CommitHistory } from './history.ts';
import { findMentions, type Mentions } from './mentions.ts';
import { PhraseIndex } from './phrases.ts';
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
  /** Files changed by the past commits whose messages best match the query (see `history.ts`). */
  'history',
  /** The same, for the query's first line only. */
  'historyTitle',
  /** BM25 of the query against each file's history profile (messages of the commits that changed it). */
  'historyProfile',
  /** The same, for the query's first line. */
  'historyProfileTitle',
  /** Files changed by the commits the text cites, by id or by ticket / issue / pull-request number. */
  'cited',
  /** How often the file changed: log(1 + commits), all history (a prior, the same for every query). */
  'churn',
  /** How often the file changed in the last thousand commits. */
  'recentChurn',
  /** String literals of the file (messages, formats) that the text quotes verbatim (see `phrases.ts`). */
  'phrase',
] as const;
export type FileSignal = (typeof FILE_SIGNALS)[number];

const TEST_RE =
  /(^|\/)(tests?|testing|test_utils)\/|(^|\/)(test_[^/]*|[^/]*_tests?\.py|conftest\.py)$|\.(test|spec)\.[jt]sx?$/;
const DOC_RE = /(^|\/)(docs?|examples?|benchmarks?|asv_bench|tutorials?|galleries)\//;

export const isTestPath = (path: string): boolean => TEST_RE.test(path);
export const isDocPath = (path: string): boolean => DOC_RE.test(path);

/**
 * Per-index numbering of the indexed (not skipped) files and what a query needs of each, computed once per
 * index version: document numbers of the three BM25 indices mapped to files, chunk documents per file,
 * graph nodes, and the path facts the priors test.
 */
export interface FileTable {
  graph: FileGraph;
  /** file → path */
  paths: string[];
  slotOf: Map<string, number>;
  isTest: Uint8Array;
  isDoc: Uint8Array;
  isText: Uint8Array;
  /** log10(1 + lines) */
  logLines: Float64Array;
  /** graph node → file */
  slotOfNode: Int32Array;
  /** `fileLex`/`nameLex`/`chunkLex` document number → file (-1 for deleted documents). */
  fileDocSlot: Int32Array;
  nameDocSlot: Int32Array;
  chunkDocSlot: Int32Array;
  /** `chunkLex` document number → chunk number within its file. */
  chunkDocIndex: Int32Array;
  /** Chunk documents of file s by chunk number: `chunkDocs[chunkStart[s] + i]` (-1 when absent). */
  chunkStart: Int32Array;
  chunkDocs: Int32Array;
  /** Per-query scratch, all zero between queries. */
  records: FileRecord[];
  /** The files' string-literal phrases, by file number. */
  phrases: PhraseIndex;
  /** Per-query scratch, all zero between queries: three per-file score arrays and marks. */
  scratch: {
    a: Float64Array;
    b: Float64Array;
    c: Float64Array;
    score: Float64Array;
    fileMark: Uint8Array;
    topMark: Uint8Array;
    chunkMark: Uint8Array;
  };
}

const tables = new WeakMap<RepoIndex, FileTable>();

function docSlots(n: number, slotOf: Map<string, number>, key: (doc: number) => string | undefined) {
  const out = new Int32Array(n).fill(-1);
  for (let d = 0; d < n; d++) {
    const k = key(d);
    if (k !== undefined) out[d] = slotOf.get(k) ?? -1;
  }
  return out;
}

/** The file table of an index; rebuilt when the index moved (its graph is rebuilt with every change). */
export function fileTable(index: RepoIndex): FileTable {
  const graph = index.graph;
  const cached = tables.get(index);
  if (
    cached &&
    cached.graph === graph &&
    cached.fileDocSlot.length === index.fileLex.docCount &&
    cached.nameDocSlot.length === index.nameLex.docCount &&
    cached.chunkDocSlot.length === index.chunkLex.docCount
  ) {
    return cached;
  }
  const paths: string[] = [];
  for (const r of index.records.values()) if (!r.skip) paths.push(r.path);
  const n = paths.length;
  const slotOf = new Map(paths.map((p, i) => [p, i] as const));
  const isTest = new Uint8Array(n);
  const isDoc = new Uint8Array(n);
  const isText = new Uint8Array(n);
  const logLines = new Float64Array(n);
  const chunkStart = new Int32Array(n + 1);
  const records: FileRecord[] = [];
  for (let s = 0; s < n; s++) {
    const r = index.records.get(paths[s]!)!;
    records.push(r);
    isTest[s] = TEST_RE.test(r.path) ? 1 : 0;
    isDoc[s] = DOC_RE.test(r.path) ? 1 : 0;
    isText[s] = r.language === 'text' ? 1 : 0;
    logLines[s] = Math.log10(1 + (r.lines ?? 0));
    chunkStart[s + 1] = chunkStart[s]! + r.chunks.length;
  }
  const slotOfNode = new Int32Array(graph.paths.length);
  for (let i = 0; i < graph.paths.length; i++) slotOfNode[i] = slotOf.get(graph.paths[i]!) ?? -1;
  const { fileLex, nameLex, chunkLex } = index;
  const live = (lex: typeof fileLex, d: number) => (lex.isAlive(d) ? lex.idAt(d) : undefined);
  const fileDocSlot = docSlots(fileLex.docCount, slotOf, (d) => live(fileLex, d));
  const nameDocSlot = docSlots(nameLex.docCount, slotOf, (d) => live(nameLex, d));
  const chunkDocSlot = docSlots(chunkLex.docCount, slotOf, (d) =>
    chunkLex.isAlive(d) ? chunkLex.groupAt(d) : undefined,
  );
  const chunkDocIndex = new Int32Array(chunkLex.docCount).fill(-1);
  const chunkDocs = new Int32Array(chunkStart[n]!).fill(-1);
  for (let d = 0; d < chunkLex.docCount; d++) {
    const s = chunkDocSlot[d]!;
    if (s < 0) continue;
    const id = chunkLex.idAt(d);
    const i = Number(id.slice(id.lastIndexOf('#') + 1));
    chunkDocIndex[d] = i;
    if (i >= 0 && chunkStart[s]! + i < chunkStart[s + 1]!) chunkDocs[chunkStart[s]! + i] = d;
  }
  const table: FileTable = {
    graph,
    paths,
    slotOf,
    isTest,
    isDoc,
    isText,
    logLines,
    slotOfNode,
    fileDocSlot,
    nameDocSlot,
    chunkDocSlot,
    chunkDocIndex,
    chunkStart,
    chunkDocs,
    records,
    phrases: new PhraseIndex(records.map((r) => r.phrases)),
    scratch: {
      a: new Float64Array(n),
      b: new Float64Array(n),
      c: new Float64Array(n),
      score: new Float64Array(n),
      fileMark: new Uint8Array(n),
      topMark: new Uint8Array(n),
      chunkMark: new Uint8Array(chunkLex.docCount),
    },
  };
  tables.set(index, table);
  return table;
}

/** One signal over files: parallel lists of files and values, in first-seen order, best value 1. */
export interface SparseScores {
  slots: Int32Array;
  values: Float64Array;
}

export interface Signals {
  table: FileTable;
  terms: Map<string, number>;
  mentions: Mentions;
  files: Record<FileSignal, SparseScores>;
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

/** Divides the values by their maximum in place (unless no value is positive). */
function normaliseInPlace(s: SparseScores): SparseScores {
  const { values } = s;
  let max = 0;
  for (let i = 0; i < values.length; i++) if (values[i]! > max) max = values[i]!;
  if (max > 0) for (let i = 0; i < values.length; i++) values[i] = values[i]! / max;
  return s;
}

/** Scores by document number → normalised scores by file (documents of one file each). */
function byDoc(docs: number[], scores: Float64Array, docSlot: Int32Array): SparseScores {
  const slots = new Int32Array(docs.length);
  let k = 0;
  for (let i = 0; i < docs.length; i++) {
    const s = docSlot[docs[i]!]!;
    if (s < 0) continue;
    slots[k] = s;
    scores[k] = scores[i]!;
    k++;
  }
  return normaliseInPlace({ slots: slots.subarray(0, k), values: scores.subarray(0, k) });
}

function fromMap(m: Map<string, number>, slotOf: Map<string, number>): SparseScores {
  const slots = new Int32Array(m.size);
  const values = new Float64Array(m.size);
  let k = 0;
  for (const [p, v] of m) {
    const s = slotOf.get(p);
    if (s === undefined) continue;
    slots[k] = s;
    values[k++] = v;
  }
  return normaliseInPlace({ slots: slots.subarray(0, k), values: values.subarray(0, k) });
}

function fromSlots(m: Map<number, number>): SparseScores {
  return normaliseInPlace({ slots: Int32Array.from(m.keys()), values: Float64Array.from(m.values()) });
}

/** Query terms with damped frequencies (1 + ln tf): a long issue should not drown in one repeated word. */
export function queryTerms(text: string): Map<string, number> {
  const tf = addTerms(text);
  for (const [t, n] of tf) tf.set(t, 1 + Math.log(n));
  return tf;
}

// Churn is the same for every query: computed once per (history, file table) pair. Callers only read it.
const churnCache = new WeakMap<
  FileTable,
  { history: CommitHistory; size: number; all: SparseScores; recent: SparseScores }
>();

function churnSignals(history: CommitHistory, table: FileTable): { all: SparseScores; recent: SparseScores } {
  const hit = churnCache.get(table);
  if (hit && hit.history === history && hit.size === history.size) return hit;
  const { all, recent } = history.churn();
  const entry = {
    history,
    size: history.size,
    all: fromMap(all, table.slotOf),
    recent: fromMap(recent, table.slotOf),
  };
  churnCache.set(table, entry);
  return entry;
}

export function signals(index: RepoIndex, query: string): Signals {
  const table = fileTable(index);
  const terms = queryTerms(query);
  const mentions = findMentions(index, query);
  const { docs, scores: lex } = index.chunkLex.scoreDocs(terms);
  // Best, second and third chunk score per file (kept sorted), files in first-seen order.
  const { a: t0, b: t1, c: t2 } = table.scratch;
  const seen: number[] = [];
  const { chunkDocSlot } = table;
  let maxChunk = 0;
  for (let i = 0; i < docs.length; i++) {
    const f = chunkDocSlot[docs[i]!]!;
    if (f < 0) continue;
    const s = lex[i]!;
    if (s > maxChunk) maxChunk = s;
    if (t0[f] === 0) seen.push(f);
    if (s > t0[f]!) {
      t2[f] = t1[f]!;
      t1[f] = t0[f]!;
      t0[f] = s;
    } else if (s > t1[f]!) {
      t2[f] = t1[f]!;
      t1[f] = s;
    } else if (s > t2[f]!) t2[f] = s;
  }
  const best: SparseScores = { slots: Int32Array.from(seen), values: new Float64Array(seen.length) };
  const top3: SparseScores = { slots: best.slots, values: new Float64Array(seen.length) };
  for (let k = 0; k < seen.length; k++) {
    const f = seen[k]!;
    best.values[k] = t0[f]!;
    top3.values[k] = t0[f]! + t1[f]! + t2[f]!;
    t0[f] = 0;
    t1[f] = 0;
    t2[f] = 0;
  }
  const title = query.trimStart().split('\n', 1)[0] ?? '';
  const titleTerms = queryTerms(title);
  const file = (q: Map<string, number>, b?: number) => {
    const r = index.fileLex.scoreDocs(q, b);
    return byDoc(r.docs, r.scores, table.fileDocSlot);
  };
  const names = index.nameLex.scoreDocs(terms);
  const { slotOf } = table;
  const history = index.historyAtCommit;
  const churn = history ? churnSignals(history, table) : undefined;
  const none = new Map<string, number>();
  const files: Record<FileSignal, SparseScores> = {
    bm25: file(terms),
    bm25Flat: file(terms, 0.3),
    chunk: normaliseInPlace(best),
    chunkTop3: normaliseInPlace(top3),
    title: file(titleTerms),
    names: byDoc(names.docs, names.scores, table.nameDocSlot),
    path: fromMap(mentions.paths, slotOf),
    module: fromMap(mentions.modules, slotOf),
    package: fromMap(mentions.packages, slotOf),
    frame: fromMap(mentions.frames, slotOf),
    symbol: fromMap(mentions.symbols, slotOf),
    codeSymbol: fromMap(mentions.codeSymbols, slotOf),
    qualified: fromMap(mentions.qualified, slotOf),
    history: fromMap(history?.similar(terms) ?? none, slotOf),
    historyTitle: fromMap(history?.similar(titleTerms) ?? none, slotOf),
    cited: fromMap(history?.cited(query) ?? none, slotOf),
    historyProfile: fromMap(history?.profileScores(terms) ?? none, slotOf),
    historyProfileTitle: fromMap(history?.profileScores(titleTerms) ?? none, slotOf),
    churn: churn?.all ?? fromMap(none, slotOf),
    recentChurn: churn?.recent ?? fromMap(none, slotOf),
    phrase: fromSlots(table.phrases.match(query)),
  };
  return { table, terms, mentions, files, chunkDocs: docs, chunkLex: lex, maxChunk };
}
