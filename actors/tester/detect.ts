// Which runner a repository's tests need, with what interpreter, environment and setup, and why. The result is
// plain data (argv, env, setup argv lists) that the sandbox runs with cwd = the work tree.
import { existsSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, posix, relative } from 'node:path';
import type { TestSettings } from '../../schemas/repo-config.ts';
import { git } from '../runtime/git.ts';
import { readTreeFile } from '../runtime/read-tree-file.ts';
import { REPORT_DIR, type RunnerKind, type RunnerPlan } from './runners.ts';

export type Language = 'python' | 'js' | 'go';

/** A runner as detected, before test selection: `command` runs the whole suite. */
export interface DetectedRunner extends RunnerPlan {
  env: Record<string, string>;
  /** argv lists run in the sandbox (cwd = work tree) once per base commit, before the tests. */
  setup: string[][];
  /** Human-readable reasons for every choice made. */
  why: string[];
  language?: Language;
  /** Workspace directory (relative) the JS runner was found in, when not the root. */
  packageDir?: string;
  /** Host paths the command needs visible in the sandbox (besides the work tree). */
  readOnlyPaths?: string[];
}

export interface DetectOptions {
  /** Extra directories searched for `vitest` / `jest` when the repo has no local node_modules/.bin. */
  binDirs?: string[];
  /** The merged `test` settings (`.codemesh.yml` < registered repo < task). */
  config?: TestSettings;
  /** Files the change touches (relative to workDir): their language decides between runners. */
  changedFiles?: string[];
  /** The repository the work tree came from (its `.venv` is used when the work tree has none linked). */
  repoPath?: string;
  /** Commit the work tree is at (for a generated version file: the nearest tag). */
  baseCommit?: string;
  /** Tracked and untracked files of the work tree; listed with git when absent. */
  files?: string[];
}

// Colour codes only get in the way of the logs the agents read.
const NODE_ENV = { NO_COLOR: '1', FORCE_COLOR: '0' };
const DEFAULT_NPM_TEST = /no test specified/;
const LINT_TOOLS =
  /^(eslint|prettier|stylelint|tslint|standard|xo|biome|jshint|jscs|tsc|markdownlint|npm run lint\S*|lint-staged)\b/;
const SHIM_DIR = join(import.meta.dirname, 'pyshim');
// Code that needs the compatibility shim on Python 3.10+: the collections.abc aliases in collections,
// fractions.gcd, inspect.getargspec, and assertion rewriters that build ast.alias nodes without positions.
const NEEDS_SHIM =
  'collections\\.(Mapping|MutableMapping|Sequence|MutableSequence|MutableSet|Callable|Iterable|Iterator|Hashable|Sized|Container)\\b|from collections import [^#]*\\b(Mapping|MutableMapping|Callable|Iterable|MutableSet|Hashable)\\b|fractions\\.gcd\\b|inspect\\.getargspec\\b|ast\\.alias\\(';

export function languageOf(file: string): Language | undefined {
  if (/\.py$/.test(file)) return 'python';
  if (/\.(m|c)?[jt]sx?$|\.(vue|svelte)$/.test(file)) return 'js';
  if (/\.go$/.test(file)) return 'go';
  return undefined;
}

/** A path of the tests: a test file, or anything under a test directory (fixtures, test apps, conftest). */
export function isTestPath(file: string): boolean {
  return isTestFile(file) || /(^|\/)(tests?|testing|__tests__)\//.test(file);
}

export function isTestFile(file: string, lang = languageOf(file)): boolean {
  const base = posix.basename(file);
  if (lang === 'python') {
    if (base === 'conftest.py' || base === '__init__.py') return false;
    if (/^test_.*\.py$|_tests?\.py$|^tests\.py$/.test(base)) return true;
    return /^test.*\.py$/.test(base) && /(^|\/)(tests?|testing)\//.test(file);
  }
  if (lang === 'js') return /\.(test|spec)\.[cm]?[jt]sx?$/.test(base) || /(^|\/)__tests__\//.test(file);
  if (lang === 'go') return base.endsWith('_test.go');
  return false;
}

/** Tracked and untracked (not ignored) files of a work tree, relative. */
export async function listFiles(workDir: string): Promise<string[]> {
  const r = await git(workDir, ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    allowFail: true,
  });
  if (r.exitCode !== 0) return [];
  return [...new Set(r.stdout.split('\0').filter(Boolean))];
}

/**
 * Work out how the repository at `workDir` runs its tests (the whole suite; see plan.ts for selection).
 *
 * @example
 * const r = await detectRunner(wt, { changedFiles: ['django/core/validators.py'], config: {} });
 * // r.kind === 'django', r.command = ['/usr/bin/python3', 'tests/runtests.py', ...], r.why = [...]
 */
export async function detectRunner(workDir: string, options: DetectOptions = {}): Promise<DetectedRunner> {
  const config = options.config ?? {};
  const files = options.files ?? (await listFiles(workDir));
  const why: string[] = [];
  const candidates = await languageOrder(workDir, files, options.changedFiles ?? [], why);
  let found: DetectedRunner | undefined;
  if (config.runner) {
    found = await byName(config.runner, workDir, files, options, why);
    why.unshift(`test.runner: ${config.runner} (config)`);
  } else {
    for (const lang of candidates) {
      found = await byLanguage(lang, workDir, files, options, why);
      if (found) break;
    }
  }
  found ??= { kind: 'none', command: [], env: {}, setup: [], why };
  return applyConfig(found, config, workDir);
}

/** Languages to try, best first: those of the changed files, then the one with the most test files. */
async function languageOrder(
  workDir: string,
  files: string[],
  changed: string[],
  why: string[],
): Promise<Language[]> {
  const count = (list: string[], test: boolean) => {
    const c: Record<Language, number> = { python: 0, js: 0, go: 0 };
    for (const f of list) {
      const l = languageOf(f);
      if (l && (!test || isTestFile(f, l))) c[l]++;
    }
    return c;
  };
  const byChange = count(changed, false);
  const byTests = count(files, true);
  const order = (['python', 'js', 'go'] as Language[]).sort(
    (a, b) => byChange[b] - byChange[a] || byTests[b] - byTests[a],
  );
  const top = order[0]!;
  if (byChange[top] > 0) {
    why.push(`the change touches ${describe(byChange)}: ${top} first`);
  } else if (byTests[top] > 0) {
    why.push(`no changed files given; test files: ${describe(byTests)}: ${top} first`);
  }
  // A Python project with no test files yet still has markers.
  if (byTests[top] === 0 && byChange[top] === 0 && (await isPythonProject(workDir))) {
    return ['python', 'js', 'go'];
  }
  return order;
}

function describe(c: Record<Language, number>): string {
  return Object.entries(c)
    .filter(([, n]) => n > 0)
    .map(([l, n]) => `${n} ${l}`)
    .join(', ');
}

async function byName(
  name: NonNullable<TestSettings['runner']>,
  workDir: string,
  files: string[],
  options: DetectOptions,
  why: string[],
): Promise<DetectedRunner> {
  switch (name) {
    case 'pytest':
    case 'django':
    case 'sympy':
      return python(workDir, options, why, name);
    case 'vitest':
    case 'jest':
    case 'npm':
      return (await javascript(workDir, files, options, why, name)) ?? nothing(why);
    case 'go':
      return goRunner(why);
    case 'none':
      return nothing(why);
  }
}

async function byLanguage(
  lang: Language,
  workDir: string,
  files: string[],
  options: DetectOptions,
  why: string[],
): Promise<DetectedRunner | undefined> {
  if (lang === 'python') {
    if (!(await isPythonProject(workDir)) && !files.some((f) => isTestFile(f, 'python'))) return undefined;
    return python(workDir, options, why);
  }
  if (lang === 'js') return javascript(workDir, files, options, why);
  if (existsSync(join(workDir, 'go.mod'))) return goRunner(why);
  return undefined;
}

function nothing(why: string[]): DetectedRunner {
  return { kind: 'none', command: [], env: {}, setup: [], why };
}

// ---------------------------------------------------------------------------------------------- Python

async function python(
  workDir: string,
  options: DetectOptions,
  why: string[],
  forced?: 'pytest' | 'django' | 'sympy',
): Promise<DetectedRunner> {
  const py = pythonInterpreter(workDir, options, why);
  const env: Record<string, string> = { PYTHONDONTWRITEBYTECODE: '1' };
  const pythonPath: string[] = [];
  const readOnlyPaths: string[] = [];
  const setup: string[][] = [];

  let kind: 'pytest' | 'django' | 'sympy' = forced ?? 'pytest';
  if (!forced) {
    if (existsSync(join(workDir, 'tests', 'runtests.py')) && existsSync(join(workDir, 'django'))) {
      kind = 'django';
      why.push('tests/runtests.py and a django/ package: Django runs its own test runner, not pytest');
    } else if (existsSync(join(workDir, 'bin', 'test')) && existsSync(join(workDir, 'sympy'))) {
      kind = 'sympy';
      why.push("bin/test and a sympy/ package: SymPy's own test runner");
    }
  }

  const srcPkgs = await srcPackages(workDir);
  if (srcPkgs.length) {
    pythonPath.push('src');
    why.push(
      `src layout (${srcPkgs.slice(0, 3).join(', ')}): src/ first on PYTHONPATH so the checkout wins over an installed copy`,
    );
  }
  const ini = await pytestIni(workDir);
  if (ini.pythonpath.length) {
    for (const p of ini.pythonpath) if (!pythonPath.includes(p)) pythonPath.push(p);
    why.push(`pytest pythonpath (${ini.source}): ${ini.pythonpath.join(' ')}`);
  }
  if (kind !== 'sympy' && !pythonPath.includes('.')) pythonPath.push('.');

  if (await needsShim(workDir)) {
    pythonPath.unshift(SHIM_DIR);
    readOnlyPaths.push(SHIM_DIR);
    why.push(
      'the code uses what Python 3.10+ removed or tightened (collections.Mapping & co., fractions.gcd, inspect.getargspec, ast.alias without positions): a sitecustomize shim restores it',
    );
  }

  const versionFile = await generatedVersionFile(workDir);
  if (versionFile && !existsSync(join(workDir, versionFile))) {
    const version = await nearestTag(options.repoPath ?? workDir, options.baseCommit);
    const text = `# generated by codemesh (setuptools_scm is not run in the sandbox)\n__version__ = version = ${JSON.stringify(version)}\n__version_tuple__ = version_tuple = ${pyTuple(version)}\n`;
    setup.push([py, '-c', `open(${JSON.stringify(versionFile)}, "w").write(${JSON.stringify(text)})`]);
    why.push(
      `${versionFile} is generated by setuptools_scm and absent from a checkout: setup writes it (${version})`,
    );
  }

  let command: string[];
  let reportFile: string | undefined;
  if (kind === 'django') {
    const runtests = (await readTreeFile(workDir, 'tests/runtests.py')) ?? '';
    command = [py, 'tests/runtests.py', '--verbosity', '2'];
    if (existsSync(join(workDir, 'tests', 'test_sqlite.py'))) command.push('--settings=test_sqlite');
    if (runtests.includes('--parallel')) command.push('--parallel', '1');
    env.PYTHONPATH = pythonPath.join(':');
    why.push(`django: ${command.slice(1).join(' ')} <labels>, PYTHONPATH=${env.PYTHONPATH}`);
  } else if (kind === 'sympy') {
    const bintest = (await readTreeFile(workDir, 'bin/test')) ?? '';
    command = [py, 'bin/test'];
    if (/--no-cache/.test(bintest)) command.push('-C');
    command.push('--verbose');
    env.PYTHONHASHSEED = '0';
    env.PYTHONWARNINGS = 'ignore::UserWarning,ignore::SyntaxWarning';
    if (pythonPath.length) env.PYTHONPATH = pythonPath.join(':');
    why.push('sympy: bin/test -C --verbose <files>, PYTHONHASHSEED=0');
  } else {
    reportFile = `${REPORT_DIR}/junit.xml`;
    // no:cacheprovider keeps .pytest_cache out of the tree; bytecode stays off the disk as well. One module
    // that cannot be collected (a missing optional dependency) must not hide every other result: its error is
    // reported as a test of its own, pre-existing when the base commit has it too.
    command = [
      py,
      '-m',
      'pytest',
      '-rA',
      '-p',
      'no:cacheprovider',
      '--continue-on-collection-errors',
      `--junitxml=${join(workDir, reportFile)}`,
    ];
    env.PYTHONPATH = pythonPath.join(':');
    if (ini.source) why.push(`pytest settings from ${ini.source}`);
    why.push(`pytest with PYTHONPATH=${env.PYTHONPATH}`);
  }
  if (kind !== 'pytest') {
    // Text runners: the sandbox keeps only the last 256 KiB of stdout, and one deep traceback pushes the
    // per-test lines out of it; the whole output goes to a report file instead (its tail still to stdout).
    reportFile = `${REPORT_DIR}/${kind}.log`;
    command = captureTo(join(workDir, reportFile), command);
  }
  return {
    kind,
    command,
    reportFile,
    env,
    setup,
    why,
    language: 'python',
    python: py,
    ...(readOnlyPaths.length ? { readOnlyPaths } : {}),
  };
}

/** `argv` with stdout and stderr written to `file`; the tail is printed, the exit status kept. */
export function captureTo(file: string, argv: string[]): string[] {
  const script = 'f=$1; shift; "$@" >"$f" 2>&1; s=$?; tail -c 65536 "$f"; exit $s';
  return ['sh', '-c', script, 'sh', file, ...argv];
}

function pythonInterpreter(workDir: string, options: DetectOptions, why: string[]): string {
  const configured = options.config?.python;
  if (configured) {
    why.push(`test.python: ${configured} (config)`);
    return isAbsolute(configured) || !configured.includes('/') ? configured : join(workDir, configured);
  }
  for (const base of [workDir, options.repoPath].filter((d): d is string => !!d)) {
    const venv = join(base, '.venv', 'bin', 'python');
    if (existsSync(venv)) {
      why.push(`the repository's .venv: ${relative(workDir, venv) || venv}`);
      return join(workDir, '.venv', 'bin', 'python');
    }
  }
  if (existsSync('/usr/bin/python3')) {
    why.push("interpreter /usr/bin/python3 (the system one, which sees the distribution's packages)");
    return '/usr/bin/python3';
  }
  return 'python3';
}

export async function isPythonProject(workDir: string): Promise<boolean> {
  const markers = ['pyproject.toml', 'setup.py', 'setup.cfg', 'pytest.ini', 'tox.ini', 'conftest.py'];
  if (markers.some((f) => existsSync(join(workDir, f)))) return true;
  const isTest = (f: string) => /^test_.*\.py$|_test\.py$/.test(f);
  const top = await readdir(workDir).catch(() => [] as string[]);
  if (top.some(isTest)) return true;
  const tests = await readdir(join(workDir, 'tests')).catch(() => [] as string[]);
  return tests.some(isTest);
}

async function srcPackages(workDir: string): Promise<string[]> {
  const src = join(workDir, 'src');
  if (!existsSync(src) || !statSync(src).isDirectory()) return [];
  const out: string[] = [];
  for (const e of await readdir(src, { withFileTypes: true })) {
    if (e.isDirectory() && existsSync(join(src, e.name, '__init__.py'))) out.push(e.name);
    else if (e.isFile() && e.name.endsWith('.py')) out.push(e.name.slice(0, -3));
  }
  return out.sort();
}

interface PytestIni {
  source?: string;
  pythonpath: string[];
  testpaths: string[];
  /** Directory patterns pytest does not collect from (its defaults when the file sets none). */
  norecursedirs: string[];
}

/** pytest's default `norecursedirs`. */
const NORECURSE_DEFAULT = ['*.egg', '.*', '_darcs', 'build', 'CVS', 'dist', 'node_modules', 'venv', '{arch}'];

/** pytest's own config lookup order: pytest.ini, pyproject.toml, tox.ini, setup.cfg. */
export async function pytestIni(workDir: string): Promise<PytestIni> {
  const sections: [string, RegExp][] = [
    ['pytest.ini', /^\[pytest\]\s*$/m],
    ['pyproject.toml', /^\[tool\.pytest\.ini_options\]\s*$/m],
    ['tox.ini', /^\[pytest\]\s*$/m],
    ['setup.cfg', /^\[tool:pytest\]\s*$/m],
  ];
  for (const [file, header] of sections) {
    const text = await readTreeFile(workDir, file);
    if (text === undefined) continue;
    const m = header.exec(text);
    if (!m) continue;
    const rest = text.slice(m.index + m[0].length);
    const body = rest.slice(0, rest.search(/^\[/m) === -1 ? undefined : rest.search(/^\[/m));
    const list = (key: string) => {
      const v = new RegExp(`^${key}\\s*=\\s*((?:\\[[^\\]]*\\])|.*(?:\\n[ \\t]+.*)*)`, 'm').exec(body)?.[1];
      if (!v) return [];
      return v
        .replace(/[[\],"']/g, ' ')
        .split(/\s+/)
        .filter(Boolean);
    };
    const norecurse = list('norecursedirs');
    return {
      source: file,
      pythonpath: list('pythonpath'),
      testpaths: list('testpaths'),
      norecursedirs: norecurse.length ? norecurse : NORECURSE_DEFAULT,
    };
  }
  return { pythonpath: [], testpaths: [], norecursedirs: NORECURSE_DEFAULT };
}

async function needsShim(workDir: string): Promise<boolean> {
  const r = await git(workDir, ['grep', '-q', '-E', NEEDS_SHIM, '--', '*.py'], { allowFail: true });
  return r.exitCode === 0;
}

async function generatedVersionFile(workDir: string): Promise<string | undefined> {
  for (const f of ['pyproject.toml', 'setup.py', 'setup.cfg']) {
    const text = (await readTreeFile(workDir, f)) ?? '';
    // `write_to = "…"` (setup.cfg, pyproject), `"write_to": "…"` (setup.py's use_scm_version dict), version_file.
    const m = /\b(?:write_to|version_file)["']?\s*[=:]\s*["']([^"']+\.py)["']/.exec(text);
    if (m?.[1] && !m[1].startsWith('/') && !m[1].includes('..')) return m[1];
  }
  return undefined;
}

async function nearestTag(repo: string, commit = 'HEAD'): Promise<string> {
  const r = await git(repo, ['describe', '--tags', '--abbrev=0', commit], { allowFail: true });
  const tag = r.stdout.trim().replace(/^v/, '');
  return r.exitCode === 0 && /^\d+(\.\d+)*/.test(tag) ? tag : '0.0.0';
}

function pyTuple(version: string): string {
  const parts = version.split(/[.+-]/).map((p) => (/^\d+$/.test(p) ? p : JSON.stringify(p)));
  return `(${parts.join(', ')}${parts.length === 1 ? ',' : ''})`;
}

// ------------------------------------------------------------------------------------------ JavaScript

async function javascript(
  workDir: string,
  files: string[],
  options: DetectOptions,
  why: string[],
  forced?: 'vitest' | 'jest' | 'npm',
): Promise<DetectedRunner | undefined> {
  const root = await readJson(workDir, 'package.json');
  if (!root) return undefined;
  // In a workspace (npm/yarn/pnpm), the package the change touches has the runner.
  const workspaces = await workspaceDirs(workDir, root, files);
  const changedWs = (options.changedFiles ?? [])
    .map((f) => workspaces.find((w) => f.startsWith(`${w}/`)))
    .find((w): w is string => !!w);
  const dirs = changedWs ? [changedWs, ''] : ['', ...workspaces];
  for (const dir of dirs) {
    const pkg = dir ? await readJson(workDir, posix.join(posix.normalize(dir), 'package.json')) : root;
    if (!pkg) continue;
    const found = jsRunner(workDir, dir, pkg, options, why, forced);
    if (found) {
      if (dir) why.push(`npm workspace ${dir}${changedWs === dir ? ' (the change touches it)' : ''}`);
      return found;
    }
  }
  return undefined;
}

function jsRunner(
  workDir: string,
  dir: string,
  pkg: Record<string, unknown>,
  options: DetectOptions,
  why: string[],
  forced?: 'vitest' | 'jest' | 'npm',
): DetectedRunner | undefined {
  const where = dir ? `${dir}/package.json` : 'package.json';
  const deps = { ...asRecord(pkg.dependencies), ...asRecord(pkg.devDependencies) };
  const testScript = String(asRecord(pkg.scripts).test ?? '');
  const hasConfig = (tool: string) =>
    ['js', 'ts', 'mjs', 'cjs', 'mts', 'cts'].some((e) =>
      existsSync(join(workDir, dir, `${tool}.config.${e}`)),
    );
  const base = {
    env: { ...NODE_ENV },
    setup: [],
    why,
    language: 'js' as const,
    ...(dir ? { packageDir: dir } : {}),
  };
  if (
    forced === 'vitest' ||
    (!forced && ('vitest' in deps || /\bvitest\b/.test(testScript) || hasConfig('vitest')))
  ) {
    const reportFile = `${REPORT_DIR}/vitest.json`;
    const bin = toolPath('vitest', workDir, dir, options);
    why.push(`vitest (${where})`);
    const args = ['run', ...(dir ? [`--root=${dir}`] : []), '--reporter=default', '--reporter=json'];
    return {
      kind: 'vitest',
      command: [bin, ...args, `--outputFile.json=${join(workDir, reportFile)}`],
      reportFile,
      ...base,
    };
  }
  if (
    forced === 'jest' ||
    (!forced && ('jest' in deps || /\bjest\b/.test(testScript) || hasConfig('jest')))
  ) {
    const reportFile = `${REPORT_DIR}/jest.json`;
    const bin = toolPath('jest', workDir, dir, options);
    why.push(`jest (${where})`);
    return {
      kind: 'jest',
      command: [
        bin,
        ...(dir ? [`--rootDir=${dir}`] : []),
        '--ci',
        '--json',
        `--outputFile=${join(workDir, reportFile)}`,
      ],
      reportFile,
      ...base,
    };
  }
  if (forced === 'npm' || (testScript && !DEFAULT_NPM_TEST.test(testScript))) {
    if (!forced && onlyLints(testScript)) {
      why.push(`${where}: the test script only lints (${testScript.slice(0, 60)}): not a test runner`);
      return undefined;
    }
    why.push(`npm test (${where}: "${testScript.slice(0, 60)}")`);
    return { kind: 'npm', command: ['npm', 'test', ...(dir ? ['--workspace', dir] : [])], ...base };
  }
  if (!testScript) why.push(`${where} has no test script`);
  return undefined;
}

function onlyLints(script: string): boolean {
  const parts = script
    .split(/&&|\|\||;/)
    .map((s) => s.trim().replace(/^npx\s+/, ''))
    .filter(Boolean);
  return parts.length > 0 && parts.every((p) => LINT_TOOLS.test(p));
}

async function workspaceDirs(
  workDir: string,
  pkg: Record<string, unknown>,
  files: string[],
): Promise<string[]> {
  const ws = pkg.workspaces;
  const globs = Array.isArray(ws) ? ws : asArray(asRecord(ws).packages);
  const out = new Set<string>();
  const pkgFiles = files.filter((f) => f.endsWith('/package.json') && !f.includes('node_modules/'));
  for (const g of globs.map(String)) {
    const re = new RegExp(
      `^${g
        .replace(/\/+$/, '')
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*/g, '.+')
        .replace(/\*/g, '[^/]+')}$`,
    );
    for (const f of pkgFiles) {
      const d = dirname(f);
      if (re.test(d)) out.add(d);
    }
  }
  if (out.size === 0 && globs.length) {
    // Not a git work tree: fall back to the directories themselves.
    for (const g of globs.map(String))
      if (!g.includes('*') && existsSync(join(workDir, g, 'package.json'))) out.add(g);
  }
  return [...out].sort();
}

function toolPath(tool: string, workDir: string, dir: string, options: DetectOptions): string {
  for (const d of [
    join(workDir, dir, 'node_modules', '.bin'),
    join(workDir, 'node_modules', '.bin'),
    ...(options.binDirs ?? []),
  ]) {
    if (existsSync(join(d, tool))) return join(d, tool);
  }
  return tool; // resolved on the sandbox's PATH
}

// ------------------------------------------------------------------------------------------------- Go

function goRunner(why: string[]): DetectedRunner {
  why.push('go.mod: go test -json');
  return {
    kind: 'go',
    command: ['go', 'test', '-json', './...'],
    env: goEnv(),
    setup: [],
    why,
    language: 'go',
  };
}

function goEnv(): Record<string, string> {
  // HOME is /tmp in the sandbox: keep the build cache there, never fetch (no network), and read modules
  // from the host's module cache (read-only is enough to build).
  const env: Record<string, string> = { GOCACHE: '/tmp/go-build', GOTOOLCHAIN: 'local', GOPROXY: 'off' };
  const modCache = process.env.GOMODCACHE ?? join(process.env.GOPATH ?? join(homedir(), 'go'), 'pkg', 'mod');
  if (existsSync(modCache)) env.GOMODCACHE = modCache;
  return env;
}

// ------------------------------------------------------------------------------------------------ config

/** `test.command`, `test.env` and `test.setup` from the config over what was detected. */
function applyConfig(found: DetectedRunner, config: TestSettings, workDir: string): DetectedRunner {
  const out: DetectedRunner = { ...found, env: { ...found.env }, setup: [...found.setup] };
  if (config.command) {
    // A shell line gets `"$@"` so that the report option and the selected tests reach the command itself.
    let argv =
      typeof config.command === 'string' ? ['sh', '-c', `${config.command} "$@"`, 'sh'] : [...config.command];
    const shown = typeof config.command === 'string' ? config.command : argv.join(' ');
    const runner = config.runner;
    if (runner === 'pytest' && found.reportFile) {
      argv.push(`--junitxml=${join(workDir, found.reportFile)}`);
    } else if ((runner === 'django' || runner === 'sympy') && found.reportFile) {
      argv = captureTo(join(workDir, found.reportFile), argv);
    } else if (runner !== 'go') {
      // Without a runner whose output codemesh reads, the command's exit code is its only result.
      out.kind = 'custom';
      delete out.reportFile;
    }
    out.command = argv;
    out.why.push(`test.command (config): ${shown}`);
  }
  if (config.env) {
    Object.assign(out.env, config.env);
    out.why.push(`test.env (config): ${Object.keys(config.env).join(', ')}`);
  }
  if (config.setup) {
    out.setup.push(...config.setup.map((c) => (typeof c === 'string' ? ['sh', '-c', c] : [...c])));
    out.why.push(`test.setup (config): ${config.setup.length} command(s)`);
  }
  return out;
}

/** A JSON file of the work tree (a regular file inside it, bounded: see readTreeFile). */
async function readJson(workDir: string, rel: string): Promise<Record<string, unknown> | undefined> {
  try {
    const text = await readTreeFile(workDir, rel);
    return text === undefined ? undefined : asRecord(JSON.parse(text));
  } catch {
    return undefined;
  }
}

function asRecord(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export type { RunnerKind };
