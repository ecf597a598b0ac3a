import { expect, it } from 'vitest';
import { pct } from './calibration.ts';

it('shows probabilities as whole percents, and none as a dash', () => {
  expect(pct(0.8349)).toBe('83%');
  expect(pct(0)).toBe('0%');
  expect(pct(null)).toBe('—');
  expect(pct(Number.NaN)).toBe('—');
});
