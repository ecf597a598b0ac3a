// Coverage of the change (US-004): the Python runners run under codemesh's launcher (pycov/cover.py), which
// measures the files the patch changes with coverage.py when the sandbox's interpreter has it. The patched run
// gives the coverage of the added lines; the base run (same tests, base code) the coverage of the same files
// before the change, so the delta says whether the change is tested as well as the code it replaces.
import { lstat, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestCoverage } from '../../schemas/index.ts';
import { addedLines } from '../runtime/git.ts';
import { isTestPath, languageOf } from './detect.ts';
import { REPORT_DIR, type TestPlan } from './types.ts';

/** Read-only in the sandbox when coverage is measured: the launcher lives there. */
export const COVER_DIR = join(import.meta.dirname, 'pycov');
const LAUNCHER = join(COVER_DIR, 'cover.py');
/** Where the launcher writes coverage.py's JSON report (copied back with the other reports). */
export const COVERAGE_REPORT = `${REPORT_DIR}/coverage.json`;
const MAX_FILES = 50;
const RUNNERS = new Set(['pytest', 'django', 'sympy']);

/** Per file: the executable lines run and not run. */
export type CoverageMap = Map<string, { executed: Set<number>; missing: Set<number> }>;

/** The Python source files (not tests) a patch adds to or changes: what coverage is measured on. */
export function coverageTargets(diff: string): string[] {
  return [...addedLines(diff).keys()]
    .filter((f) => languageOf(f) === 'python' && !isTestPath(f))
    .slice(0, MAX_FILES);
}

/**
 * The plan with its Python interpreter run through the launcher, measuring `files` (every stage's command
 * too), or the plan unchanged when it is not a Python runner, has no interpreter in its command, or `files`
 * is empty. The launcher takes `-m module` or a script exactly as the interpreter would.
 */
export function withCoverage(plan: TestPlan, files: readonly string[], workDir: string): TestPlan {
  if (files.length === 0 || !plan.python || !RUNNERS.has(plan.kind)) return plan;
  const py = plan.python;
  const wrap = (command: string[]): string[] => {
    const at = command.indexOf(py);
    if (at < 0 || command.length <= at + 1) return command;
    const launcher = [LAUNCHER, join(workDir, COVERAGE_REPORT), files.join(','), '--'];
    return [...command.slice(0, at + 1), ...launcher, ...command.slice(at + 1)];
  };
  if (plan.command.indexOf(py) < 0) return plan;
  return {
    ...plan,
    command: wrap(plan.command),
    ...(plan.primary ? { primary: { ...plan.primary, command: wrap(plan.primary.command) } } : {}),
    ...(plan.rest ? { rest: { ...plan.rest, command: wrap(plan.rest.command) } } : {}),
    coverage: [...files],
    readOnlyPaths: [...plan.readOnlyPaths, COVER_DIR],
    why: [...plan.why, `coverage of ${files.length} changed file(s) with coverage.py (when installed)`],
  };
}

/** Removes a report left in the tree (a repository may commit one): only the run's own is read. */
export async function clearCoverage(workDir: string): Promise<void> {
  await rm(join(workDir, COVERAGE_REPORT), { force: true, recursive: true });
}

/** coverage.py's JSON report of the last run in `workDir`, or undefined when there is none. */
export async function readCoverage(workDir: string): Promise<CoverageMap | undefined> {
  const file = join(workDir, COVERAGE_REPORT);
  const st = await lstat(file).catch(() => undefined);
  if (!st?.isFile() || st.size > 20 * 1024 * 1024) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
  const files = (json as { files?: unknown })?.files;
  if (!files || typeof files !== 'object') return undefined;
  const out: CoverageMap = new Map();
  for (const [path, entry] of Object.entries(files as Record<string, unknown>)) {
    const e = entry as { executed_lines?: unknown; missing_lines?: unknown };
    const nums = (xs: unknown) =>
      new Set(Array.isArray(xs) ? xs.filter((n): n is number => Number.isInteger(n)) : []);
    out.set(path, { executed: nums(e.executed_lines), missing: nums(e.missing_lines) });
  }
  return out;
}

/** Two runs' coverage of the same code as one: a line run in either was run. */
export function unionCoverage(a?: CoverageMap, b?: CoverageMap): CoverageMap | undefined {
  if (!a || !b) return a ?? b;
  const out: CoverageMap = new Map();
  for (const path of new Set([...a.keys(), ...b.keys()])) {
    const executed = new Set([...(a.get(path)?.executed ?? []), ...(b.get(path)?.executed ?? [])]);
    const missing = new Set(
      [...(a.get(path)?.missing ?? []), ...(b.get(path)?.missing ?? [])].filter((n) => !executed.has(n)),
    );
    out.set(path, { executed, missing });
  }
  return out;
}

/** A coverage map as plain data (what a cached baseline keeps), and back. */
export function coverageToJson(map: CoverageMap): Record<string, { executed: number[]; missing: number[] }> {
  const sorted = (xs: Set<number>) => [...xs].sort((a, b) => a - b);
  return Object.fromEntries(
    [...map].map(([path, c]) => [path, { executed: sorted(c.executed), missing: sorted(c.missing) }]),
  );
}

export function coverageFromJson(
  json: Record<string, { executed: number[]; missing: number[] }>,
): CoverageMap {
  return new Map(
    Object.entries(json).map(([path, c]) => [
      path,
      { executed: new Set(c.executed), missing: new Set(c.missing) },
    ]),
  );
}

const pct = (covered: number, total: number) =>
  total === 0 ? null : Math.round((1000 * covered) / total) / 10;

/**
 * The coverage of a change: per changed file, its added executable lines run by the tests, and its line
 * coverage with the patch against the base commit's (same tests). A file the base lacks has no base figure.
 */
export function coverageOfChange(
  diff: string,
  files: readonly string[],
  patched: CoverageMap | undefined,
  base: CoverageMap | undefined,
): TestCoverage {
  if (!patched) return { tool: 'coverage.py', measured: false, files: [] };
  const added = addedLines(diff);
  const rows = files.map((path) => {
    const c = patched.get(path);
    const executable = (added.get(path) ?? []).filter((n) => c?.executed.has(n) || c?.missing.has(n));
    const changedCovered = executable.filter((n) => c?.executed.has(n)).length;
    const statements = c ? c.executed.size + c.missing.size : 0;
    const b = base?.get(path);
    return {
      path,
      changedLines: executable.length,
      changedCovered,
      covered: c?.executed.size ?? 0,
      statements,
      pct: pct(c?.executed.size ?? 0, statements),
      basePct: b ? pct(b.executed.size, b.executed.size + b.missing.size) : null,
    };
  });
  const sum = (f: (r: (typeof rows)[number]) => number) => rows.reduce((n, r) => n + f(r), 0);
  const changedLines = sum((r) => r.changedLines);
  const total = pct(
    sum((r) => r.covered),
    sum((r) => r.statements),
  );
  const baseOf = (path: string) => base?.get(path);
  const withBase = rows.filter((r) => baseOf(r.path));
  const baseTotal = base
    ? pct(
        withBase.reduce((n, r) => n + baseOf(r.path)!.executed.size, 0),
        withBase.reduce((n, r) => n + baseOf(r.path)!.executed.size + baseOf(r.path)!.missing.size, 0),
      )
    : null;
  const sameFilesNow = pct(
    withBase.reduce((n, r) => n + r.covered, 0),
    withBase.reduce((n, r) => n + r.statements, 0),
  );
  return {
    tool: 'coverage.py',
    measured: true,
    files: rows,
    changedLines,
    changedCovered: sum((r) => r.changedCovered),
    changedPct: pct(
      sum((r) => r.changedCovered),
      changedLines,
    ),
    pct: total,
    basePct: baseTotal,
    deltaPct:
      baseTotal !== null && sameFilesNow !== null ? Math.round(10 * (sameFilesNow - baseTotal)) / 10 : null,
  };
}
