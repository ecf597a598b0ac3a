// The Curator's bounded first answer for a repository it has not indexed yet: lexical over paths (BM25 on
// path terms), the files the query names (paths, traceback frames, dotted modules), and the files whose text
// holds the query's most specific words (one `git grep` over the commit, cut off at a deadline); then a
// window of the best few files around the lines that share most words with the query. Costs a second or
// two where a full index costs minutes; the full index (`curator.ts`) replaces it as soon as it is built.
import { spawn } from 'node:child_process';
import { Bm25Index } from './bm25.ts';
import { isBinary, MAX_FILE_BYTES } from './extract-file.ts';
import { listTree, readBlobs, resolveCommit, type TreeEntry } from './git.ts';
import { ModuleResolver } from './imports.ts';
import { languageOf } from './languages.ts';
import { findMentions } from './mentions.ts';
import { DEFAULT_WEIGHTS, filePenalty, filePrior } from './rank.ts';
import { queryTerms } from './signals.ts';
import { pathTerms, STOPWORDS } from './tokenize.ts';
import type { ChunkHit, SearchRepoOptions, SearchResult } from './types.ts';
import { gitEnv } from '../runtime/git.ts';

/** Lines shown of each file. */
const WINDOW = 60;
/** Files whose text is read for a snippet. */
const MAX_READ = 8;
/** How long the text search may take before its partial result is used. */
const GREP_MS = 1500;

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

/** Words of a query worth a text search: code-like identifiers first, then the longest words; at most `max`. */
export function grepWords(query: string, max = 8): string[] {
  const seen = new Map<string, number>();
  for (const m of query.matchAll(/[A-Za-z_][A-Za-z0-9_]{3,40}/g)) {
    const w = m[0];
    const lower = w.toLowerCase();
    if (STOPWORDS.has(lower) || seen.has(lower)) continue;
    const codeLike = /[a-z0-9]_[a-zA-Z0-9]|[a-z][A-Z]|^_/.test(w);
    seen.set(lower, (codeLike ? 100 : 0) + w.length);
  }
  return [...seen]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, max)
    .map(([w]) => w);
}

/**
 * Per file, the query words its text holds, scored like BM25's idf (a word few files hold counts more):
 * one `git grep -o` over the commit's blobs, killed at `deadlineMs` (what it printed by then still counts).
 */
export function grepScores(
  repoPath: string,
  commit: string,
  words: string[],
  fileCount: number,
  deadlineMs: number,
): Promise<Map<string, number>> {
  const scores = new Map<string, number>();
  if (words.length === 0) return Promise.resolve(scores);
  return new Promise((resolve) => {
    // The hardened env (as the Curator's other object reads): grep over a commit's blobs runs no driver, and a
    // partial clone's lazy fetch finds no transport allowed.
    const args = [
      '-C',
      repoPath,
      '--no-pager',
      'grep',
      '-I',
      '-i',
      '-o',
      '-w',
      '-F',
      '--no-color',
      '--no-textconv',
    ];
    for (const w of words) args.push('-e', w);
    const child = spawn('git', [...args, commit, '--'], {
      env: gitEnv(),
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const timer = setTimeout(() => child.kill(), deadlineMs);
    // word → path → occurrences
    const hits = new Map<string, Map<string, number>>();
    let rest = '';
    const take = (text: string) => {
      const lines = (rest + text).split('\n');
      rest = lines.pop()!;
      for (const line of lines) {
        const colon = line.lastIndexOf(':');
        if (colon <= commit.length) continue;
        const path = line.slice(commit.length + 1, colon);
        const word = line.slice(colon + 1).toLowerCase();
        const perPath = hits.get(word) ?? new Map<string, number>();
        hits.set(word, perPath);
        perPath.set(path, (perPath.get(path) ?? 0) + 1);
      }
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', take);
    const done = () => {
      clearTimeout(timer);
      for (const perPath of hits.values()) {
        const idf = Math.log(1 + fileCount / perPath.size);
        for (const [path, n] of perPath) scores.set(path, (scores.get(path) ?? 0) + idf * (1 + Math.log(n)));
      }
      resolve(scores);
    };
    child.on('close', done);
    child.on('error', done);
  });
}

/** Divides by the largest value, so each signal's best file scores 1. */
function normalised(m: Map<string, number>): Map<string, number> {
  let top = 0;
  for (const s of m.values()) top = Math.max(top, s);
  return top > 0 ? new Map([...m].map(([k, v]) => [k, v / top])) : m;
}

/** Files ranked by path words, mentions and (when given) text hits, best first. */
export function rankPaths(
  tree: Tree,
  query: string,
  textHits: Map<string, number> = new Map(),
): Array<{ path: string; score: number }> {
  const scores = new Map<string, number>();
  const add = (m: Map<string, number>, w: number) => {
    for (const [p, s] of m) scores.set(p, (scores.get(p) ?? 0) + w * s);
  };
  add(normalised(tree.lex.scoreAll(queryTerms(query))), 1.5);
  add(normalised(textHits), 1);
  const m = findMentions({ byBasename: tree.byBasename, resolver: tree.resolver, defs: new Map() }, query);
  add(m.paths, 4);
  add(m.frames, 3);
  add(m.modules, 3);
  add(m.packages, 0.5);
  return [...scores]
    .filter(([, s]) => s > 0)
    .map(([path, s]) => {
      // The ranking's own priors and penalties (tests, docs, non-code text), at half strength: these
      // scores run lower than the full ranking's.
      const lang = languageOf(path);
      const w = DEFAULT_WEIGHTS;
      return { path, score: s * filePrior(path, lang, w) + 0.5 * filePenalty(path, lang, w) };
    })
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
  const words = grepWords(opts.query);
  const textHits = await grepScores(opts.repoPath, tree.commit, words, tree.entries.length, GREP_MS);
  const files = rankPaths(tree, opts.query, textHits).slice(0, topK);
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
