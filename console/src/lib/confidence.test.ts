import { describe, expect, it } from 'vitest';
import type { Review } from '../types.ts';
import { confidenceParts } from './confidence.ts';

const review: Review = {
  id: 'r',
  attempt: 1,
  patchId: 't-1-p1',
  decision: 'approve',
  confidence: 0.9,
  critique: 'ok',
  risks: [],
};

describe('confidenceParts', () => {
  it('shows the calibrated confidence first and the model’s own beside it', () => {
    const features = {
      outcome: 'pass',
      fixed: 1,
      regressions: 0,
      reproduction: 'none',
      addedCovered: null,
      files: 1,
      lines: 2,
    };
    expect(
      confidenceParts({ ...review, calibration: { raw: 0.9, calibrated: 0.634, model: 'c1', features } }),
    ).toEqual({ main: '63% calibrated', beside: 'model 90%' });
  });
  it('a review without calibration shows the model’s number alone', () => {
    expect(confidenceParts(review)).toEqual({ main: '90%' });
  });
});
