// A review's confidence for people: the calibrated probability first (when the review has one), the Reviewer
// model's own beside it — as `codemesh run`'s progress line and the terminal gate show them.
import type { Review } from '../types.ts';

const pct = (x: number) => `${Math.round(x * 100)}%`;

export function confidenceParts(r: Review): { main: string; beside?: string } {
  return r.calibration
    ? { main: `${pct(r.calibration.calibrated)} calibrated`, beside: `model ${pct(r.confidence)}` }
    : { main: pct(r.confidence) };
}
