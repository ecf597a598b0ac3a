// Runner detection and report parsing: parsers on sample reports, detection on temp repos, and real runs of
// a vitest and a pytest fixture inside the sandbox.
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox } from '../../sandbox-agent/index.ts';
import {
  detectRunner,
  parseGoTestJson,
  parseJestJson,
  parseJUnitXml,
  parseRunnerOutput,
  prepareReport,
  REPORT_DIR,
  type RunnerPlan,
} from './runners.ts';

// Resolved: in a git worktree node_modules is a symlink, which bwrap cannot bind over itself.
const MAIN_NODE_MODULES = realpathSync(join(import.meta.dirname, '..', '..', 'node_modules'));
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'codemesh-runners-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function repo(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(root, name);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  await mkdir(dir, { recursive: true });
  return dir;
}

describe('parseJestJson (vitest and jest reports)', () => {
  it('maps assertions to tests with file-qualified names, durations and messages', () => {
    const report = {
      testResults: [
        {
          name: '/repo/src/math.test.ts',
          status: 'failed',
          message: '',
          assertionResults: [
            { ancestorTitles: ['math'], title: 'adds', status: 'passed', duration: 1.5, failureMessages: [] },
            {
              ancestorTitles: ['math'],
              title: 'fails',
              status: 'failed',
              duration: 4,
              failureMessages: ['AssertionError: expected 2 to be 3'],
            },
            { ancestorTitles: [], title: 'later', status: 'todo', failureMessages: [] },
            { ancestorTitles: [], title: 'off', status: 'pending', failureMessages: [] },
          ],
        },
      ],
    };
    expect(parseJestJson(report, '/repo')).toEqual([
      { name: 'src/math.test.ts > math > adds', status: 'passed', durationMs: 1.5, file: 'src/math.test.ts' },
      {
        name: 'src/math.test.ts > math > fails',
        status: 'failed',
        durationMs: 4,
        message: 'AssertionError: expected 2 to be 3',
        file: 'src/math.test.ts',
      },
      { name: 'src/math.test.ts > later', status: 'skipped', file: 'src/math.test.ts' },
      { name: 'src/math.test.ts > off', status: 'skipped', file: 'src/math.test.ts' },
    ]);
  });

  it('reports a suite that failed to load as one failed test', () => {
    const report = {
      testResults: [
        {
          name: '/repo/a.test.ts',
          status: 'failed',
          message: 'SyntaxError: Unexpected token',
          assertionResults: [],
        },
        { name: '/repo/b.test.ts', status: 'passed', assertionResults: [{ title: 'ok', status: 'passed' }] },
      ],
    };
    const tests = parseJestJson(report, '/repo');
    expect(tests).toHaveLength(2);
    expect(tests[0]).toMatchObject({
      name: 'a.test.ts > (suite)',
      status: 'failed',
      message: expect.stringContaining('SyntaxError'),
    });
    expect(tests[1]).toMatchObject({ name: 'b.test.ts > ok', status: 'passed' });
  });

  it('survives malformed input', () => {
    expect(parseJestJson(null, '/repo')).toEqual([]);
    expect(parseJestJson({ testResults: 'x' }, '/repo')).toEqual([]);
  });
});

describe('parseJUnitXml', () => {
  const xml = `<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" tests="5">
<testcase classname="tests.test_m" name="test_ok" time="0.002" />
<testcase classname="tests.test_m" name="test_bad" time="0.010"><failure message="AssertionError: a &lt;b&gt; &amp; &quot;c&quot;&#10;assert 2 == 3">def test_bad():
&gt;       assert 1 + 1 == 3</failure></testcase>
<testcase classname="tests.test_m" name="test_skip" time="0.000"><skipped type="pytest.skip" message="nope">x</skipped></testcase>
<testcase classname='tests.test_m.TestK' name='test_err' time='0.1'><error message="fixture broke"><![CDATA[raw <text> &amp; kept]]></error></testcase>
<testcase name="bare"><system-out>noise</system-out></testcase>
</testsuite></testsuites>`;

  it('reads status, name, duration and decoded failure text', () => {
    const tests = parseJUnitXml(xml);
    expect(tests.map((t) => [t.name, t.status])).toEqual([
      ['tests.test_m::test_ok', 'passed'],
      ['tests.test_m::test_bad', 'failed'],
      ['tests.test_m::test_skip', 'skipped'],
      ['tests.test_m.TestK::test_err', 'failed'],
      ['bare', 'passed'],
    ]);
    expect(tests[0]?.durationMs).toBe(2);
    expect(tests[1]?.message).toBe(
      'AssertionError: a <b> & "c"\nassert 2 == 3\ndef test_bad():\n>       assert 1 + 1 == 3',
    );
    expect(tests[3]?.message).toBe('fixture broke\nraw <text> &amp; kept');
    expect(tests[4]?.durationMs).toBeUndefined();
  });

  it('returns nothing for a report without test cases', () => {
    expect(parseJUnitXml('<testsuites><testsuite tests="0"/></testsuites>')).toEqual([]);
  });
});

describe('parseGoTestJson', () => {
  const ev = (o: object) => JSON.stringify(o);
  it('reads test events, keeps failure output and flags packages that fail without a failing test', () => {
    const stdout = [
      ev({ Action: 'run', Package: 'ex/a', Test: 'TestOk' }),
      ev({ Action: 'pass', Package: 'ex/a', Test: 'TestOk', Elapsed: 0.01 }),
      ev({ Action: 'run', Package: 'ex/a', Test: 'TestBad' }),
      ev({ Action: 'output', Package: 'ex/a', Test: 'TestBad', Output: '    a_test.go:9: want 3, got 2\n' }),
      ev({ Action: 'fail', Package: 'ex/a', Test: 'TestBad', Elapsed: 0 }),
      ev({ Action: 'skip', Package: 'ex/a', Test: 'TestLater', Elapsed: 0 }),
      ev({ Action: 'fail', Package: 'ex/a', Elapsed: 0.2 }),
      'not json: go: downloading something',
      ev({ Action: 'output', Package: 'ex/b', Output: 'b.go:3:1: syntax error\n' }),
      ev({ Action: 'fail', Package: 'ex/b', Elapsed: 0 }),
      ev({ Action: 'skip', Package: 'ex/c', Elapsed: 0 }),
    ].join('\n');
    const tests = parseGoTestJson(stdout);
    expect(tests).toEqual([
      { name: 'ex/a::TestOk', status: 'passed', file: 'ex/a', durationMs: 10 },
      {
        name: 'ex/a::TestBad',
        status: 'failed',
        file: 'ex/a',
        durationMs: 0,
        message: 'a_test.go:9: want 3, got 2',
      },
      { name: 'ex/a::TestLater', status: 'skipped', file: 'ex/a', durationMs: 0 },
      { name: 'ex/b::(package)', status: 'failed', file: 'ex/b', message: 'b.go:3:1: syntax error' },
    ]);
  });
});

describe('parseRunnerOutput', () => {
  it('counts npm test from the exit code alone', async () => {
    const plan: RunnerPlan = { kind: 'npm', command: ['npm', 'test'] };
    const ok = await parseRunnerOutput(plan, root, 'all good', '', 0);
    expect(ok.counts).toEqual({ passed: 1, failed: 0, skipped: 0 });
    const bad = await parseRunnerOutput(plan, root, 'out', 'boom', 1);
    expect(bad.counts).toEqual({ passed: 0, failed: 1, skipped: 0 });
    expect(bad.tests[0]?.message).toContain('boom');
  });

  it('reports a missing report as an error, never as an empty success', async () => {
    const plan: RunnerPlan = { kind: 'vitest', command: ['vitest'], reportFile: `${REPORT_DIR}/none.json` };
    const parsed = await parseRunnerOutput(plan, root, '', 'Error: config broken', 1);
    expect(parsed.error).toMatch(/wrote no report/);
    expect(parsed.error).toContain('config broken');
  });

  it('prepareReport removes a stale report and git-ignores the report dir', async () => {
    const dir = await repo('stale', { [`${REPORT_DIR}/vitest.json`]: '{"testResults":[]}' });
    const plan: RunnerPlan = { kind: 'vitest', command: [], reportFile: `${REPORT_DIR}/vitest.json` };
    await prepareReport(plan, dir);
    expect(existsSync(join(dir, plan.reportFile!))).toBe(false);
    expect(await readFile(join(dir, REPORT_DIR, '.gitignore'), 'utf8')).toBe('*\n');
  });
});

describe('detectRunner', () => {
  it('picks vitest from devDependencies and prefers the local binary', async () => {
    const dir = await repo('vt', {
      'package.json': JSON.stringify({ devDependencies: { vitest: '4.1.12' } }),
      'node_modules/.bin/vitest': '',
    });
    const plan = await detectRunner(dir);
    expect(plan.kind).toBe('vitest');
    expect(plan.command[0]).toBe(join(dir, 'node_modules/.bin/vitest'));
    expect(plan.command).toContain(`--outputFile.json=${join(dir, REPORT_DIR, 'vitest.json')}`);
    expect(plan.reportFile).toBe(`${REPORT_DIR}/vitest.json`);
  });

  it('falls back to binDirs, then to PATH, for vitest named only in the test script', async () => {
    const dir = await repo('vt2', { 'package.json': JSON.stringify({ scripts: { test: 'vitest run' } }) });
    expect((await detectRunner(dir)).command[0]).toBe('vitest');
    const withBin = await detectRunner(dir, { binDirs: [join(MAIN_NODE_MODULES, '.bin')] });
    expect(withBin.command[0]).toBe(join(MAIN_NODE_MODULES, '.bin', 'vitest'));
  });

  it('picks jest, npm, pytest, go and none', async () => {
    const jest = await repo('jest', { 'package.json': JSON.stringify({ devDependencies: { jest: '29' } }) });
    expect(await detectRunner(jest)).toMatchObject({ kind: 'jest', reportFile: `${REPORT_DIR}/jest.json` });
    const npm = await repo('npm', { 'package.json': JSON.stringify({ scripts: { test: 'node test.js' } }) });
    expect(await detectRunner(npm)).toMatchObject({ kind: 'npm', command: ['npm', 'test'] });
    const py = await repo('py', { 'tests/test_x.py': 'def test_x(): pass\n' });
    const pyPlan = await detectRunner(py);
    expect(pyPlan).toMatchObject({ kind: 'pytest', env: { PYTHONDONTWRITEBYTECODE: '1' } });
    expect(pyPlan.command).toEqual(expect.arrayContaining(['-p', 'no:cacheprovider']));
    const go = await repo('go', { 'go.mod': 'module ex\n\ngo 1.22\n' });
    expect(await detectRunner(go)).toMatchObject({ kind: 'go', command: ['go', 'test', '-json', './...'] });
    const defaultScript = await repo('default', {
      'package.json': JSON.stringify({ scripts: { test: 'echo "Error: no test specified" && exit 1' } }),
      'pyproject.toml': '',
    });
    expect((await detectRunner(defaultScript)).kind).toBe('pytest');
    const none = await repo('none', { 'README.md': 'hi' });
    expect(await detectRunner(none)).toMatchObject({ kind: 'none', command: [] });
  });
});

describe('runners inside the sandbox', () => {
  const sandbox = createSandbox();

  async function runPlan(dir: string) {
    const plan = await detectRunner(dir);
    await prepareReport(plan, dir);
    // The linked node_modules may live under /tmp (a CI clone), which the sandbox's private /tmp hides.
    const res = await sandbox.run({
      command: plan.command,
      workDir: dir,
      env: plan.env,
      timeoutMs: 30_000,
      readOnlyPaths: [MAIN_NODE_MODULES],
    });
    return { plan, res, parsed: await parseRunnerOutput(plan, dir, res.stdout, res.stderr, res.exitCode) };
  }

  it('runs a vitest repo and reads per-test results', async () => {
    const dir = await repo('fixture-ts', {
      'package.json': JSON.stringify({
        name: 'fx',
        private: true,
        type: 'module',
        devDependencies: { vitest: '4.1.12' },
      }),
      'src/sum.ts': 'export const sum = (a: number, b: number) => a + b;\n',
      'src/sum.test.ts': [
        "import { expect, it } from 'vitest';",
        "import { sum } from './sum.ts';",
        "it('adds', () => { expect(sum(1, 2)).toBe(3); });",
        "it('is wrong on purpose', () => { expect(sum(1, 1)).toBe(3); });",
        '',
      ].join('\n'),
    });
    // Stands in for an installed repo: its node_modules is codemesh's own (read-only in the sandbox).
    await symlink(MAIN_NODE_MODULES, join(dir, 'node_modules'));
    const { plan, res, parsed } = await runPlan(dir);
    expect(plan.kind).toBe('vitest');
    expect(res.exitCode, res.stderr).toBe(1);
    expect(parsed.error).toBeUndefined();
    expect(parsed.counts).toEqual({ passed: 1, failed: 1, skipped: 0 });
    expect(parsed.tests.find((t) => t.name === 'src/sum.test.ts > adds')?.status).toBe('passed');
    const failed = parsed.tests.find((t) => t.name === 'src/sum.test.ts > is wrong on purpose');
    expect(failed?.status).toBe('failed');
    expect(failed?.message).toContain('expected 2 to be 3');
  });

  it('runs a pytest repo and reads per-test results without writing caches', async () => {
    const dir = await repo('fixture-py', {
      'pyproject.toml': '[project]\nname = "fx"\nversion = "0"\n',
      'calc.py': 'def sum(a, b):\n    return a + b\n',
      'tests/test_calc.py': [
        'from calc import sum',
        'def test_adds():',
        '    assert sum(1, 2) == 3',
        'def test_wrong_on_purpose():',
        '    assert sum(1, 1) == 3',
        '',
      ].join('\n'),
    });
    const { plan, res, parsed } = await runPlan(dir);
    expect(plan.kind).toBe('pytest');
    expect(res.exitCode, res.stdout + res.stderr).toBe(1);
    expect(parsed.error).toBeUndefined();
    expect(parsed.counts).toEqual({ passed: 1, failed: 1, skipped: 0 });
    expect(parsed.tests.find((t) => t.name === 'tests.test_calc::test_adds')?.status).toBe('passed');
    const failed = parsed.tests.find((t) => t.name === 'tests.test_calc::test_wrong_on_purpose');
    expect(failed?.status).toBe('failed');
    expect(failed?.message).toContain('assert 2 == 3');
    expect(existsSync(join(dir, '.pytest_cache'))).toBe(false);
    expect(existsSync(join(dir, 'tests', '__pycache__'))).toBe(false);
  });
});

describe('prepareReport on a hostile tree', () => {
  it('a committed report-dir symlink makes the host neither write nor delete outside the tree', async () => {
    const wt = await mkdtemp(join(root, 'wt-'));
    const outside = await mkdtemp(join(root, 'outside-'));
    await writeFile(join(outside, 'junit.xml'), 'host file');
    await symlink(outside, join(wt, REPORT_DIR));
    const plan: RunnerPlan = { kind: 'pytest', command: ['true'], reportFile: `${REPORT_DIR}/junit.xml` };
    await prepareReport(plan, wt);
    expect(await readFile(join(outside, 'junit.xml'), 'utf8')).toBe('host file');
    expect(existsSync(join(outside, '.gitignore'))).toBe(false);
    expect(await readFile(join(wt, REPORT_DIR, '.gitignore'), 'utf8')).toBe('*\n');
  });
});
