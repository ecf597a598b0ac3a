// The confidence model's math: the fitter recovers known weights, Brier score and reliability bins, features.
import { describe, expect, it } from 'vitest';
import type { ConfidenceFeatures } from '../../schemas/index.ts';
import {
  brierScore,
  expectedCalibrationError,
  fitLogistic,
  isHeldOut,
  reliabilityBins,
  summarize,
} from './calibration.ts';
import {
  CONFIDENCE_FEATURE_NAMES,
  calibrate,
  confidenceFeatures,
  DEFAULT_CALIBRATION,
  featureVector,
  predict,
  retrievalMargin,
  sigmoid,
} from './confidence.ts';
import { seededRandom as rng } from '../../test/seeded-random.ts';

describe('fitLogistic', () => {
  it('recovers the weights that generated the labels', () => {
    const rand = rng(7);
    const truth = [-0.5, 1.5, -2, 0.8];
    const x: number[][] = [];
    const y: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const xi = [1, rand() * 2 - 1, rand() < 0.3 ? 1 : 0, rand() * 3];
      const p = sigmoid(xi.reduce((s, v, j) => s + v * truth[j]!, 0));
      x.push(xi);
      y.push(rand() < p ? 1 : 0);
    }
    const fit = fitLogistic(x, y, { l2: 0 });
    // Within sampling error of 20,000 labels (a few standard errors of ~0.03).
    for (const [j, w] of fit.weights.entries()) expect(Math.abs(w - truth[j]!)).toBeLessThan(0.12);
    expect(fit.iterations).toBeLessThan(20);
  });

  it('keeps a feature that never varies at 0 and fits the base rate with the bias', () => {
    const x = Array.from({ length: 100 }, () => [1, 0]);
    const y = Array.from({ length: 100 }, (_, i) => (i < 80 ? 1 : 0));
    const { weights } = fitLogistic(x, y);
    expect(weights[1]).toBe(0);
    expect(sigmoid(weights[0]!)).toBeCloseTo(0.8, 3);
  });

  it('refuses an empty data set', () => {
    expect(() => fitLogistic([], [])).toThrow(/no labelled examples/);
  });
});

describe('Brier score and reliability bins', () => {
  it('scores predictions against outcomes', () => {
    expect(brierScore([1, 0, 0.5], [true, false, true])).toBeCloseTo(0.25 / 3, 10);
    expect(brierScore([0.9, 0.9], [false, false])).toBeCloseTo(0.81, 10);
    expect(Number.isNaN(brierScore([], []))).toBe(true);
    expect(() => brierScore([0.1], [])).toThrow();
  });

  it('puts each prediction in its bin, with the mean prediction and the observed rate', () => {
    const p = [0.05, 0.15, 0.95, 0.91, 1, 0.55];
    const y = [false, true, true, false, true, true];
    const bins = reliabilityBins(p, y, 10);
    expect(bins).toHaveLength(10);
    expect(bins[0]).toEqual({ lo: 0, hi: 0.1, count: 1, meanPredicted: 0.05, observedRate: 0 });
    expect(bins[1]).toMatchObject({ count: 1, meanPredicted: 0.15, observedRate: 1 });
    expect(bins[5]).toMatchObject({ count: 1, observedRate: 1 });
    // 1.0 falls in the last bin, with 0.95 and 0.91.
    expect(bins[9]).toMatchObject({ count: 3, meanPredicted: 0.9533, observedRate: 0.6667 });
    expect(bins[3]).toMatchObject({ count: 0, meanPredicted: null, observedRate: null });
    const ece = expectedCalibrationError(bins);
    // |0.05-0| + |0.15-1| + |0.55-1| + 3·|0.9533-0.6667|, over 6.
    expect(ece).toBeCloseTo((0.05 + 0.85 + 0.45 + 3 * (0.9533 - 0.6667)) / 6, 3);
    const s = summarize(p, y);
    expect(s).toMatchObject({ n: 6, good: 4 });
    expect(s.brier).toBeCloseTo(brierScore(p, y), 4);
  });

  it('splits by id, the same way every time', () => {
    const ids = Array.from({ length: 300 }, (_, i) => `t${i}`);
    const held = ids.filter((id) => isHeldOut(id, 3));
    expect(held.length).toBeGreaterThan(70);
    expect(held.length).toBeLessThan(130);
    expect(ids.filter((id) => isHeldOut(id, 3))).toEqual(held);
  });
});

describe('confidence features', () => {
  const patch = { files: ['a.py', 'b.py'], stats: { additions: 10, deletions: 3 } };
  const base: ConfidenceFeatures = {
    raw: 0.9,
    approve: true,
    outcome: 'pass',
    fixed: 2,
    regressions: 0,
    reproduction: 'confirmed',
    addedCovered: 0.5,
    files: 2,
    lines: 13,
    retrievalMargin: null,
    policyBlock: 0,
    policyWarn: 0,
    memoryIntegrated: 0,
    memoryFailed: 0,
  };

  it('reads test evidence, size, policy, retrieval and memory', () => {
    const f = confidenceFeatures({
      verdict: { decision: 'approve', confidence: 0.9 },
      patch: {
        ...patch,
        policy: {
          bundle: 'default',
          findings: [
            {
              kind: 'sast',
              ruleId: 'r1',
              severity: 'high',
              enforcement: 'block',
              message: 'm',
              remediation: 'x',
            },
            {
              kind: 'sast',
              ruleId: 'r2',
              severity: 'low',
              enforcement: 'warn',
              message: 'm',
              remediation: 'x',
            },
          ],
          counts: {},
          blocked: true,
          dependencies: [],
          notes: [],
        } as never,
      },
      testRun: {
        outcome: 'pass',
        passed: true,
        verdict: {
          fixed: ['t1', 't2'],
          regressions: [],
          stillFailing: [],
          newTests: [],
          missing: [],
          flaky: [],
          envErrors: [],
          passing: 3,
          reproduction: { status: 'confirmed', added: ['t1'], reproduced: ['t1'], passOnBase: [] },
        },
        coverage: { tool: 'coverage.py', measured: true, files: [], changedLines: 4, changedCovered: 2 },
      } as never,
      context: {
        snippets: [
          { path: 'a.py', startLine: 1, endLine: 2, symbol: '', score: 4, why: '', text: '' },
          { path: 'a.py', startLine: 5, endLine: 6, symbol: '', score: 2, why: '', text: '' },
          { path: 'b.py', startLine: 1, endLine: 2, symbol: '', score: 1, why: '', text: '' },
        ],
      },
      memories: [{ outcome: 'integrated' }, { outcome: 'reverted' }, { outcome: 'rejected' }],
    });
    expect(f).toEqual({
      ...base,
      retrievalMargin: 0.75,
      policyBlock: 1,
      policyWarn: 1,
      memoryIntegrated: 1,
      memoryFailed: 2,
    });
  });

  it('says null for what is unknown, and none without a test run', () => {
    const f = confidenceFeatures({ verdict: { decision: 'revise', confidence: 0.3 }, patch });
    expect(f).toMatchObject({ outcome: 'none', addedCovered: null, retrievalMargin: null, approve: false });
    expect(retrievalMargin({ snippets: [] })).toBeNull();
  });

  it('predicts with the shipped weights, and more evidence of a fix means more confidence', () => {
    expect(featureVector(base)).toHaveLength(CONFIDENCE_FEATURE_NAMES.length);
    const good = predict(base, DEFAULT_CALIBRATION);
    // As the Reviewer leaves them: a regression caps its confidence at 0.2, a policy block sets it to 0 (the
    // default weights learnt those effects through the raw number, which always moves with them).
    const regressed = predict(
      { ...base, outcome: 'regression', regressions: 2, fixed: 0, raw: 0.2, approve: false },
      DEFAULT_CALIBRATION,
    );
    const blocked = predict({ ...base, policyBlock: 1, raw: 0, approve: false }, DEFAULT_CALIBRATION);
    const unproven = predict({ ...base, fixed: 0, reproduction: 'none' }, DEFAULT_CALIBRATION);
    expect(good).toBeGreaterThan(regressed);
    expect(good).toBeGreaterThan(blocked);
    expect(good).toBeGreaterThan(unproven);
    const c = calibrate(base, DEFAULT_CALIBRATION);
    expect(c).toMatchObject({ raw: 0.9, model: DEFAULT_CALIBRATION.version });
    expect(c.calibrated).toBeCloseTo(good, 4);
  });

  it('refuses weights fitted on another feature list', () => {
    expect(() => predict(base, { ...DEFAULT_CALIBRATION, names: ['bias'], weights: [1] })).toThrow(
      /are for features/,
    );
  });
});
