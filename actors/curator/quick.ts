// The Curator's bounded first answer for a repository it has not indexed yet: lexical over paths (BM25 on
// path terms) plus the files the query names (paths, traceback frames, dotted modules), from the commit's
// tree alone; then a window of the best few files around the lines that share most words with the query.
// Reads only `git ls-tree` and the shown files' blobs, so it costs milliseconds where a full index costs
// minutes. The full index (`curator.ts`) replaces it as soon as it is built.
import { Bm25Index } from './bm25.ts';
import { isBinary, MAX_FILE_BYTES } from './extract-file.ts';
import { listTree, readBlobs, resolveCommit, type TreeEntry } from './git.ts';
import { ModuleResolver } from './imports.ts';
import { languageOf } from './languages.ts';
import { findMentions } from './mentions.ts';
import { DEFAULT_WEIGHTS, filePrior } from './rank.ts';
import { queryTerms } from './signals.ts';
import { pathTerms } from './tokenize.ts';
import type { ChunkHit, SearchRepoOptions, SearchResult } from './types.ts';

/** Lines shown of each file. */
const WINDOW = 60;
/** Files whose text is read for a snippet. */
const MAX_READ = 8;

interface Tree {
  commit: string;
  entries: TreeEntry[];
  lex: Bm25Index;
  byBasename: Map<string, string[]>;
  resolver: ModuleResolver;
}

/** The last few trees, by `repo\0commit`: a burst of queries on one commit lists its tree once. */
const trees = new Map<string, Tree>();
const MAX_TREES = 4;

function treeOf(repoPath: string, rev: string): Tree {
  const commit = resolveCommit(repoPath, rev);
  const key = `${repoPath}\0${commit}`;
  const hit = trees.get(key);
  if (hit) return hit;
  const entries = listTree(repoPath, commit);
  const lex = new Bm25Index();
  const byBasename = new Map<string, string[]>();
  for (const e of entries) {
    lex.put(e.path, pathTerms(e.path));
    const base = e.path.slice(e.path.lastIndexOf('/') + 1);
    const list = byBasename.get(base);
    if (list) list.push(e.path);
    else byBasename.set(base, [e.path]);
  }
  const tree = {
    commit,
    entries,
    lex,
    byBasename,
    resolver: new ModuleResolver(entries.map((e) => e.path)),
  };
  trees.set(key, tree);
  if (trees.size > MAX_TREES) trees.delete(trees.keys().next().value!);
  return tree;
}

/** Files ranked by path words and mentions (no contents read), best first. */
export function rankPaths(tree: Tree, query: string): Array<{ path: string; score: number }> {
  const scores = new Map<string, number>();
  const add = (m: Map<string, number>, w: number) => {
    for (const [p, s] of m) scores.set(p, (scores.get(p) ?? 0) + w * s);
  };
  const lexical = tree.lex.scoreAll(queryTerms(query));
  let top = 0;
  for (const s of lexical.values()) top = Math.max(top, s);
  if (top > 0) for (const [p, s] of lexical) scores.set(p, s / top);
  const m = findMentions({ byBasename: tree.byBasename, resolver: tree.resolver, defs: new Map() }, query);
  add(m.paths, 4);
  add(m.frames, 3);
  add(m.modules, 3);
  add(m.packages, 0.5);
  return [...scores]
    .map(([path, s]) => ({ path, score: s * filePrior(path, languageOf(path), DEFAULT_WEIGHTS) }))
    .filter((f) => f.score > 0)
    .sort((a, b) => b.score - a.score || (a.path < b.path ? -1 : 1));
}

/** The `WINDOW` lines of `text` around the line sharing most query terms (the file's head when none does). */
function bestWindow(text: string, terms: Map<string, number>): { startLine: number; endLine: number } {
  const lines = text.split('\n');
  let best = 0;
  let bestScore = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.length > 500) continue;
    let s = 0;
    for (const t of pathTerms(line.replace(/[^\w]+/g, ' ')).keys()) s += terms.get(t) ?? 0;
    if (s > bestScore) {
      bestScore = s;
      best = i;
    }
  }
  const start = Math.max(0, Math.min(best - Math.floor(WINDOW / 4), lines.length - WINDOW));
  return { startLine: start + 1, endLine: Math.min(lines.length, start + WINDOW) };
}

/**
 * A first answer from the tree and a few blobs, without an index.
 *
 * @example
 * const r = await quickSearch({ repoPath, commit, query: issueText, topK: 10 });
 */
export async function quickSearch(opts: SearchRepoOptions): Promise<SearchResult> {
  const t0 = performance.now();
  const topK = opts.topK ?? 10;
  const tree = treeOf(opts.repoPath, opts.commit ?? 'HEAD');
  const files = rankPaths(tree, opts.query).slice(0, topK);
  const sizes = new Map(tree.entries.map((e) => [e.path, e]));
  const shown = files
    .map((f) => sizes.get(f.path)!)
    .filter((e) => e.size <= MAX_FILE_BYTES)
    .slice(0, Math.min(topK, MAX_READ));
  const blobs = await readBlobs(opts.repoPath, [...new Set(shown.map((e) => e.blob))]);
  const terms = queryTerms(opts.query);
  const score = new Map(files.map((f) => [f.path, f.score]));
  const chunks: ChunkHit[] = [];
  for (const e of shown) {
    const content = blobs.get(e.blob);
    if (!content || isBinary(content)) continue;
    const text = content.toString('utf8');
    const { startLine, endLine } = bestWindow(text, terms);
    chunks.push({
      path: e.path,
      startLine,
      endLine,
      symbol: '',
      kind: 'window',
      score: score.get(e.path)!,
      text: text
        .split('\n')
        .slice(startLine - 1, endLine)
        .join('\n'),
    });
  }
  return { commit: tree.commit, files, chunks, ms: performance.now() - t0, index: 'quick' };
}
