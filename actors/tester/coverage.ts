// Coverage of the change (US-004), with each ecosystem's own measure: the Python runners run under codemesh's
// launcher (pycov/cover.py, coverage.py when the sandbox's interpreter has it); `npm test` under jscov/cover.mjs,
// which turns on Node's V8 block coverage (NODE_V8_COVERAGE) and keeps the changed files' entries; vitest and
// jest use their own coverage (@vitest/coverage-v8 when the repository has it, jest's v8 provider), which map
// their in-memory transforms back to the sources; Go uses `go test -coverprofile`. The patched run gives the
// coverage of the added lines; the base run (same tests, base code) the coverage of the same files before the
// change, so the delta says whether the change is tested as well as the code it replaces. Every report is
// written by the repository's code: read only as a regular file of bounded size, parsed defensively.
import { existsSync } from 'node:fs';
import { lstat, readFile, realpath } from 'node:fs/promises';
import { join, posix, relative } from 'node:path';
import type { TestCoverage } from '../../schemas/index.ts';
import { addedLines } from '../runtime/git.ts';
import { goLineCoverage, goModulePath, parseGoCoverProfile } from './cover-go.ts';
import { istanbulLineCoverage } from './cover-istanbul.ts';
import {
  codeLines,
  isV8Functions,
  type LineCoverage,
  unloaded,
  type V8Function,
  type V8SourceMap,
  v8LineCoverage,
  v8MappedLineCoverage,
} from './cover-v8.ts';
import { isTestPath, type Language, languageOf } from './detect.ts';
import { prepareReport } from './runners.ts';
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
const MAX_REPORT = 20 * 1024 * 1024;
const MAX_SOURCE = 4 * 1024 * 1024;
const PY_RUNNERS = new Set<RunnerKind>(['pytest', 'django', 'sympy']);
// Files Node runs as they are: V8's offsets are their text's. Other JS-family files (TypeScript, JSX, Vue)
// reach V8 only after a transform.
const PLAIN_JS = /\.(c|m)?js$/;

/** Per file: the executable lines run and not run; `note` says why a file has no figure. */
export type CoverageMap = Map<string, LineCoverage & { note?: string }>;

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

type CoveragePlan = Pick<TestPlan, 'kind' | 'coverage' | 'coverageFormat' | 'coverageNote'>;

/**
 * Makes the report directory (replacing whatever the tree has there that is not one) and removes a report
 * left in the tree (a repository may commit one): only the run's own is read.
 */
export async function clearCoverage(workDir: string, plan?: CoveragePlan): Promise<void> {
  const reportFile = COVERAGE_REPORTS[plan?.coverageFormat ?? 'coverage.py'];
  await prepareReport({ kind: plan?.kind ?? 'none', command: [], reportFile }, workDir);
}

/** A regular file inside `root`, reached through directories only (no symlink anywhere on the way). */
async function readTreeFile(root: string, rel: string, max: number): Promise<string | undefined> {
  const parts = rel.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return undefined;
  let at = root;
  for (const [i, part] of parts.entries()) {
    at = join(at, part);
    const st = await lstat(at).catch(() => undefined);
    const last = i === parts.length - 1;
    if (!st || (last ? !st.isFile() || st.size > max : !st.isDirectory())) return undefined;
  }
  return readFile(at, 'utf8').catch(() => undefined);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The line coverage the last run in `workDir` reported for the plan's files, or undefined when there is no
 * report (the tool is missing, the run never got that far). Without a plan: coverage.py's report.
 */
export async function readCoverage(workDir: string, plan?: CoveragePlan): Promise<CoverageMap | undefined> {
  const format = plan?.coverageFormat ?? 'coverage.py';
  if (plan?.coverageNote) return undefined;
  const text = await readTreeFile(workDir, COVERAGE_REPORTS[format], MAX_REPORT);
  if (text === undefined) return undefined;
  const files = plan?.coverage ?? [];
  switch (format) {
    case 'coverage.py':
      return fromCoveragePy(parseJson(text));
    case 'istanbul':
      return fromIstanbul(parseJson(text), workDir, files);
    case 'v8':
      return fromV8(parseJson(text), workDir, files);
    case 'go':
      return fromGo(text, workDir, files);
  }
}

function fromCoveragePy(json: unknown): CoverageMap | undefined {
  const files = (json as { files?: unknown })?.files;
  if (!files || typeof files !== 'object') return undefined;
  const out: CoverageMap = new Map();
  for (const [path, entry] of Object.entries(files as Record<string, unknown>)) {
    const e = entry as { executed_lines?: unknown; missing_lines?: unknown };
    const nums = (xs: unknown) =>
      new Set(Array.isArray(xs) ? xs.filter((n): n is number => Number.isInteger(n)) : []);
    out.set(path, { executed: nums(e?.executed_lines), missing: nums(e?.missing_lines) });
  }
  return out;
}

/**
 * istanbul's report is keyed by absolute path, as the sandbox saw it (the work tree's real path). Lines with
 * no code are left out: jest's v8 provider makes every line of a file a statement, blank ones included.
 */
async function fromIstanbul(
  json: unknown,
  workDir: string,
  files: readonly string[],
): Promise<CoverageMap | undefined> {
  if (!json || typeof json !== 'object') return undefined;
  const realDir = await realpath(workDir).catch(() => workDir);
  const out: CoverageMap = new Map();
  for (const [abs, entry] of Object.entries(json as Record<string, unknown>)) {
    const rel = relative(realDir, abs);
    if (!files.includes(rel)) continue;
    const lines = istanbulLineCoverage(entry);
    const source = await readTreeFile(workDir, rel, MAX_SOURCE);
    if (!lines || source === undefined) continue;
    const code = codeLines(source);
    const keep = (s: Set<number>) => new Set([...s].filter((l) => code.has(l)));
    out.set(rel, { executed: keep(lines.executed), missing: keep(lines.missing) });
  }
  return out;
}

interface V8Entry {
  functions: V8Function[];
  url?: string;
  sourceMap?: V8SourceMap;
}

async function fromV8(
  json: unknown,
  workDir: string,
  files: readonly string[],
): Promise<CoverageMap | undefined> {
  const scripts = (json as { scripts?: unknown })?.scripts;
  if (!Array.isArray(scripts)) return undefined;
  const byPath = new Map<string, V8Entry[]>();
  for (const s of scripts as (V8Entry & { path?: unknown })[]) {
    if (typeof s?.path !== 'string' || !files.includes(s.path) || !isV8Functions(s.functions)) continue;
    const mapped = typeof s.url === 'string' && s.sourceMap && typeof s.sourceMap === 'object';
    byPath.set(s.path, [
      ...(byPath.get(s.path) ?? []),
      { functions: s.functions, ...(mapped ? { url: s.url, sourceMap: s.sourceMap } : {}) },
    ]);
  }
  // No Node process ran any file of the tree (the tests run in a browser, or not in Node): an unloaded
  // file then says nothing about the tests.
  const nodeRanNothing = (json as { loaded?: unknown }).loaded === 0;
  const out: CoverageMap = new Map();
  for (const path of files) {
    const source = await readTreeFile(workDir, path, MAX_SOURCE);
    if (source === undefined) continue; // not in this tree (the base commit lacks it)
    const entries = byPath.get(path) ?? [];
    if (entries.length === 0 && nodeRanNothing) {
      out.set(path, {
        ...empty(),
        note: 'no Node process of the test command ran any file of the repository',
      });
      continue;
    }
    if (entries.length === 0) {
      out.set(
        path,
        PLAIN_JS.test(path)
          ? unloaded(source)
          : { ...empty(), note: 'no test loaded it (and it is not plain JS, so its lines are not known)' },
      );
      continue;
    }
    // A module with a source map was transformed: its map, never its offsets, says which lines ran.
    const lines = entries.map((e) =>
      e.sourceMap && e.url
        ? v8MappedLineCoverage(source, e.functions, e.sourceMap, e.url)
        : v8LineCoverage(source, e.functions),
    );
    if (lines.some((l) => l === undefined)) {
      out.set(path, {
        ...empty(),
        note: 'V8 ran a transformed version of it (TypeScript, JSX or a bundler’s output) with no usable source map: not measured',
      });
      continue;
    }
    out.set(path, (lines as LineCoverage[]).reduce(unionLines));
  }
  return out;
}

async function fromGo(
  text: string,
  workDir: string,
  files: readonly string[],
): Promise<CoverageMap | undefined> {
  const mod = goModulePath((await readTreeFile(workDir, 'go.mod', MAX_SOURCE)) ?? '');
  if (!mod) return undefined;
  const blocks = parseGoCoverProfile(text, mod);
  const out: CoverageMap = new Map();
  for (const path of files) {
    const source = await readTreeFile(workDir, path, MAX_SOURCE);
    if (source === undefined) continue;
    const b = blocks.get(path);
    out.set(path, b ? goLineCoverage(b, source) : { ...empty(), note: 'not built into any tested package' });
  }
  return out;
}

const empty = (): LineCoverage => ({ executed: new Set(), missing: new Set() });

/** A line run in either was run. */
function unionLines(a: LineCoverage, b: LineCoverage): LineCoverage {
  const executed = new Set([...a.executed, ...b.executed]);
  const missing = new Set([...a.missing, ...b.missing].filter((n) => !executed.has(n)));
  return { executed, missing };
}

const hasLines = (c: LineCoverage | undefined) => !!c && c.executed.size + c.missing.size > 0;

/** Two runs' coverage of the same code as one: a line run in either was run; a file measured in neither
 * keeps the reason. */
export function unionCoverage(a?: CoverageMap, b?: CoverageMap): CoverageMap | undefined {
  if (!a || !b) return a ?? b;
  const out: CoverageMap = new Map();
  for (const path of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(path);
    const y = b.get(path);
    const lines = unionLines(x ?? empty(), y ?? empty());
    const note = hasLines(lines) ? undefined : (x?.note ?? y?.note);
    out.set(path, { ...lines, ...(note ? { note } : {}) });
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

/** The tool a plan's coverage is measured with, as the record names it. */
export function coverageTool(plan?: Partial<CoveragePlan>): TestCoverage['tool'] {
  switch (plan?.coverageFormat ?? 'coverage.py') {
    case 'coverage.py':
      return 'coverage.py';
    case 'v8':
      return 'v8';
    case 'go':
      return 'go cover';
    case 'istanbul':
      return plan?.kind === 'jest' ? 'jest' : '@vitest/coverage-v8';
  }
}

/**
 * The coverage of a change: per changed file, its added executable lines run by the tests, and its line
 * coverage with the patch against the base commit's (same tests). A file the base lacks has no base figure.
 * `plan` names the tool (coverage.py when absent) and, when known, why nothing could be measured.
 */
export function coverageOfChange(
  diff: string,
  files: readonly string[],
  patched: CoverageMap | undefined,
  base: CoverageMap | undefined,
  plan?: Partial<CoveragePlan>,
): TestCoverage {
  const tool = coverageTool(plan);
  const notMeasured = (reason?: string): TestCoverage => ({
    tool,
    measured: false,
    files: [],
    ...(reason ? { reason } : {}),
  });
  if (!patched)
    return notMeasured(
      plan?.coverageNote ?? (plan?.coverageFormat ? 'the run wrote no coverage report' : undefined),
    );
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
      ...(c?.note ? { note: c.note } : {}),
    };
  });
  const noted = rows.filter((r) => r.note);
  if (noted.length > 0 && rows.every((r) => r.note || r.statements === 0)) {
    return notMeasured(noted.map((r) => `${r.path}: ${r.note}`).join('; '));
  }
  const sum = (f: (r: (typeof rows)[number]) => number) => rows.reduce((n, r) => n + f(r), 0);
  const changedLines = sum((r) => r.changedLines);
  const total = pct(
    sum((r) => r.covered),
    sum((r) => r.statements),
  );
  const baseOf = (path: string) => base?.get(path);
  // A base file with no figure (not measured) would count as 0 of 0 against the patched file's lines.
  const withBase = rows.filter((r) => baseOf(r.path) && (hasLines(baseOf(r.path)) || !baseOf(r.path)?.note));
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
    tool,
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
