import { execFileSync, spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addedLines } from '../runtime/git.ts';
import {
  COVER_DIR,
  type CoverageMap,
  JS_COVER_DIR,
  runnerLanguage,
  coverageFromJson,
  coverageOfChange,
  coverageTargets,
  coverageToJson,
  readCoverage,
  unionCoverage,
  withCoverage,
} from './coverage.ts';
import { captureTo } from './detect.ts';
import type { TestPlan } from './types.ts';

const diff = [
  'diff --git a/pkg/calc.py b/pkg/calc.py',
  '--- a/pkg/calc.py',
  '+++ b/pkg/calc.py',
  '@@ -4,3 +4,4 @@ def add(a, b):',
  ' def subtract(a, b):',
  '-    return a + b',
  '+    return a - b',
  '+',
  ' ',
  'diff --git a/pkg/new.py b/pkg/new.py',
  'new file mode 100644',
  '--- /dev/null',
  '+++ b/pkg/new.py',
  '@@ -0,0 +1,2 @@',
  '+def f():',
  '+    return 1',
  'diff --git a/tests/test_calc.py b/tests/test_calc.py',
  '--- a/tests/test_calc.py',
  '+++ b/tests/test_calc.py',
  '@@ -1 +1,2 @@',
  ' x',
  '+++y',
  'diff --git a/README.md b/README.md',
  '--- a/README.md',
  '+++ b/README.md',
  '@@ -1 +1 @@',
  '-a',
  '+b',
  'diff --git a/old.py b/old.py',
  'deleted file mode 100644',
  '--- a/old.py',
  '+++ /dev/null',
  '@@ -1 +0,0 @@',
  '-gone',
  '',
].join('\n');

const plan = (over: Partial<TestPlan>): TestPlan => ({
  kind: 'pytest',
  command: ['/usr/bin/python3', '-m', 'pytest', '-rA', 'tests/test_calc.py'],
  python: '/usr/bin/python3',
  env: {},
  setup: [],
  timeoutMs: 1000,
  scope: 'selected',
  selected: ['tests/test_calc.py'],
  labels: ['tests/test_calc.py'],
  why: [],
  readOnlyPaths: [],
  push: false,
  configSources: [],
  ...over,
});

const map = (o: Record<string, [number[], number[]]>): CoverageMap =>
  new Map(Object.entries(o).map(([p, [e, m]]) => [p, { executed: new Set(e), missing: new Set(m) }]));

describe('what coverage measures', () => {
  it('reads added lines with their new-file numbers, per file, and no deleted file', () => {
    const added = addedLines(diff);
    expect(added.get('pkg/calc.py')).toEqual([5, 6]);
    expect(added.get('pkg/new.py')).toEqual([1, 2]);
    // An added line that reads `++y` is content, not a header.
    expect(added.get('tests/test_calc.py')).toEqual([2]);
    expect(added.has('old.py')).toBe(false);
  });

  it('targets the changed Python sources, not tests or other files', () => {
    expect(coverageTargets(diff)).toEqual(['pkg/calc.py', 'pkg/new.py']);
  });

  it('runs the interpreter through the launcher in every stage, and leaves other runners alone', () => {
    const p = plan({
      primary: { selected: ['a'], labels: ['a'], command: ['/usr/bin/python3', '-m', 'pytest', 'a'] },
      rest: { selected: ['b'], labels: ['b'], command: ['/usr/bin/python3', '-m', 'pytest', 'b'] },
    });
    const w = withCoverage(p, ['pkg/calc.py'], '/wt');
    const launcher = [join(COVER_DIR, 'cover.py'), '/wt/.codemesh-report/coverage.json', 'pkg/calc.py', '--'];
    expect(w.command).toEqual(['/usr/bin/python3', ...launcher, '-m', 'pytest', '-rA', 'tests/test_calc.py']);
    expect(w.primary?.command).toEqual(['/usr/bin/python3', ...launcher, '-m', 'pytest', 'a']);
    expect(w.rest?.command).toEqual(['/usr/bin/python3', ...launcher, '-m', 'pytest', 'b']);
    expect(w.coverage).toEqual(['pkg/calc.py']);
    expect(w.readOnlyPaths).toContain(COVER_DIR);
    // django and sympy: the interpreter inside the capture wrapper.
    const dj = captureTo('/wt/.codemesh-report/django.log', ['/usr/bin/python3', 'tests/runtests.py', 'x']);
    const wd = withCoverage(plan({ kind: 'django', command: dj }), ['pkg/calc.py'], '/wt');
    expect(wd.command.slice(5)).toEqual(['/usr/bin/python3', ...launcher, 'tests/runtests.py', 'x']);
    expect(
      withCoverage(plan({ kind: 'vitest', python: undefined }), ['a.py'], '/wt').coverage,
    ).toBeUndefined();
    expect(withCoverage(plan({}), [], '/wt').command).toEqual(plan({}).command);
    expect(withCoverage(plan({ command: ['make', 'test'] }), ['a.py'], '/wt').coverage).toBeUndefined();
  });
});

describe('the coverage of a change', () => {
  it('counts the executable added lines run, and the files against the base', () => {
    const patched = map({ 'pkg/calc.py': [[1, 2, 4, 5], [6]], 'pkg/new.py': [[1], [2]] });
    const base = map({ 'pkg/calc.py': [[1, 2, 4, 5], []] });
    const c = coverageOfChange(diff, ['pkg/calc.py', 'pkg/new.py'], patched, base);
    expect(c.measured).toBe(true);
    expect(c.files).toEqual([
      {
        path: 'pkg/calc.py',
        changedLines: 2,
        changedCovered: 1,
        covered: 4,
        statements: 5,
        pct: 80,
        basePct: 100,
      },
      {
        path: 'pkg/new.py',
        changedLines: 2,
        changedCovered: 1,
        covered: 1,
        statements: 2,
        pct: 50,
        basePct: null,
      },
    ]);
    expect(c).toMatchObject({ changedLines: 4, changedCovered: 2, changedPct: 50, pct: 71.4, basePct: 100 });
    // The delta compares the files the base has: calc.py 80% against 100%.
    expect(c.deltaPct).toBe(-20);
    expect(coverageOfChange(diff, ['pkg/calc.py'], undefined, base)).toEqual({
      tool: 'coverage.py',
      measured: false,
      files: [],
    });
  });

  it('joins two stages: a line run in either was run', () => {
    const u = unionCoverage(map({ a: [[1], [2, 3]] }), map({ a: [[2], [1, 3]], b: [[1], []] }))!;
    expect(coverageToJson(u)).toEqual({
      a: { executed: [1, 2], missing: [3] },
      b: { executed: [1], missing: [] },
    });
    expect(coverageToJson(coverageFromJson(coverageToJson(u)))).toEqual(coverageToJson(u));
    expect(unionCoverage(undefined, u)).toBe(u);
  });
});

const python = '/usr/bin/python3';
const hasCoverage = spawnSync(python, ['-c', 'import coverage'], { cwd: '/' }).status === 0;

describe('the launcher', () => {
  function project(): string {
    const dir = mkdtempSync(join(tmpdir(), 'cm-cover-'));
    writeFileSync(join(dir, 'm.py'), 'def f(x):\n    if x > 0:\n        return 1\n    return 2\n');
    writeFileSync(join(dir, 'test_m.py'), 'from m import f\n\ndef test_f():\n    assert f(1) == 1\n');
    mkdirSync(join(dir, '.codemesh-report'));
    return dir;
  }
  const launch = (dir: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(
      python,
      [join(COVER_DIR, 'cover.py'), join(dir, '.codemesh-report/coverage.json'), 'm.py', '--', ...args],
      { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, PYTHONDONTWRITEBYTECODE: '1', ...env } },
    );

  it.skipIf(!hasCoverage)('runs pytest as `python -m pytest` would and writes the report', async () => {
    const dir = project();
    const res = launch(dir, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'test_m.py']);
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toContain('1 passed');
    const cov = await readCoverage(dir);
    expect(coverageToJson(cov!)).toEqual({ 'm.py': { executed: [1, 2, 3], missing: [4] } });
  });

  it.skipIf(!hasCoverage)(
    'runs a script with its own directory first on sys.path, keeping its exit status',
    () => {
      const dir = project();
      writeFileSync(join(dir, 'run.py'), 'import sys, m\nprint(sys.argv[1:])\nsys.exit(m.f(-1) + 1)\n');
      const res = launch(dir, ['run.py', 'a', 'b']);
      expect(res.status).toBe(3);
      expect(res.stdout).toContain("['a', 'b']");
      expect(
        JSON.parse(readFileSync(join(dir, '.codemesh-report/coverage.json'), 'utf8')).files['m.py'],
      ).toMatchObject({
        executed_lines: [1, 2, 4],
      });
    },
  );

  it('without coverage.py it only runs the tests, says so, and writes no report', async () => {
    const dir = project();
    const fake = mkdtempSync(join(tmpdir(), 'cm-nocov-'));
    writeFileSync(join(fake, 'coverage.py'), 'raise ImportError("no coverage here")\n');
    const res = launch(dir, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'test_m.py'], {
      PYTHONPATH: fake,
    });
    expect(res.status, res.stderr).toBe(0);
    expect(res.stderr).toContain('coverage not measured');
    expect(await readCoverage(dir)).toBeUndefined();
  });

  it('reads no report that is not a regular file', async () => {
    const dir = project();
    execFileSync('ln', ['-s', '/etc/passwd', join(dir, '.codemesh-report/coverage.json')]);
    expect(await readCoverage(dir)).toBeUndefined();
  });
});

describe('JS and Go: what each runner is given', () => {
  const jsDiff = [
    'diff --git a/src/calc.js b/src/calc.js',
    '--- a/src/calc.js',
    '+++ b/src/calc.js',
    '@@ -1 +1 @@',
    '-a',
    '+b',
    'diff --git a/src/calc.test.js b/src/calc.test.js',
    '--- a/src/calc.test.js',
    '+++ b/src/calc.test.js',
    '@@ -1 +1 @@',
    '-a',
    '+b',
    'diff --git a/pkg/calc.go b/pkg/calc.go',
    '--- a/pkg/calc.go',
    '+++ b/pkg/calc.go',
    '@@ -1 +1 @@',
    '-a',
    '+b',
    'diff --git a/pkg/calc_test.go b/pkg/calc_test.go',
    '--- a/pkg/calc_test.go',
    '+++ b/pkg/calc_test.go',
    '@@ -1 +1 @@',
    '-a',
    '+b',
    '',
  ].join('\n');
  const js = (over: Partial<TestPlan>) => plan({ python: undefined, ...over });

  it('targets the sources of the runner’s language', () => {
    expect(coverageTargets(jsDiff, 'js')).toEqual(['src/calc.js']);
    expect(coverageTargets(jsDiff, 'go')).toEqual(['pkg/calc.go']);
    expect(runnerLanguage('npm')).toBe('js');
    expect(runnerLanguage('custom')).toBeUndefined();
  });

  it('runs npm test under the V8 launcher', () => {
    const w = withCoverage(js({ kind: 'npm', command: ['npm', 'test'] }), ['src/calc.js', 'a.py'], '/wt');
    expect(w.command).toEqual([
      process.execPath,
      join(JS_COVER_DIR, 'cover.mjs'),
      '/wt/.codemesh-report/v8-coverage.json',
      'src/calc.js',
      '--',
      'npm',
      'test',
    ]);
    expect(w).toMatchObject({ coverage: ['src/calc.js'], coverageFormat: 'v8' });
    expect(w.readOnlyPaths).toContain(JS_COVER_DIR);
  });

  it('gives go test a cover profile of every package, in each stage', () => {
    const cmd = ['go', 'test', '-json', './pkg'];
    const w = withCoverage(
      js({ kind: 'go', command: cmd, primary: { selected: [], labels: [], command: cmd } }),
      ['pkg/calc.go', 'pkg/more.go', 'main.go'],
      '/wt',
    );
    const args = ['-coverprofile=/wt/.codemesh-report/cover.out', '-coverpkg=./pkg,.'];
    expect(w.command).toEqual(['go', 'test', ...args, '-json', './pkg']);
    expect(w.primary?.command).toEqual(w.command);
    expect(w.coverageFormat).toBe('go');
    // A custom command is not rewritten.
    expect(
      withCoverage(js({ kind: 'go', command: ['make'] }), ['pkg/calc.go'], '/wt').coverage,
    ).toBeUndefined();
  });

  it('uses jest’s own v8 coverage, and vitest’s only when the repository has @vitest/coverage-v8', () => {
    const j = withCoverage(
      js({ kind: 'jest', command: ['jest', '--ci', 'x.test.js'] }),
      ['src/calc.js'],
      '/wt',
    );
    expect(j.command).toEqual([
      'jest',
      '--coverage',
      '--coverageProvider=v8',
      '--coverageReporters=json',
      '--coverageDirectory=/wt/.codemesh-report',
      '--collectCoverageFrom=src/calc.js',
      '--ci',
      'x.test.js',
    ]);
    const repo = mkdtempSync(join(tmpdir(), 'cm-vcov-'));
    const vitest = js({ kind: 'vitest', command: ['vitest', 'run', '--root=src', 'x'] });
    const without = withCoverage(vitest, ['src/calc.js'], '/wt', { repoPath: repo });
    expect(without.command).toEqual(vitest.command);
    expect(without.coverageNote).toMatch(/no @vitest\/coverage-v8/);
    mkdirSync(join(repo, 'node_modules/@vitest/coverage-v8'), { recursive: true });
    writeFileSync(join(repo, 'node_modules/@vitest/coverage-v8/package.json'), '{}');
    const w = withCoverage(vitest, ['src/calc.js', 'other/x.js'], '/wt', { repoPath: repo });
    expect(w.coverageNote).toBeUndefined();
    expect(w.command).toContain('--coverage.provider=v8');
    expect(w.command).toContain('--coverage.reportOnFailure=true');
    // Include patterns are relative to vitest's root; a file outside it cannot be included.
    expect(w.command.filter((a) => a.startsWith('--coverage.include='))).toEqual([
      '--coverage.include=calc.js',
    ]);
    expect(w.command.slice(0, 2)).toEqual(['vitest', 'run']);
    expect(w.command.slice(-2)).toEqual(['--root=src', 'x']);
    // The provider loads only in the vitest it came with: the repository's runs when it has one.
    mkdirSync(join(repo, 'node_modules/.bin'));
    writeFileSync(join(repo, 'node_modules/.bin/vitest'), '');
    const own = withCoverage(vitest, ['src/calc.js'], '/wt', { repoPath: repo });
    expect(own.command.slice(0, 2)).toEqual(['/wt/node_modules/.bin/vitest', 'run']);
  });
});

describe('reading JS and Go reports (written by untrusted code)', () => {
  const SRC = 'exports.f = function f(x) {\n  return x;\n};\nexports.g = () =>\n  2;\n';
  function tree(): string {
    const dir = mkdtempSync(join(tmpdir(), 'cm-covread-'));
    mkdirSync(join(dir, '.codemesh-report'));
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src/a.js'), SRC);
    return dir;
  }
  const v8Plan = { kind: 'npm' as const, coverage: ['src/a.js'], coverageFormat: 'v8' as const };
  const entry = (path: string, end = SRC.length) => ({
    path,
    functions: [
      { functionName: '', ranges: [{ startOffset: 0, endOffset: end, count: 1 }] },
      {
        functionName: 'g',
        ranges: [{ startOffset: SRC.indexOf('() =>'), endOffset: SRC.length - 2, count: 0 }],
      },
    ],
  });
  const write = (dir: string, file: string, body: unknown) =>
    writeFileSync(
      join(dir, '.codemesh-report', file),
      typeof body === 'string' ? body : JSON.stringify(body),
    );

  it('turns the launcher’s V8 entries into lines, joining several processes', async () => {
    const dir = tree();
    write(dir, 'v8-coverage.json', {
      scripts: [entry('src/a.js'), entry('src/a.js'), entry('elsewhere.js')],
    });
    expect(coverageToJson((await readCoverage(dir, v8Plan))!)).toEqual({
      'src/a.js': { executed: [1, 2, 4], missing: [5] },
    });
  });

  it('counts a plain JS file no test loaded as all missing, and refuses transformed offsets', async () => {
    const dir = tree();
    write(dir, 'v8-coverage.json', { scripts: [], loaded: 2 });
    expect(coverageToJson((await readCoverage(dir, v8Plan))!)['src/a.js']).toEqual({
      executed: [],
      missing: [1, 2, 4, 5],
    });
    // When Node ran none of the tree's files (tests in a browser), that says nothing about the file.
    write(dir, 'v8-coverage.json', { scripts: [], loaded: 0 });
    expect(coverageOfChange('', ['src/a.js'], await readCoverage(dir, v8Plan), undefined, v8Plan)).toEqual({
      tool: 'v8',
      measured: false,
      files: [],
      reason:
        'src/a.js: no Node process of the test command wrote V8 coverage of any file of the repository (tests run in a browser, or a tool such as c8 took NODE_V8_COVERAGE over)',
    });
    write(dir, 'v8-coverage.json', { scripts: [entry('src/a.js', SRC.length + 400)] });
    const cov = (await readCoverage(dir, v8Plan))!;
    expect(cov.get('src/a.js')?.note).toMatch(/transformed/);
    const c = coverageOfChange('', ['src/a.js'], cov, undefined, v8Plan);
    expect(c).toMatchObject({ tool: 'v8', measured: false });
    expect(c.reason).toMatch(/^src\/a\.js: V8 ran a transformed version/);
  });

  it('reads no source or report through a symlink, and survives junk', async () => {
    const dir = tree();
    rmSync(join(dir, 'src/a.js'));
    symlinkSync('/etc/passwd', join(dir, 'src/a.js'));
    write(dir, 'v8-coverage.json', { scripts: [entry('src/a.js')] });
    expect((await readCoverage(dir, v8Plan))!.size).toBe(0);
    const linked = tree();
    rmSync(join(linked, 'src'), { recursive: true });
    symlinkSync(join(dir, 'src'), join(linked, 'src'));
    write(linked, 'v8-coverage.json', { scripts: [entry('src/a.js')] });
    expect((await readCoverage(linked, v8Plan))!.size).toBe(0);
    const junk = tree();
    write(
      junk,
      'v8-coverage.json',
      '{"scripts": [{"path": "src/a.js", "functions": [{"ranges": "x"}]}, 7, null]}',
    );
    expect(coverageToJson((await readCoverage(junk, v8Plan))!)['src/a.js']?.executed).toEqual([]);
    write(junk, 'v8-coverage.json', 'not json');
    expect(await readCoverage(junk, v8Plan)).toBeUndefined();
    const viaLink = tree();
    symlinkSync(
      join(junk, '.codemesh-report/v8-coverage.json'),
      join(viaLink, '.codemesh-report/v8-coverage.json'),
    );
    expect(await readCoverage(viaLink, v8Plan)).toBeUndefined();
  });

  it('reads a go cover profile against go.mod, and istanbul’s report by real path', async () => {
    const dir = tree();
    writeFileSync(join(dir, 'go.mod'), 'module example.com/m\n');
    mkdirSync(join(dir, 'pkg'));
    writeFileSync(join(dir, 'pkg/a.go'), 'package pkg\n\nfunc F() int {\n\treturn 1\n}\n');
    write(
      dir,
      'cover.out',
      'mode: set\nexample.com/m/pkg/a.go:3.14,5.2 1 0\nexample.com/n/pkg/a.go:3.14,5.2 1 1\n',
    );
    const go = { kind: 'go' as const, coverage: ['pkg/a.go'], coverageFormat: 'go' as const };
    expect(coverageToJson((await readCoverage(dir, go))!)).toEqual({
      'pkg/a.go': { executed: [], missing: [3, 4] },
    });
    const real = realpathSync(dir);
    write(dir, 'coverage-final.json', {
      [join(real, 'src/a.js')]: {
        // Line 3 is `};`: jest's v8 provider makes it a statement, it is no code.
        statementMap: {
          0: { start: { line: 1 } },
          1: { start: { line: 2 } },
          2: { start: { line: 2 } },
          3: { start: { line: 3 } },
        },
        s: { 0: 1, 1: 0, 2: 3, 3: 0 },
      },
      [join(real, 'src/other.js')]: { statementMap: { 0: { start: { line: 1 } } }, s: { 0: 1 } },
      '/etc/x.js': 'junk',
    });
    const ist = { kind: 'jest' as const, coverage: ['src/a.js'], coverageFormat: 'istanbul' as const };
    expect(coverageToJson((await readCoverage(dir, ist))!)).toEqual({
      'src/a.js': { executed: [1, 2], missing: [] },
    });
    expect(coverageOfChange('', ['src/a.js'], await readCoverage(dir, ist), undefined, ist).tool).toBe(
      'jest',
    );
  });

  it('says why vitest is not measured without its coverage package', () => {
    const p = { kind: 'vitest' as const, coverageFormat: 'istanbul' as const, coverageNote: 'no provider' };
    expect(coverageOfChange('', ['a.js'], undefined, undefined, p)).toEqual({
      tool: '@vitest/coverage-v8',
      measured: false,
      files: [],
      reason: 'no provider',
    });
  });
});
