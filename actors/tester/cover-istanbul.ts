// Istanbul's coverage-final.json (what vitest's @vitest/coverage-v8 and jest's v8 provider write, source maps
// already applied by them) turned into line coverage: a line runs when a statement starting on it ran, as
// istanbul's own line figures count it. The report comes from the repository's tests: read defensively.
import type { LineCoverage } from './cover-v8.ts';

const MAX_STATEMENTS = 200_000;

/**
 * One file's entry (`{ statementMap, s, ... }`) as lines, or undefined when it does not have that shape.
 *
 * @example
 * istanbulLineCoverage({ statementMap: { 0: { start: { line: 2 } } }, s: { 0: 0 } }) // missing: {2}
 */
export function istanbulLineCoverage(entry: unknown): LineCoverage | undefined {
  if (!entry || typeof entry !== 'object') return undefined;
  const { statementMap, s } = entry as { statementMap?: unknown; s?: unknown };
  if (!statementMap || typeof statementMap !== 'object' || !s || typeof s !== 'object') return undefined;
  const counts = new Map<number, number>();
  let n = 0;
  for (const [id, st] of Object.entries(statementMap as Record<string, unknown>)) {
    if (++n > MAX_STATEMENTS) return undefined;
    const line = (st as { start?: { line?: unknown } } | null)?.start?.line;
    const count = (s as Record<string, unknown>)[id];
    if (!Number.isInteger(line) || (line as number) < 1 || !Number.isInteger(count)) continue;
    counts.set(line as number, Math.max(counts.get(line as number) ?? 0, count as number));
  }
  const executed = new Set<number>();
  const missing = new Set<number>();
  for (const [l, c] of counts) (c > 0 ? executed : missing).add(l);
  return { executed, missing };
}
