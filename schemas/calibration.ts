// Calibrated confidence (FR-016): the evidence a patch's confidence is computed from, the fitted weights, and
// what a review keeps (the Reviewer model's own number and the calibrated one).
import { z } from 'zod';

/**
 * What is known about a patch when it is reviewed. Counts are raw (the model transforms them); a figure that
 * could not be had is null (coverage not measured, no retrieved context), never a made-up 0.
 */
export const ConfidenceFeatures = z.object({
  /** The Reviewer model's own confidence (after the test/secrets/policy overrides), 0–1. */
  raw: z.number().min(0).max(1),
  approve: z.boolean(),
  /** The test step's outcome (`pass`, `regression`, …); `none` when no test run exists. */
  outcome: z.string(),
  /** Tests failing on the base commit that pass with the patch. */
  fixed: z.number().int().min(0),
  regressions: z.number().int().min(0),
  reproduction: z.enum(['confirmed', 'rejected', 'none', 'unchecked']),
  /** Share of the executable lines the patch adds that the tests ran (TestRun.coverage), 0–1; null: not measured. */
  addedCovered: z.number().min(0).max(1).nullable(),
  files: z.number().int().min(0),
  /** Lines added plus lines removed. */
  lines: z.number().int().min(0),
  /** How far the Curator's top file stood above the second (0–1, relative); null: no retrieved context. */
  retrievalMargin: z.number().min(0).max(1).nullable(),
  policyBlock: z.number().int().min(0),
  policyWarn: z.number().int().min(0),
  /** Recalled earlier tasks of the repository that were integrated, and that were rejected or reverted. */
  memoryIntegrated: z.number().int().min(0),
  memoryFailed: z.number().int().min(0),
});
export type ConfidenceFeatures = z.infer<typeof ConfidenceFeatures>;

/** Logistic-model weights, one per name of `CONFIDENCE_FEATURE_NAMES` (actors/reviewer/confidence.ts). */
export const CalibrationWeights = z.object({
  version: z.string().min(1),
  names: z.array(z.string()).min(1),
  weights: z.array(z.number()).min(1),
  /** What they were fitted on, in words, with n and the label counts. */
  fittedOn: z.string(),
  at: z.string(),
});
export type CalibrationWeights = z.infer<typeof CalibrationWeights>;

/** The confidence a review carries: the model's own (`raw`) and the calibrated probability the patch is good. */
export const CalibratedConfidence = z.object({
  raw: z.number().min(0).max(1),
  calibrated: z.number().min(0).max(1),
  /** `CalibrationWeights.version` used. */
  model: z.string(),
  features: ConfidenceFeatures,
});
export type CalibratedConfidence = z.infer<typeof CalibratedConfidence>;

/** A labelled outcome of a patch: a human decision or an evaluation's grading. */
export const CalibrationLabel = z.enum([
  'approved',
  'changes_requested',
  'rolled_back',
  'resolved',
  'unresolved',
]);
export type CalibrationLabel = z.infer<typeof CalibrationLabel>;

/** Whether a label says the patch was good (approved and kept, or resolved by the evaluation). */
export const labelIsGood = (l: CalibrationLabel): boolean => l === 'approved' || l === 'resolved';

const Bin = z.object({
  lo: z.number(),
  hi: z.number(),
  count: z.number().int(),
  meanPredicted: z.number().nullable(),
  observedRate: z.number().nullable(),
});
const CalibrationScore = z.object({
  n: z.number().int(),
  /** Labelled good (approved and not rolled back, or resolved). */
  good: z.number().int(),
  /** Mean squared error of the probabilities against the 0/1 outcomes; null without labelled patches. */
  brier: z.number().nullable(),
  /** Expected calibration error over the bins (count-weighted |mean predicted − observed rate|). */
  ece: z.number().nullable(),
  bins: z.array(Bin),
});

/** `GET /v1/metrics/calibration`: how well the confidences in the record match the outcomes recorded since. */
export const CalibrationMetrics = z.object({
  calibration: z.object({
    /** Patches with a labelled outcome (the figures are over these). */
    n: z.number().int(),
    /** Patches whose confidence was recorded but whose outcome is not known yet. */
    unlabelled: z.number().int(),
    labels: z.record(z.string(), z.number().int()),
    /** Calibration weight versions the labelled confidences were computed with. */
    models: z.array(z.string()),
    /** The Reviewer model's own confidence. */
    raw: CalibrationScore,
    calibrated: CalibrationScore,
  }),
});
export type CalibrationMetrics = z.infer<typeof CalibrationMetrics>;
