// Why the Curator ranked a file where it did, in words: the signals that added most to its score. Shown to
// humans at the `post-plan` gate beside each snippet the Planner got.
import type { FileFeatures, RankWeights } from './rank.ts';

const PHRASES: Partial<Record<keyof FileFeatures, string>> = {
  bm25: "the issue's words (BM25)",
  bm25Flat: "the issue's words (BM25)",
  chunk: "code matching the issue's words",
  chunkTop3: "code matching the issue's words",
  title: 'the issue title',
  names: 'its path or the names it defines match the issue',
  path: 'the issue names its path',
  module: 'the issue names its module',
  package: 'the issue names its package',
  frame: 'a traceback frame in the issue',
  symbol: 'defines identifiers the issue uses',
  codeSymbol: 'defines identifiers the issue uses',
  qualified: 'defines a qualified name the issue uses',
  history: 'past commits with similar messages changed it',
  historyTitle: 'past commits with similar messages changed it',
  historyProfile: 'its commit history matches the issue',
  historyProfileTitle: 'its commit history matches the issue',
  cited: 'a commit the issue cites changed it',
  phrase: 'holds a string the issue quotes',
  pagerank: 'linked by imports or references to the best files',
  cochange: 'changed together with the best files',
};

/**
 * The (at most `max`) biggest positive contributions to a file's score, as distinct phrases, best first.
 * @example whyRanked({ path: 1, bm25: 0.4, ... }, DEFAULT_WEIGHTS) // 'the issue names its path; the issue title'
 */
export function whyRanked(f: FileFeatures, w: RankWeights, max = 3): string {
  const parts: Array<[string, number]> = [];
  for (const [name, phrase] of Object.entries(PHRASES) as Array<[keyof FileFeatures, string]>) {
    const weight = (w as unknown as Record<string, number>)[name] ?? 0;
    const c = weight * (f[name] ?? 0);
    if (c > 0.01) parts.push([phrase, c]);
  }
  parts.sort((a, b) => b[1] - a[1]);
  return [...new Set(parts.map(([p]) => p))].slice(0, max).join('; ');
}
