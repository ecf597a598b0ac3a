import { describe, expect, it } from 'vitest';
import { DEFAULT_WEIGHTS, type FileFeatures } from './rank.ts';
import { snippetWhy } from './responder.ts';
import { whyRanked } from './why.ts';

const none = (): FileFeatures =>
  new Proxy({} as FileFeatures, { get: (t, k) => (t as Record<string | symbol, number>)[k] ?? 0 });

describe('why a file was ranked', () => {
  it('names the biggest positive contributions first, each phrase once, and nothing negative', () => {
    const f = Object.assign(none(), { path: 1, title: 0.2, bm25: 0.1, bm25Flat: 1, churn: 1 });
    // path 2.145 > title 0.338 > bm25 0.0068 (below the floor); bm25Flat and churn weigh negatively.
    expect(whyRanked(f, DEFAULT_WEIGHTS)).toBe('the issue names its path; the issue title');
    expect(whyRanked(none(), DEFAULT_WEIGHTS)).toBe('');
  });

  it('a snippet says where its file stands in the ranking', () => {
    expect(snippetWhy({ rank: 2, why: 'a traceback frame in the issue' })).toBe(
      'file #2 of the ranking: a traceback frame in the issue',
    );
    expect(snippetWhy({ rank: 1, why: '' })).toBe('file #1 of the ranking');
    expect(snippetWhy(undefined)).toMatch(/matches the issue's words/);
  });
});
