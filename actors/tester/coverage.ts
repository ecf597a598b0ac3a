// Coverage of the change (US-004), with each ecosystem's own measure: the Python runners run under codemesh's
// launcher (pycov/cover.py, coverage.py when the sandbox's interpreter has it); `npm test` under jscov/cover.mjs,
// which turns on Node's V8 block coverage (NODE_V8_COVERAGE) and keeps the changed files' entries; vitest and
// jest use their own coverage (@vitest/coverage-v8 when the repository has it, jest's v8 provider), which map
// their in-memory transforms back to the sources; Go uses `go test -coverprofile`. The patched run gives the
// coverage of the added lines; the base run (same tests, base code) the coverage of the same files before the
// change, so the delta says whether the change is tested as well as the code it replaces. Every report is
// written by the repository's code: read only as a regular file of bounded size, parsed defensively.
import { realpath } from 'node:fs/promises';
import { relative } from 'node:path';
import type { TestCoverage } from '../../schemas/index.ts';
import { addedLines } from '../runtime/git.ts';
import { readTreeFile } from '../runtime/read-tree-file.ts';
import { goLineCoverage, goModulePath, parseGoCoverProfile } from './cover-go.ts';
import { istanbulLineCoverage } from './cover-istanbul.ts';
import { COVERAGE_REPORTS } from './cover-plan.ts';
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
import { prepareReport } from './runners.ts';
import type { TestPlan } from './types.ts';

export {
  COVER_DIR,
  COVERAGE_REPORT,
  COVERAGE_REPORTS,
  type CoverageOptions,
  coverageTargets,
  JS_COVER_DIR,
  runnerLanguage,
  withCoverage,
} from './cover-plan.ts';

const MAX_REPORT = 20 * 1024 * 1024;
const MAX_SOURCE = 4 * 1024 * 1024;
// Files Node runs as they are: V8's offsets are their text's. Other JS-family files (TypeScript, JSX, Vue)
// reach V8 only after a transform.
const PLAIN_JS = /\.(c|m)?js$/;

/** Per file: the executable lines run and not run; `note` says why a file has no figure. */
export type CoverageMap = Map<string, LineCoverage & { note?: string }>;

type CoveragePlan = Pick<TestPlan, 'kind' | 'coverage' | 'coverageFormat' | 'coverageNote'>;

/**
 * Makes the report directory (replacing whatever the tree has there that is not one) and removes a report
 * left in the tree (a repository may commit one): only the run's own is read.
 */
export async function clearCoverage(workDir: string, plan?: CoveragePlan): Promise<void> {
  const reportFile = COVERAGE_REPORTS[plan?.coverageFormat ?? 'coverage.py'];
  await prepareReport({ kind: plan?.kind ?? 'none', command: [], reportFile }, workDir);
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
        note: 'no Node process of the test command wrote V8 coverage of any file of the repository (tests run in a browser, or a tool such as c8 took NODE_V8_COVERAGE over)',
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
