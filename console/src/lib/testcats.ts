// A test run's results by category, as the Tester compared them with the base commit (`verdict`):
// fail → pass, regressions, flaky, environment errors, then the rest (still failing, new, missing). Each entry
// carries its failure message and the lines of the log that name it. A run without a verdict (recorded before
// baselines) has only its failing tests, in a category of their own.
import type { TestRun } from '../types.ts';

export type CategoryKey = 'fixed' | 'regressions' | 'flaky' | 'env' | 'failing' | 'still' | 'new' | 'missing';

export interface CategoryItem {
  name: string;
  message?: string;
  /** Flaky tests: the outcome of each run (the suite's, then the re-runs). */
  runs?: string[];
  /** Environment errors: the base commit shows it too. */
  onBase?: boolean;
  /** Lines of the run's log that name the test (with a line of context each side). */
  log?: string;
}

export interface TestCategory {
  key: CategoryKey;
  label: string;
  /** How the category weighs on the gate, for people. */
  hint: string;
  items: CategoryItem[];
}

const LABELS: Record<CategoryKey, [string, string]> = {
  fixed: ['fail → pass', 'failed on the base commit, pass with the patch'],
  regressions: ['regressions', 'passed on the base commit, fail with the patch on every re-run: they block'],
  flaky: ['flaky', 'outcome differed between runs of the same code: not counted as regressions'],
  env: ['environment errors', 'the tests could not run (imports, collection, tools)'],
  failing: ['failing', 'failed in this run (no comparison with the base commit was recorded)'],
  still: ['still failing', 'failed on the base commit too: pre-existing, never blocking'],
  new: ['new tests', 'not in the base run (added or first collected with the patch)'],
  missing: ['missing', 'ran on the base commit, absent with the patch'],
};

/**
 * The lines of `log` that mention `name` (or its last part: `test_calc.py::test_sub` → `test_sub`), each with
 * `around` lines either side, overlapping windows merged; at most `max` lines. Undefined when none does.
 */
export function logLinesFor(log: string, name: string, around = 1, max = 20): string | undefined {
  if (!log || !name) return undefined;
  const short =
    name
      .split(/::|\s>\s|\//)
      .at(-1)
      ?.trim() || name;
  const lines = log.split('\n');
  const keep = new Set<number>();
  lines.forEach((l, i) => {
    if (l.includes(name) || (short.length >= 4 && l.includes(short)))
      for (let j = Math.max(0, i - around); j <= Math.min(lines.length - 1, i + around); j++) keep.add(j);
  });
  if (keep.size === 0) return undefined;
  const out: string[] = [];
  let prev = -2;
  for (const i of [...keep].sort((a, b) => a - b)) {
    if (out.length >= max) break;
    if (prev >= 0 && i > prev + 1) out.push('…');
    out.push(lines[i]!);
    prev = i;
  }
  return out.join('\n');
}

/** The run's non-empty categories, in the order above. */
export function categorize(run: TestRun): TestCategory[] {
  const byName = new Map(run.tests.map((t) => [t.name, t]));
  const item = (name: string, extra: Partial<CategoryItem> = {}): CategoryItem => {
    const t = byName.get(name);
    const log = logLinesFor(run.log, name);
    return {
      name,
      ...(t?.message ? { message: t.message } : {}),
      ...(log ? { log } : {}),
      ...extra,
    };
  };
  const v = run.verdict;
  const lists: Array<[CategoryKey, CategoryItem[]]> = v
    ? [
        ['fixed', v.fixed.map((n) => item(n))],
        ['regressions', v.regressions.map((n) => item(n))],
        [
          'flaky',
          v.flaky.map((n) => {
            const q = run.quarantine?.find((r) => r.name === n);
            return item(n, q ? { runs: q.runs } : {});
          }),
        ],
        ['env', v.envErrors.map((e) => ({ ...item(e.name), message: e.message, onBase: e.onBase }))],
        ['still', v.stillFailing.map((n) => item(n))],
        // New tests that are also fixed or regressions are said there already.
        [
          'new',
          v.newTests.filter((n) => !v.fixed.includes(n) && !v.regressions.includes(n)).map((n) => item(n)),
        ],
        ['missing', v.missing.map((n) => item(n))],
      ]
    : [['failing', run.tests.filter((t) => t.status === 'failed').map((t) => item(t.name))]];
  return lists
    .filter(([, items]) => items.length > 0)
    .map(([key, items]) => ({ key, label: LABELS[key][0], hint: LABELS[key][1], items }));
}
