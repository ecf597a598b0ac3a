// The one line format every benchmark prints: {"name", "value", "unit"} as JSON.
export interface BenchMetric {
  name: string;
  value: number;
  unit: string;
}

export function percentile(values: readonly number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export function printMetrics(metrics: readonly BenchMetric[]): void {
  for (const m of metrics) process.stdout.write(`${JSON.stringify(m)}\n`);
}
