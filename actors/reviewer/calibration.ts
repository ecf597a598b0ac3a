// Fitting and scoring the confidence model: L2-regularised logistic regression by Newton's method, the Brier
// score, reliability bins, and a deterministic held-out split. Pure; used by `codemesh calibrate`,
// bench/calibration.ts and `GET /v1/metrics/calibration`.
import { createHash } from 'node:crypto';
import type { CalibrationWeights, ConfidenceFeatures } from '../../schemas/index.ts';
import { CONFIDENCE_FEATURE_NAMES, featureVector, predict, sigmoid } from './confidence.ts';

export interface FitOptions {
  /** L2 penalty on every weight but the first (the bias), per example. Default 0.01. */
  l2?: number;
  /** Newton steps at most. Default 50. */
  maxIter?: number;
}

export interface FitResult {
  weights: number[];
  iterations: number;
  /** Mean log loss on the training data at the end. */
  logLoss: number;
}

/** Solves A x = b (A symmetric positive definite after the ridge) by Gaussian elimination with pivoting. */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    const piv = m[c]![c]!;
    if (Math.abs(piv) < 1e-12) continue;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r]![c]! / piv;
      if (f !== 0) for (let k = c; k <= n; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  return m.map((row, i) => (Math.abs(row[i]!) < 1e-12 ? 0 : row[n]! / row[i]!));
}

/**
 * Fits P(y=1|x) = σ(w·x). `x[i][0]` should be 1 (the bias, not penalised). Features that never vary get their
 * weight pulled to 0 by the penalty, so a data set that lacks some evidence leaves it neutral.
 * @example const { weights } = fitLogistic(rows.map(featureVector), labels.map(Number));
 */
export function fitLogistic(x: readonly number[][], y: readonly number[], o: FitOptions = {}): FitResult {
  const n = x.length;
  if (n === 0) throw new Error('no labelled examples to fit');
  const d = x[0]!.length;
  const l2 = (o.l2 ?? 0.01) * n;
  const w = new Array<number>(d).fill(0);
  let it = 0;
  for (; it < (o.maxIter ?? 50); it++) {
    const grad = new Array<number>(d).fill(0);
    const hess = Array.from({ length: d }, () => new Array<number>(d).fill(0));
    for (let i = 0; i < n; i++) {
      const xi = x[i]!;
      let z = 0;
      for (let j = 0; j < d; j++) z += w[j]! * xi[j]!;
      const p = sigmoid(z);
      const r = p - y[i]!;
      const s = Math.max(p * (1 - p), 1e-9);
      for (let j = 0; j < d; j++) {
        grad[j]! += r * xi[j]!;
        if (xi[j] === 0) continue;
        for (let k = j; k < d; k++) hess[j]![k]! += s * xi[j]! * xi[k]!;
      }
    }
    for (let j = 0; j < d; j++) {
      for (let k = 0; k < j; k++) hess[j]![k] = hess[k]![j]!;
      const pen = j === 0 ? 1e-6 * n : l2;
      grad[j]! += pen * w[j]!;
      hess[j]![j]! += pen;
    }
    const step = solve(hess, grad);
    let moved = 0;
    for (let j = 0; j < d; j++) {
      w[j]! -= step[j]!;
      moved = Math.max(moved, Math.abs(step[j]!));
    }
    if (moved < 1e-8) {
      it++;
      break;
    }
  }
  let loss = 0;
  for (let i = 0; i < n; i++) {
    let z = 0;
    for (let j = 0; j < d; j++) z += w[j]! * x[i]![j]!;
    const p = Math.min(1 - 1e-12, Math.max(1e-12, sigmoid(z)));
    loss -= y[i]! ? Math.log(p) : Math.log(1 - p);
  }
  return { weights: w, iterations: it, logLoss: loss / n };
}

/** Mean squared difference between predicted probabilities and 0/1 outcomes (lower is better; 0.25 = coin). */
export function brierScore(p: readonly number[], y: readonly boolean[]): number {
  if (p.length !== y.length) throw new Error('predictions and labels differ in length');
  if (p.length === 0) return Number.NaN;
  let s = 0;
  for (let i = 0; i < p.length; i++) s += (p[i]! - (y[i] ? 1 : 0)) ** 2;
  return s / p.length;
}

export interface ReliabilityBin {
  /** [lo, hi): the last bin includes 1. */
  lo: number;
  hi: number;
  count: number;
  /** Mean predicted probability of the bin's examples; null when empty. */
  meanPredicted: number | null;
  /** Share of the bin's examples whose outcome was good; null when empty. */
  observedRate: number | null;
}

export function reliabilityBins(p: readonly number[], y: readonly boolean[], bins = 10): ReliabilityBin[] {
  const out = Array.from({ length: bins }, (_, b) => ({
    lo: b / bins,
    hi: (b + 1) / bins,
    n: 0,
    sp: 0,
    sy: 0,
  }));
  for (let i = 0; i < p.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(p[i]! * bins)));
    out[b]!.n++;
    out[b]!.sp += p[i]!;
    out[b]!.sy += y[i] ? 1 : 0;
  }
  const r4 = (v: number) => Math.round(v * 1e4) / 1e4;
  return out.map((b) => ({
    lo: r4(b.lo),
    hi: r4(b.hi),
    count: b.n,
    meanPredicted: b.n ? r4(b.sp / b.n) : null,
    observedRate: b.n ? r4(b.sy / b.n) : null,
  }));
}

/** Expected calibration error: the count-weighted mean gap between mean prediction and observed rate. */
export function expectedCalibrationError(bins: readonly ReliabilityBin[]): number {
  const n = bins.reduce((s, b) => s + b.count, 0);
  if (n === 0) return Number.NaN;
  return bins.reduce(
    (s, b) => s + (b.count ? (b.count / n) * Math.abs(b.meanPredicted! - b.observedRate!) : 0),
    0,
  );
}

export interface CalibrationSummary {
  n: number;
  good: number;
  brier: number | null;
  ece: number | null;
  bins: ReliabilityBin[];
}

export function summarize(p: readonly number[], y: readonly boolean[], bins = 10): CalibrationSummary {
  const b = reliabilityBins(p, y, bins);
  const r4 = (v: number) => (Number.isFinite(v) ? Math.round(v * 1e4) / 1e4 : null);
  return {
    n: p.length,
    good: y.filter(Boolean).length,
    brier: r4(brierScore(p, y)),
    ece: r4(expectedCalibrationError(b)),
    bins: b,
  };
}

/** Deterministic split by id: md5(id) % mod === 0 is held out (the rest trains). */
export const isHeldOut = (id: string, mod: number): boolean =>
  BigInt(`0x${createHash('md5').update(id).digest('hex')}`) % BigInt(mod) === 0n;

/** One labelled patch: its confidence evidence and whether it turned out good. */
export interface LabelledExample {
  id: string;
  features: ConfidenceFeatures;
  good: boolean;
}

export interface RefitReport {
  n: number;
  good: number;
  holdout: {
    mod: number;
    train: number;
    test: number;
    /** On the held-out part: the Reviewer's own confidence, the weights given, and weights fitted on the rest. */
    raw: CalibrationSummary;
    given: CalibrationSummary;
    fitted: CalibrationSummary;
  } | null;
  /** Fitted on every example: what `codemesh calibrate --write` installs. */
  weights: CalibrationWeights;
}

/**
 * Fits the confidence model on labelled patches and scores it on a held-out part (md5(id) % mod === 0) against
 * the raw confidence and the weights in use. With no held-out or no training example, `holdout` is null.
 */
export function refit(
  examples: readonly LabelledExample[],
  o: { mod?: number; l2?: number; given: CalibrationWeights; version: string; source: string; at: string },
): RefitReport {
  const mod = o.mod ?? 3;
  const fitWeights = (xs: readonly LabelledExample[]) =>
    fitLogistic(
      xs.map((e) => featureVector(e.features)),
      xs.map((e) => (e.good ? 1 : 0)),
      { l2: o.l2 ?? 0.01 },
    ).weights;
  const asWeights = (w: number[], fittedOn: string): CalibrationWeights => ({
    version: o.version,
    names: [...CONFIDENCE_FEATURE_NAMES],
    weights: w.map((v) => Math.round(v * 1e4) / 1e4),
    fittedOn,
    at: o.at,
  });
  const test = examples.filter((e) => isHeldOut(e.id, mod));
  const train = examples.filter((e) => !isHeldOut(e.id, mod));
  const y = test.map((e) => e.good);
  let holdout: RefitReport['holdout'] = null;
  if (test.length && train.length) {
    const w = asWeights(fitWeights(train), 'training part');
    holdout = {
      mod,
      train: train.length,
      test: test.length,
      raw: summarize(
        test.map((e) => e.features.raw),
        y,
      ),
      given: summarize(
        test.map((e) => predict(e.features, o.given)),
        y,
      ),
      fitted: summarize(
        test.map((e) => predict(e.features, w)),
        y,
      ),
    };
  }
  const good = examples.filter((e) => e.good).length;
  return {
    n: examples.length,
    good,
    holdout,
    weights: asWeights(
      fitWeights(examples),
      `${o.source}: ${examples.length} labelled patches, ${good} good, ${examples.length - good} not`,
    ),
  };
}
