// Figures of the calibration page.

/** A probability as a whole percent; `—` when there is none. */
export const pct = (p: number | null | undefined): string =>
  p === null || p === undefined || !Number.isFinite(p) ? '—' : `${Math.round(p * 100)}%`;
