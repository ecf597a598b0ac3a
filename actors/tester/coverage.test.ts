import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addedLines } from '../runtime/git.ts';
import {
  COVER_DIR,
  type CoverageMap,
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
