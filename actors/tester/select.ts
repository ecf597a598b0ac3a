// Which tests to run for a change: those the issue names, those the patch adds or changes, those that import
// the changed modules, then a bounded regression set. Each runner gets the label format it understands.
import { existsSync } from 'node:fs';
import { join, posix } from 'node:path';
import { git } from '../runtime/git.ts';
import { isTestFile, type Language, languageOf } from './detect.ts';
import type { RunnerKind } from './runners.ts';

export const DEFAULT_MAX_FILES = 20;

/**
 * The cap on related test files when `test.max_files` is not set: lower where one test module runs for a
 * minute or more (SymPy's symbolic test files, Django's large test packages), so the selected set fits the
 * default timeout on the base commit and with the patch.
 */
export function defaultMaxFiles(kind: RunnerKind): number {
  if (kind === 'sympy') return 4;
  if (kind === 'django') return 10;
  return DEFAULT_MAX_FILES;
}
/** Issue-named and patch-touched files are always kept, up to this many. */
const MAX_PRIMARY = 50;

export interface SelectInput {
  workDir: string;
  kind: RunnerKind;
  language?: Language;
  /** Tracked and untracked files of the work tree. */
  files: string[];
  changedFiles: string[];
  patchDiff?: string;
  issueText?: string;
  /** Cap on the regression files added after the primary ones. */
  maxFiles?: number;
  /** Workspace directory the JS runner runs from (its filters are relative to it). */
  packageDir?: string;
  /** pytest's `norecursedirs`: test files under such a directory are never selected (pytest skips them). */
  norecursedirs?: string[];
  /**
   * pytest's `testpaths`: where the project keeps its tests. When set (and holding any test file), a test file
   * outside them is not selected — pytest's own `bench/unit_test.py` (15,000 unittest classes) matches
   * `*_test.py` and defines `test_1`, yet is a benchmark.
   */
  testpaths?: string[];
}

export interface Selection {
  /** Test files chosen, repository-relative, best first. */
  files: string[];
  /** What to append to the runner's command (node ids, dotted labels, packages, file filters). */
  labels: string[];
  /** How many of `files` (the first ones) the issue names or the patch touches; the rest are related. */
  primary: number;
  /** Labels of the primary files alone, when related files were added after them. */
  primaryLabels?: string[];
  /** Labels of the related files that the primary labels do not already run (with `primaryLabels`). */
  restLabels?: string[];
  why: string[];
}

/**
 * @example
 * const s = await selectTests({ workDir, kind: 'django', files, changedFiles: ['django/core/validators.py'] });
 * // s.labels -> ['validators.tests', ...], s.why -> ['tests/validators/tests.py: named like ...']
 */
export async function selectTests(input: SelectInput): Promise<Selection> {
  const lang = input.language ?? languageOfKind(input.kind);
  const skipDir = norecurse(input.norecursedirs ?? []);
  const candidates = input.files.filter((f) => isTestFile(f, lang) && inSuite(f, input.kind) && !skipDir(f));
  const within = underTestpaths(input.testpaths ?? []);
  const inPaths = candidates.filter(within);
  // testpaths naming nothing that exists: pytest itself then falls back to the whole tree.
  const tests = inPaths.length > 0 ? inPaths : candidates;
  const testSet = new Set(tests);
  const why: string[] = [];
  const primary = new Map<string, string>(); // file -> reason
  const related = new Map<string, string>();
  const add = (into: Map<string, string>, file: string, reason: string) => {
    if (!testSet.has(file) || primary.has(file) || into.has(file)) return;
    into.set(file, reason);
  };

  // 1. The issue text: test paths, test names, dotted labels.
  const issue = input.issueText ?? '';
  for (const path of mentionedPaths(issue)) {
    const hit = tests.find((t) => t === path || t.endsWith(`/${path}`));
    if (hit) add(primary, hit, 'the issue names this file');
  }
  for (const label of issue.match(/\b[A-Za-z_]\w*(?:\.[A-Za-z_]\w*){1,6}\b/g) ?? []) {
    const hit = moduleToFile(label, tests, input.kind);
    if (hit) add(primary, hit, `the issue names ${label}`);
  }
  const names = [...new Set(issue.match(testNamePattern(lang)) ?? [])].slice(0, 20);
  for (const name of names) {
    for (const hit of (await grepFiles(input.workDir, definitionPattern(lang, name), tests)).slice(0, 5)) {
      add(primary, hit, `the issue names ${name}`);
    }
  }

  // 2. The patch: test files it adds or changes, and the tests it adds.
  for (const f of input.changedFiles) {
    if (existsSync(join(input.workDir, f))) add(primary, f, 'the change touches this test file');
  }
  const added = addedTests(input.patchDiff ?? '', lang);
  for (const [file, fns] of added) add(primary, file, `the patch adds ${fns.slice(0, 3).join(', ')}`);

  // 3. Tests related to the changed source files: named after them, or importing them.
  const sources = input.changedFiles.filter((f) => languageOf(f) === lang && !isTestFile(f, lang));
  // A test named after a common module name (`test_utils.py` for `admindocs/utils.py`) in an unrelated
  // package says little: it comes after every better reason, and only when there is none.
  const elsewhere = new Map<string, string>();
  for (const src of sources) {
    for (const t of namedAfter(src, tests)) {
      if (near(src, t)) add(related, t, `named after ${src}`);
      else if (!related.has(t)) elsewhere.set(t, `named after ${src} (in another package)`);
    }
  }
  for (const src of sources) {
    const pattern = importPattern(src, lang, input.files);
    if (!pattern) continue;
    for (const t of await grepFiles(input.workDir, pattern, tests)) add(related, t, `imports ${src}`);
  }
  // The package's own test module (`test_requests.py` for `requests/models.py`).
  for (const src of sources) {
    const top = lang === 'python' ? pythonModule(src, input.files)?.split('.')[0] : undefined;
    if (!top) continue;
    for (const t of namedAfter(`${top}.py`, tests, { dirs: false })) {
      // Only at the top (`test_requests.py`, `tests/test_requests.py`), not deep in another folder.
      if (/^((tests?|testing)\/)?[^/]+$/.test(t)) add(related, t, `named after the package ${top}`);
    }
  }
  // Tests the issue mentions by source path (a traceback frame, a module) pull in their tests too.
  for (const path of mentionedPaths(issue)) {
    if (testSet.has(path) || languageOf(path) !== lang || !input.files.includes(path)) continue;
    for (const t of namedAfter(path, tests)) {
      if (near(path, t)) add(related, t, `named after ${path}, which the issue names`);
    }
  }
  // Only when nothing nearer relates to the change, and then a few.
  if (related.size === 0)
    for (const [t, reason] of [...elsewhere].slice(0, MAX_ELSEWHERE)) add(related, t, reason);

  // Django's GIS tests abort the whole run ("A GIS database backend is required") on its default sqlite
  // settings: left out, and said so.
  if (input.kind === 'django') {
    const gis = [...primary.keys(), ...related.keys()].filter((f) => f.startsWith('tests/gis_tests/'));
    for (const f of gis) primary.delete(f) || related.delete(f);
    if (gis.length)
      why.push(
        `${gis.length} gis_tests file(s) left out: they need a GIS database backend (test.command to run them)`,
      );
  }
  const chosen = [...primary.entries()].slice(0, MAX_PRIMARY);
  const cap = input.maxFiles ?? DEFAULT_MAX_FILES;
  const extra = [...related.entries()];
  chosen.push(...extra.slice(0, cap));
  why.unshift(...chosen.map(([file, reason]) => `${file}: ${reason}`));
  if (extra.length > cap)
    why.push(`${extra.length - cap} more related test files left out (cap ${cap}, test.max_files)`);
  if (primary.size > MAX_PRIMARY) why.push(`${primary.size - MAX_PRIMARY} more named test files left out`);

  const files = chosen.map(([f]) => f);
  const nPrimary = Math.min(primary.size, MAX_PRIMARY);
  return {
    files,
    labels: labelsFor(input.kind, files, input.changedFiles, input.packageDir),
    primary: nPrimary,
    // With related files too: the narrower run to fall back on when the whole selection does not finish.
    ...(nPrimary > 0 && nPrimary < files.length
      ? stages(input, files.slice(0, nPrimary), files.slice(nPrimary))
      : {}),
    why,
  };
}

/**
 * The selection in two stages: the primary files' labels (run first: the first verdict) and the related
 * files' labels that the first stage does not already run (the regression set, run after it).
 */
function stages(
  input: SelectInput,
  primary: string[],
  related: string[],
): Pick<Selection, 'primaryLabels' | 'restLabels'> {
  const primaryLabels = labelsFor(input.kind, primary, input.changedFiles, input.packageDir);
  const first = new Set(primaryLabels);
  const rest = labelsFor(input.kind, related, input.changedFiles, input.packageDir).filter(
    (l) => !first.has(l),
  );
  return { primaryLabels, ...(rest.length > 0 ? { restLabels: rest } : {}) };
}

/** Runner arguments for the chosen test files. */
export function labelsFor(
  kind: RunnerKind,
  files: string[],
  changedFiles: string[] = [],
  packageDir?: string,
): string[] {
  switch (kind) {
    case 'django':
      return unique(files.map(djangoLabel).filter((l): l is string => !!l));
    case 'go': {
      const dirs = [...files, ...changedFiles.filter((f) => f.endsWith('.go'))].map((f) => posix.dirname(f));
      return unique(dirs.map((d) => (d === '.' ? '.' : `./${d}`)));
    }
    case 'vitest':
    case 'jest':
      return files.map((f) =>
        packageDir && f.startsWith(`${packageDir}/`) ? f.slice(packageDir.length + 1) : f,
      );
    case 'npm':
    case 'custom':
    case 'none':
      return [];
    default:
      return files;
  }
}

/** A glob (`*`, `?`, `[...]`) as a regular expression over one whole string. */
function globRe(glob: string): RegExp {
  let re = '';
  for (const ch of glob) {
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[' || ch === ']') re += ch;
    else re += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  try {
    return new RegExp(`^${re}$`);
  } catch {
    return new RegExp(`^${glob.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  }
}

/**
 * Whether a file lies under a directory pytest does not recurse into: a pattern without `/` matches a
 * directory's name, one with `/` the end of its path (`testing/example_scripts`), as pytest's fnmatch does.
 */
/** pytest's `testpaths` (directories, files or globs, relative to the root) as a filter on test files. */
function underTestpaths(patterns: string[]): (file: string) => boolean {
  const res = patterns
    .map((p) => p.replace(/^\.\//, '').replace(/\/+$/, ''))
    .filter((p) => p && p !== '.')
    .map((p) => globRe(p));
  if (res.length < patterns.length || !res.length) return () => true; // `.` (or nothing): the whole tree
  return (file) => {
    const parts = file.split('/');
    return parts.some((_, i) => res.some((re) => re.test(parts.slice(0, i + 1).join('/'))));
  };
}

function norecurse(patterns: string[]): (file: string) => boolean {
  const res = patterns.map((p) => ({ path: p.includes('/'), re: globRe(p.replace(/\/+$/, '')) }));
  if (!res.length) return () => false;
  return (file) => {
    const dirs = file.split('/').slice(0, -1);
    for (let i = 0; i < dirs.length; i++) {
      for (const { path, re } of res) {
        // A name pattern tests the directory's name; a path pattern every tail of its path.
        const tails = path ? dirs.slice(0, i + 1).map((_, j) => dirs.slice(j, i + 1).join('/')) : [dirs[i]!];
        if (tails.some((t) => re.test(t))) return true;
      }
    }
    return false;
  };
}

/** `tests/foo/test_bar.py` → `foo.test_bar` (Django's runtests.py runs from tests/). */
export function djangoLabel(file: string): string | undefined {
  if (!file.startsWith('tests/') || !file.endsWith('.py')) return undefined;
  return file.slice('tests/'.length, -'.py'.length).replace(/\//g, '.');
}

function inSuite(file: string, kind: RunnerKind): boolean {
  if (kind === 'django') return file.startsWith('tests/') && file !== 'tests/runtests.py';
  return !file.includes('node_modules/');
}

function languageOfKind(kind: RunnerKind): Language | undefined {
  if (kind === 'pytest' || kind === 'django' || kind === 'sympy') return 'python';
  if (kind === 'vitest' || kind === 'jest' || kind === 'npm') return 'js';
  if (kind === 'go') return 'go';
  return undefined;
}

function mentionedPaths(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/(?:^|[\s"'`([])((?:[\w.-]+\/)*[\w.-]+\.(?:py|[cm]?[jt]sx?|go))\b/g)) {
    out.add(m[1]!.replace(/^(?:\.\/|[ab]\/)/, ''));
  }
  return [...out];
}

function testNamePattern(lang: Language | undefined): RegExp {
  if (lang === 'go') return /\bTest[A-Z]\w*/g;
  return /\btest_\w+/g;
}

function definitionPattern(lang: Language | undefined, name: string): string {
  if (lang === 'go') return `func ${name}\\(`;
  if (lang === 'js') return `['"\`]${name}`;
  return `def ${name}\\(`;
}

/** A dotted name that is a test module (`foo.tests.test_bar`, or Django's `foo.test_bar` under tests/). */
function moduleToFile(label: string, tests: string[], kind: RunnerKind): string | undefined {
  const parts = label.split('.');
  for (let n = parts.length; n >= 1; n--) {
    const path = parts.slice(0, n).join('/');
    const candidates =
      kind === 'django' ? [`tests/${path}.py`] : [`${path}.py`, `tests/${path}.py`, `src/${path}.py`];
    const hit = candidates.find((c) => tests.includes(c));
    if (hit && (n > 1 || /^test/.test(parts[0]!))) return hit;
  }
  return undefined;
}

/** Files and test functions the patch adds (`+def test_x`, `+func TestX`, `+it('...')`). */
export function addedTests(diff: string, lang: Language | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let file: string | undefined;
  for (const line of diff.split('\n')) {
    const head = /^\+\+\+ (?:b\/)?(.+)$/.exec(line);
    if (head) {
      file = head[1] === '/dev/null' ? undefined : head[1]!.trim();
      continue;
    }
    if (!file || !line.startsWith('+') || !isTestFile(file, lang)) continue;
    const m =
      /^\+\s*(?:async\s+)?def\s+(test\w*)\s*\(/.exec(line) ??
      /^\+func\s+(Test\w*)\s*\(/.exec(line) ??
      /^\+\s*(?:it|test)\s*\(\s*['"`]([^'"`]+)/.exec(line);
    if (!m) continue;
    const list = out.get(file) ?? [];
    list.push(m[1]!);
    out.set(file, list);
  }
  return out;
}

/** Name-only matches from other packages, taken when nothing nearer relates to the change. */
const MAX_ELSEWHERE = 2;

const STOP_DIRS = new Set(['src', 'lib', 'test', 'tests', 'testing', '__tests__', 'spec', 'specs']);

/** A directory name's comparable forms: `admin_docs` → admin, doc, admindoc; `utils_tests` → util. */
function dirForms(dir: string): string[] {
  const one = (w: string) => w.toLowerCase().replace(/s$/, '');
  const parts = dir.split(/[_\-.]+/).filter((w) => w && !STOP_DIRS.has(w.toLowerCase()));
  if (STOP_DIRS.has(dir.toLowerCase())) return [];
  return [...new Set([...parts.map(one), one(dir.replace(/[_\-.]+/g, ''))])].filter((w) => w.length > 1);
}

/**
 * Whether a test file lives near a source file: they share a directory name below the source's top
 * package (`django/contrib/admindocs/utils.py` ~ `tests/admin_docs/test_utils.py`, not
 * `tests/backends/test_utils.py`). A module at the top of its package (`src/flask/helpers.py`) is near
 * every test.
 */
function near(src: string, test: string): boolean {
  const srcDirs = posix
    .dirname(src)
    .split('/')
    .filter((d) => d !== '.' && !STOP_DIRS.has(d.toLowerCase()));
  const mine = new Set(srcDirs.slice(1).flatMap(dirForms));
  if (mine.size === 0) return true;
  return posix
    .dirname(test)
    .split('/')
    .flatMap(dirForms)
    .some((w) => mine.has(w));
}

/** Test files named after a source file: `test_point.py`, `point_test.go`, `point.test.ts`, `tests/point/`. */
function namedAfter(src: string, tests: string[], opts: { dirs?: boolean } = {}): string[] {
  const stem = posix.basename(src).replace(/\.[^.]+$/, '');
  const name = stem === '__init__' ? posix.basename(posix.dirname(src)) : stem;
  if (!name || name === '.' || name.length < 3) return [];
  const esc = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // A folder named after the module (`tests/validators/`), unless only file names count.
  const dirs = opts.dirs === false ? '' : `|(^|/)(${esc}s?|${esc}_tests)/`;
  const re = new RegExp(
    `(^|/)(test_${esc}s?\\.py|${esc}s?_tests?\\.(py|go)|${esc}\\.(test|spec)\\.[cm]?[jt]sx?)$${dirs}`,
  );
  const srcDir = posix.dirname(src);
  return tests
    .filter((t) => re.test(t))
    .sort((a, b) => sharedPrefix(b, srcDir) - sharedPrefix(a, srcDir) || a.localeCompare(b));
}

function sharedPrefix(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  let n = 0;
  while (n < pa.length && n < pb.length && pa[n] === pb[n]) n++;
  return n;
}

/** An extended regex that finds an import of `src` in a test file, or undefined when it cannot be named. */
function importPattern(src: string, lang: Language | undefined, files: string[]): string | undefined {
  if (lang === 'python') {
    const mod = pythonModule(src, files);
    if (!mod) return undefined;
    if (!mod.includes('.')) return `^\\s*(import|from) ${mod}\\b`;
    const parent = mod.slice(0, mod.lastIndexOf('.')).replace(/\./g, '\\.');
    const leaf = mod.slice(mod.lastIndexOf('.') + 1);
    return `${mod.replace(/\./g, '\\.')}\\b|from ${parent} import .*\\b${leaf}\\b`;
  }
  if (lang === 'js') {
    const stem = posix.basename(src).replace(/\.[^.]+$/, '');
    if (stem === 'index') return undefined;
    return `from ['"][^'"]*/${stem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\.[cm]?[jt]sx?)?['"]|require\\(['"][^'"]*/${stem}`;
  }
  return undefined;
}

/** `src/flask/app.py` → `flask.app`: strips the source root (a directory above the top `__init__.py`). */
export function pythonModule(file: string, files: string[]): string | undefined {
  if (!file.endsWith('.py')) return undefined;
  const has = new Set(files);
  const parts = file.slice(0, -3).split('/');
  let start = parts.length - 1;
  while (start > 0 && has.has(`${parts.slice(0, start).join('/')}/__init__.py`)) start--;
  const mod = parts.slice(start);
  if (mod.at(-1) === '__init__') mod.pop();
  return mod.length ? mod.join('.') : undefined;
}

async function grepFiles(workDir: string, pattern: string, within: string[]): Promise<string[]> {
  if (within.length === 0) return [];
  const wanted = new Set(within);
  // Pathspecs of the test directories keep git grep off the rest of a large repository.
  const dirs = unique(within.map((f) => (f.includes('/') ? f.slice(0, f.indexOf('/')) : f)));
  const specs = dirs.length <= 200 ? dirs : [];
  const r = await git(workDir, ['grep', '-l', '-I', '-E', '--untracked', '-e', pattern, '--', ...specs], {
    allowFail: true,
  });
  if (r.exitCode !== 0) return [];
  return r.stdout.split('\n').filter((f) => wanted.has(f));
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
