// How each runner's command is made to measure the coverage of the changed files (plain data, run in the
// sandbox): the Python interpreter under pycov/cover.py (coverage.py), `npm test` under jscov/cover.mjs (V8),
// vitest and jest with their own v8 coverage options, `go test` with a cover profile. Reading the reports and
// the figures are coverage.ts's.
import { existsSync } from 'node:fs';
import { join, posix } from 'node:path';
import { addedLines } from '../runtime/git.ts';
import { isTestPath, type Language, languageOf } from './detect.ts';
import { type CoverageFormat, REPORT_DIR, type RunnerKind, type TestPlan } from './types.ts';

/** Read-only in the sandbox when coverage is measured: the launchers live there. */
export const COVER_DIR = join(import.meta.dirname, 'pycov');
export const JS_COVER_DIR = join(import.meta.dirname, 'jscov');
const LAUNCHER = join(COVER_DIR, 'cover.py');
const JS_LAUNCHER = join(JS_COVER_DIR, 'cover.mjs');
/** Where each format's report is written in the work tree (copied back with the other reports). */
export const COVERAGE_REPORTS: Record<CoverageFormat, string> = {
  'coverage.py': `${REPORT_DIR}/coverage.json`,
  v8: `${REPORT_DIR}/v8-coverage.json`,
  istanbul: `${REPORT_DIR}/coverage-final.json`,
  go: `${REPORT_DIR}/cover.out`,
};
export const COVERAGE_REPORT = COVERAGE_REPORTS['coverage.py'];
const MAX_FILES = 50;
const PY_RUNNERS = new Set<RunnerKind>(['pytest', 'django', 'sympy']);

/** The language whose files a runner's coverage measures. */
export function runnerLanguage(kind: RunnerKind): Language | undefined {
  if (PY_RUNNERS.has(kind)) return 'python';
  if (kind === 'vitest' || kind === 'jest' || kind === 'npm') return 'js';
  if (kind === 'go') return 'go';
  return undefined;
}

/** The source files (not tests) of `language` a patch adds to or changes: what coverage is measured on. */
export function coverageTargets(diff: string, language: Language = 'python'): string[] {
  return [...addedLines(diff).keys()]
    .filter((f) => languageOf(f) === language && !isTestPath(f))
    .slice(0, MAX_FILES);
}

export interface CoverageOptions {
  /** The repository the work tree came from: its installed node_modules tell whether a coverage tool is there. */
  repoPath?: string;
}

/**
 * The plan with its command measuring the coverage of `files` (each stage's command too), or the plan
 * unchanged when its runner has no measure here or no file of its language changed. The Python interpreter
 * runs through the launcher (`-m module` or a script exactly as the interpreter would take them); `npm test`
 * through the V8 launcher; vitest and jest get their own coverage options; `go test` a cover profile.
 */
export function withCoverage(
  plan: TestPlan,
  files: readonly string[],
  workDir: string,
  options: CoverageOptions = {},
): TestPlan {
  const lang = runnerLanguage(plan.kind);
  const targets = files.filter((f) => languageOf(f) === lang);
  if (targets.length === 0 || plan.command.length === 0) return plan;
  if (lang === 'python') return withPython(plan, targets, workDir);
  if (plan.kind === 'go') return withGo(plan, targets, workDir);
  if (plan.kind === 'npm') return withV8(plan, targets, workDir);
  if (plan.kind === 'vitest') return withVitest(plan, targets, workDir, options);
  if (plan.kind === 'jest') return withJest(plan, targets, workDir);
  return plan;
}

/** Each stage's command rewritten by `wrap`. */
function wrapped(plan: TestPlan, wrap: (command: string[]) => string[]): Partial<TestPlan> {
  return {
    command: wrap(plan.command),
    ...(plan.primary ? { primary: { ...plan.primary, command: wrap(plan.primary.command) } } : {}),
    ...(plan.rest ? { rest: { ...plan.rest, command: wrap(plan.rest.command) } } : {}),
  };
}

function withPython(plan: TestPlan, files: string[], workDir: string): TestPlan {
  const py = plan.python;
  if (!py || plan.command.indexOf(py) < 0) return plan;
  const wrap = (command: string[]): string[] => {
    const at = command.indexOf(py);
    if (at < 0 || command.length <= at + 1) return command;
    const launcher = [LAUNCHER, join(workDir, COVERAGE_REPORT), files.join(','), '--'];
    return [...command.slice(0, at + 1), ...launcher, ...command.slice(at + 1)];
  };
  return {
    ...plan,
    ...wrapped(plan, wrap),
    coverage: [...files],
    coverageFormat: 'coverage.py',
    readOnlyPaths: [...plan.readOnlyPaths, COVER_DIR],
    why: [...plan.why, `coverage of ${files.length} changed file(s) with coverage.py (when installed)`],
  };
}

function withGo(plan: TestPlan, files: string[], workDir: string): TestPlan {
  const isGoTest = (c: string[]) => posix.basename(c[0] ?? '') === 'go' && c[1] === 'test';
  if (!isGoTest(plan.command)) return plan;
  // The changed files' packages are instrumented in every test binary that depends on them, so a changed
  // file is measured whichever selected package's tests reach it; only those, as instrumenting the whole
  // module (`./...`) would build every package of a big one. A package the base commit lacks is a warning.
  const pkgs = [...new Set(files.map((f) => posix.dirname(f)))].map((d) => (d === '.' ? '.' : `./${d}`));
  const args = [`-coverprofile=${join(workDir, COVERAGE_REPORTS.go)}`, `-coverpkg=${pkgs.join(',')}`];
  const wrap = (c: string[]) => (isGoTest(c) ? [c[0]!, 'test', ...args, ...c.slice(2)] : c);
  return {
    ...plan,
    ...wrapped(plan, wrap),
    coverage: [...files],
    coverageFormat: 'go',
    why: [...plan.why, `coverage of ${files.length} changed file(s) with go test -coverprofile`],
  };
}

function withV8(plan: TestPlan, files: string[], workDir: string): TestPlan {
  const report = join(workDir, COVERAGE_REPORTS.v8);
  const wrap = (c: string[]) => [process.execPath, JS_LAUNCHER, report, files.join(','), '--', ...c];
  const node = /^\/(usr|bin)\//.test(process.execPath) ? [] : [process.execPath];
  return {
    ...plan,
    ...wrapped(plan, wrap),
    coverage: [...files],
    coverageFormat: 'v8',
    readOnlyPaths: [...plan.readOnlyPaths, JS_COVER_DIR, ...node],
    why: [...plan.why, `coverage of ${files.length} changed file(s) with V8 (NODE_V8_COVERAGE)`],
  };
}

/** The directory (relative) a vitest/jest command runs in (`--root=`, `--rootDir=`), '' for the work tree. */
function rootOf(command: readonly string[]): string {
  const arg = command.find((a) => a.startsWith('--root=') || a.startsWith('--rootDir='));
  return arg ? arg.slice(arg.indexOf('=') + 1).replace(/\/+$/, '') : '';
}

/** `files` relative to `root`; those outside it cannot be given to the runner. */
function underRoot(files: string[], root: string): string[] {
  return root ? files.filter((f) => f.startsWith(`${root}/`)).map((f) => f.slice(root.length + 1)) : files;
}

function withVitest(plan: TestPlan, files: string[], workDir: string, options: CoverageOptions): TestPlan {
  const root = rootOf(plan.command);
  // The repository's installed node_modules (linked into the work tree when the tests run).
  const modules = [workDir, options.repoPath]
    .filter((d): d is string => !!d)
    .map((d) => join(d, 'node_modules'));
  const provider = modules.some((d) => existsSync(join(d, '@vitest', 'coverage-v8', 'package.json')));
  // The provider is imported from vitest's own location: another vitest (codemesh's) cannot find it, and
  // it must match the vitest it was installed with. The repository's vitest runs then.
  const own = modules.some((d) => existsSync(join(d, '.bin', 'vitest')));
  const bin = own ? join(workDir, 'node_modules', '.bin', 'vitest') : undefined;
  const base = { ...plan, coverage: [...files], coverageFormat: 'istanbul' as const };
  if (!provider) {
    const note =
      'vitest runs every module through its in-memory transform, so raw V8 offsets are not source lines, and the repository has no @vitest/coverage-v8 to map them back';
    return { ...base, coverageNote: note, why: [...plan.why, `coverage not measured: ${note}`] };
  }
  const args = [
    '--coverage.enabled=true',
    '--coverage.provider=v8',
    '--coverage.reporter=json',
    `--coverage.reportsDirectory=${join(workDir, REPORT_DIR)}`,
    '--coverage.clean=false',
    // Without it a run with a failing test writes no report, and a patched run often has one.
    '--coverage.reportOnFailure=true',
    ...underRoot(files, root).map((f) => `--coverage.include=${f}`),
  ];
  const wrap = (c: string[]) => (c[1] === 'run' ? [bin ?? c[0]!, 'run', ...args, ...c.slice(2)] : c);
  return {
    ...base,
    ...wrapped(plan, wrap),
    why: [
      ...plan.why,
      `coverage of ${files.length} changed file(s) with @vitest/coverage-v8 (the repository's)`,
    ],
  };
}

function withJest(plan: TestPlan, files: string[], workDir: string): TestPlan {
  const args = [
    '--coverage',
    '--coverageProvider=v8',
    '--coverageReporters=json',
    `--coverageDirectory=${join(workDir, REPORT_DIR)}`,
    ...underRoot(files, rootOf(plan.command)).map((f) => `--collectCoverageFrom=${f}`),
  ];
  const wrap = (c: string[]) => [c[0]!, ...args, ...c.slice(1)];
  return {
    ...plan,
    ...wrapped(plan, wrap),
    coverage: [...files],
    coverageFormat: 'istanbul',
    why: [...plan.why, `coverage of ${files.length} changed file(s) with jest's v8 provider`],
  };
}
