import { describe, expect, it } from 'vitest';
import type { FeatureRow } from './eval-localize.ts';
import { evaluate, FEATURES, fitWeights, isTraining, toExample, toRankWeights } from './fit-weights.ts';
import type { FileFeatures } from './rank.ts';

const features = (over: Partial<FileFeatures>): FileFeatures =>
  ({ ...Object.fromEntries(FEATURES.map((f) => [f, 0])), ...over }) as FileFeatures;

/** Instances where the gold file is the one with the highest `history`, while `bm25` points elsewhere. */
function rows(n: number): FeatureRow[] {
  return Array.from({ length: n }, (_, i) => ({
    instance_id: `x-${i}`,
    gold_files: [`gold${i}.py`],
    candidates: [
      { path: `decoy${i}.py`, features: features({ bm25: 1, history: 0.2 }) },
      { path: `gold${i}.py`, features: features({ bm25: 0.6, history: 1 }) },
      { path: `other${i}.py`, features: features({ bm25: 0.3, history: 0.1 }) },
    ],
  }));
}

describe('fit-weights', () => {
  it('learns to rank by the signal that finds the gold file', () => {
    const data = rows(30).map(toExample);
    const zero = new Float64Array(FEATURES.length);
    zero[FEATURES.indexOf('bm25')] = 1;
    expect(evaluate(data, zero).acc[0]).toBe(0);
    const w = fitWeights(data, { steps: 300 });
    expect(evaluate(data, w).acc).toEqual([100, 100, 100]);
    const weights = toRankWeights(w);
    expect(weights.history).toBeGreaterThan(weights.bm25);
    expect(weights.testPrior).toBe(1);
  });

  it('counts a gold file missing from the candidates as a miss', () => {
    const [row] = rows(1);
    const ex = toExample({ ...row!, gold_files: [...row!.gold_files, 'absent.py'] });
    expect(ex.missing).toBe(1);
    const w = new Float64Array(FEATURES.length);
    w[FEATURES.indexOf('history')] = 1;
    expect(evaluate([ex], w).acc).toEqual([0, 0, 0]);
  });

  it('splits instances by md5(id) mod n', () => {
    const ids = Array.from({ length: 300 }, (_, i) => `repo__x-${i}`);
    const share = ids.filter((id) => isTraining(id, 3)).length / ids.length;
    expect(share).toBeGreaterThan(0.25);
    expect(share).toBeLessThan(0.42);
  });
});
