// The calibrated confidence of a patch (FR-016): the evidence around a review turned into features, and a
// logistic model over them whose weights are fitted against recorded outcomes (actors/reviewer/calibration.ts,
// `codemesh calibrate`). Pure: the Reviewer gathers the inputs, this computes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type CalibratedConfidence,
  CalibrationWeights,
  type ConfidenceFeatures,
  type MemoryEntry,
  type Patch,
  type PlanContext,
  type ReviewVerdict,
  type TestRun,
} from '../../schemas/index.ts';

/** The model's inputs, in the order of `CalibrationWeights.weights`. */
export const CONFIDENCE_FEATURE_NAMES = [
  'bias',
  'raw_logit',
  'approve',
  'fixed',
  'regressions',
  'repro_confirmed',
  'repro_rejected',
  'outcome_pass',
  'no_test_evidence',
  'added_covered',
  'coverage_known',
  'files',
  'lines',
  'retrieval_margin',
  'retrieval_known',
  'policy_block',
  'policy_warn',
  'memory_integrated',
  'memory_failed',
] as const;

const clip = (p: number, lo = 0.01, hi = 0.99) => Math.min(hi, Math.max(lo, p));
export const logit = (p: number): number => Math.log(clip(p) / (1 - clip(p)));
export const sigmoid = (z: number): number =>
  z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));

/** The feature vector of `CONFIDENCE_FEATURE_NAMES` (counts on a log scale, unknown figures 0 with a flag). */
export function featureVector(f: ConfidenceFeatures): number[] {
  return [
    1,
    logit(f.raw),
    f.approve ? 1 : 0,
    Math.log1p(f.fixed),
    Math.log1p(f.regressions),
    f.reproduction === 'confirmed' ? 1 : 0,
    f.reproduction === 'rejected' ? 1 : 0,
    f.outcome === 'pass' ? 1 : 0,
    f.outcome === 'none' || f.outcome === 'no_tests' || f.outcome === 'env_error' ? 1 : 0,
    f.addedCovered ?? 0,
    f.addedCovered === null ? 0 : 1,
    Math.log1p(f.files),
    Math.log1p(f.lines),
    f.retrievalMargin ?? 0,
    f.retrievalMargin === null ? 0 : 1,
    Math.log1p(f.policyBlock),
    Math.log1p(f.policyWarn),
    Math.log1p(f.memoryIntegrated),
    Math.log1p(f.memoryFailed),
  ];
}

export interface ConfidenceInputs {
  verdict: Pick<ReviewVerdict, 'decision' | 'confidence'>;
  patch: Pick<Patch, 'files' | 'stats' | 'policy'>;
  testRun?: TestRun | undefined;
  /** The task's retrieved context (`context.<task>`), when the Planner had one. */
  context?: Pick<PlanContext, 'snippets'> | undefined;
  /** Earlier tasks recalled from the experience memory. */
  memories?: ReadonlyArray<Pick<MemoryEntry, 'outcome'>>;
}

/**
 * The retrieval certainty: the best snippet score of the top file against the second file's, relative to the
 * top (1: the second scored nothing; 0: a tie). Null with fewer than one file or a non-positive top score.
 */
export function retrievalMargin(context: Pick<PlanContext, 'snippets'> | undefined): number | null {
  if (!context || context.snippets.length === 0) return null;
  const best = new Map<string, number>();
  for (const s of context.snippets) best.set(s.path, Math.max(best.get(s.path) ?? -Infinity, s.score));
  const [top, second] = [...best.values()].sort((a, b) => b - a);
  if (top === undefined || !(top > 0)) return null;
  if (second === undefined) return 1;
  return Math.min(1, Math.max(0, (top - Math.max(second, 0)) / top));
}

export function confidenceFeatures(i: ConfidenceInputs): ConfidenceFeatures {
  const v = i.testRun?.verdict;
  const cov = i.testRun?.coverage;
  const findings = i.patch.policy?.findings ?? [];
  const overridden = !!i.patch.policy?.override;
  const blocks = findings.filter((f) => f.enforcement === 'block').length;
  return {
    raw: i.verdict.confidence,
    approve: i.verdict.decision === 'approve',
    outcome: i.testRun ? (i.testRun.outcome ?? (i.testRun.passed ? 'pass' : 'regression')) : 'none',
    fixed: v?.fixed.length ?? 0,
    regressions: v?.regressions.length ?? 0,
    reproduction: v?.reproduction?.status ?? 'none',
    addedCovered:
      cov?.measured && cov.changedLines && cov.changedCovered !== undefined
        ? cov.changedCovered / cov.changedLines
        : null,
    files: i.patch.files.length,
    lines: i.patch.stats.additions + i.patch.stats.deletions,
    retrievalMargin: retrievalMargin(i.context),
    // An approver's override accepts the blocks: they weigh as warnings from then on.
    policyBlock: overridden ? 0 : blocks,
    policyWarn: findings.length - (overridden ? 0 : blocks),
    memoryIntegrated: (i.memories ?? []).filter((m) => m.outcome === 'integrated').length,
    memoryFailed: (i.memories ?? []).filter((m) => m.outcome !== 'integrated').length,
  };
}

/** P(the patch is good) under `w`. Weights fitted on another feature list are refused. */
export function predict(f: ConfidenceFeatures, w: CalibrationWeights): number {
  if (w.names.join() !== CONFIDENCE_FEATURE_NAMES.join() || w.weights.length !== w.names.length)
    throw new Error(
      `calibration weights ${w.version} are for features [${w.names.join(', ')}], not [${CONFIDENCE_FEATURE_NAMES.join(', ')}]`,
    );
  const x = featureVector(f);
  let z = 0;
  for (let j = 0; j < x.length; j++) z += w.weights[j]! * x[j]!;
  return sigmoid(z);
}

export function calibrate(f: ConfidenceFeatures, w: CalibrationWeights): CalibratedConfidence {
  return { raw: f.raw, calibrated: Math.round(predict(f, w) * 1e4) / 1e4, model: w.version, features: f };
}

/**
 * The shipped weights: fitted by `npx tsx bench/calibration.ts --write-defaults` on the synthetic set described
 * there (an assumed world, not a measured one: the replay's rows are nearly all resolved and carry no features).
 * Refit on recorded outcomes with `codemesh calibrate`, which writes `<state dir>/calibration.json`.
 */
export const DEFAULT_CALIBRATION: CalibrationWeights = {
  version: 'default-synthetic-1',
  names: [...CONFIDENCE_FEATURE_NAMES],
  weights: [
    -1.2956, 0.9267, -0.1033, 1.1526, 0.0832, 0.7465, -0.4299, -0.3283, 0, 0.2424, -0.0498, -0.1775, -0.1665,
    0.2481, -0.1736, 0.1273, -0.0657, 0.2354, -0.2545,
  ],
  fittedOn:
    'synthetic (bench/calibration.ts, seed 42): 3000 labelled patches, 1325 good, 1675 not — an assumed world, not a measured one',
  at: '2026-12-02T19:29:19.622Z',
};

/** `<dataDir>/calibration.json` when `codemesh calibrate` wrote one that fits this feature list, else the default. */
export function loadCalibration(dataDir: string): CalibrationWeights {
  try {
    const w = CalibrationWeights.parse(JSON.parse(readFileSync(calibrationPath(dataDir), 'utf8')));
    return w.names.join() === CONFIDENCE_FEATURE_NAMES.join() ? w : DEFAULT_CALIBRATION;
  } catch {
    return DEFAULT_CALIBRATION;
  }
}

export const calibrationPath = (dataDir: string): string => join(dataDir, 'calibration.json');

/**
 * How a review's confidence is shown to people (PR body, commit message, CLI): the calibrated figure first,
 * labelled, with the Reviewer model's own number beside it; a review from before calibration says it is raw.
 */
export function confidenceText(r: {
  confidence: number;
  calibration?: CalibratedConfidence | undefined;
}): string {
  return r.calibration
    ? `calibrated confidence ${r.calibration.calibrated.toFixed(2)} (model ${r.calibration.model}; the Reviewer's own confidence ${r.confidence.toFixed(2)})`
    : `confidence ${r.confidence.toFixed(2)} (the Reviewer's own, not calibrated)`;
}
