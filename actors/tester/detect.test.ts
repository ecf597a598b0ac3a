// Runner detection on small repositories shaped like the real ones: a src layout beside an installed copy of
// the same package (run for real), Django's tests/runtests.py, SymPy's bin/test, a package.json that only
// lints, npm workspaces, generated version files and the config overrides.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSandbox } from '../../sandbox-agent/index.ts';
import { makeRepo } from '../../test/temp-repo.ts';
import { detectRunner } from './detect.ts';
import { planTests } from './plan.ts';
import { parseRunnerOutput, prepareReport } from './runners.ts';

const roots: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'codemesh-detect-'));
  roots.push(d);
  return d;
};
afterAll(() => {
  for (const d of roots) rmSync(d, { recursive: true, force: true });
});
const PY = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

describe('Python src layout against an installed copy of the same package', () => {
  // `mypkg` is "installed" in a user site-packages dir (on sys.path like a pip or Debian install), and the
  // checkout has its own, different `src/mypkg`.
  function setup() {
    const root = tmp();
    const { dir, commit } = makeRepo(
      {
        'pyproject.toml': '[project]\nname = "mypkg"\nversion = "0"\n',
        'src/mypkg/__init__.py': 'WHERE = "checkout"\n',
        'tests/test_where.py':
          'import mypkg\n\ndef test_checkout_wins():\n    assert mypkg.WHERE == "checkout"\n',
      },
      root,
    );
    const userBase = join(root, 'userbase');
    const site = execFileSync(PY, ['-c', 'import site; print(site.getusersitepackages())'], {
      env: { ...process.env, PYTHONUSERBASE: userBase },
      encoding: 'utf8',
    }).trim();
    mkdirSync(join(site, 'mypkg'), { recursive: true });
    writeFileSync(join(site, 'mypkg', '__init__.py'), 'WHERE = "installed"\n');
    return { dir, commit, userBase };
  }

  it("the plan's env makes python import the checkout, where a bare interpreter imports the installed copy", async () => {
    const { dir, commit, userBase } = setup();
    const plan = await planTests({
      workDir: dir,
      repoPath: dir,
      baseCommit: commit,
      changedFiles: ['src/mypkg/__init__.py'],
    });
    expect(plan.kind).toBe('pytest');
    expect(plan.env.PYTHONPATH?.split(':')[0]).toBe('src');
    expect(plan.why.join('\n')).toMatch(/src layout \(mypkg\)/);
    const where = (env: Record<string, string>) =>
      execFileSync(plan.command[0]!, ['-c', 'import mypkg; print(mypkg.WHERE)'], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', PYTHONUSERBASE: userBase, ...env },
        encoding: 'utf8',
      }).trim();
    expect(where({})).toBe('installed');
    expect(where(plan.env)).toBe('checkout');
  });

  it('runs the selected test in the sandbox against the checkout', async () => {
    const { dir, commit, userBase } = setup();
    const plan = await planTests({
      workDir: dir,
      repoPath: dir,
      baseCommit: commit,
      changedFiles: ['src/mypkg/__init__.py'],
    });
    expect(plan.selected).toEqual(['tests/test_where.py']);
    await prepareReport(plan, dir);
    const res = await createSandbox().run({
      command: plan.command,
      workDir: dir,
      env: { ...plan.env, PYTHONUSERBASE: userBase },
      readOnlyPaths: [userBase],
      timeoutMs: 60_000,
    });
    const parsed = await parseRunnerOutput(plan, dir, res.stdout, res.stderr, res.exitCode);
    expect(parsed.error, res.stdout + res.stderr).toBeUndefined();
    expect(parsed.tests.map((t) => [t.name, t.status])).toEqual([
      ['tests.test_where::test_checkout_wins', 'passed'],
    ]);
  });

  it('honours pytest pythonpath from pyproject.toml and prefers a .venv interpreter', async () => {
    const { dir } = makeRepo(
      {
        'pyproject.toml': '[tool.pytest.ini_options]\npythonpath = ["lib", "tools"]\ntestpaths = ["t"]\n',
        'lib/m.py': '',
        't/test_m.py': '',
        '.venv/bin/python': '',
      },
      tmp(),
    );
    const r = await detectRunner(dir);
    expect(r.env.PYTHONPATH).toBe('lib:tools:.');
    expect(r.command[0]).toBe(join(dir, '.venv', 'bin', 'python'));
    expect(r.why.join('\n')).toMatch(/pytest pythonpath \(pyproject.toml\): lib tools/);
  });
});

describe('Django-like project (tests/runtests.py) with a package.json for its JS lint and QUnit tests', () => {
  const files = {
    'package.json': JSON.stringify({ scripts: { pretest: 'eslint .', test: 'grunt test --verbose' } }),
    'js_tests/tests.js': '',
    'js_tests/admin/core.test.js': '',
    'django/__init__.py': '',
    'django/core/__init__.py': '',
    'django/core/validators.py': 'def validate(x):\n    return x\n',
    'tests/test_sqlite.py': '',
    // A stand-in runtests.py that runs unittest labels the way Django's does (verbosity 2, from tests/).
    'tests/runtests.py': [
      'import os, sys, unittest',
      'here = os.path.dirname(os.path.abspath(__file__))',
      'sys.path.insert(0, here)',
      'args = [a for i, a in enumerate(sys.argv[1:]) if not a.startswith("-") and sys.argv[i] not in ("--verbosity", "--parallel")]',
      'suite = unittest.defaultTestLoader.loadTestsFromNames(args)',
      'ok = unittest.TextTestRunner(verbosity=2).run(suite).wasSuccessful()',
      'sys.exit(0 if ok else 1)',
      '# --parallel',
      '',
    ].join('\n'),
    'tests/validators/__init__.py': '',
    'tests/validators/tests.py': [
      'import unittest',
      'from django.core.validators import validate',
      'class TestValidators(unittest.TestCase):',
      '    def test_ok(self):',
      '        self.assertEqual(validate(1), 1)',
      '    def test_bad(self):',
      '        """Checks a wrong value."""',
      '        self.assertEqual(validate(1), 2)',
      '',
    ].join('\n'),
    'tests/other/__init__.py': '',
    'tests/other/tests.py': 'import unittest\n',
  };

  it('runs tests/runtests.py with dotted labels, not npm test, and reads unittest results in the sandbox', async () => {
    const { dir, commit } = makeRepo(files, tmp());
    const plan = await planTests({
      workDir: dir,
      repoPath: dir,
      baseCommit: commit,
      changedFiles: ['django/core/validators.py'],
    });
    expect(plan.kind).toBe('django');
    expect(plan.command).toEqual(
      expect.arrayContaining([
        PY,
        'tests/runtests.py',
        '--verbosity',
        '2',
        '--settings=test_sqlite',
        '--parallel',
        '1',
      ]),
    );
    expect(plan.labels).toEqual(['validators.tests']);
    expect(plan.command.at(-1)).toBe('validators.tests');
    expect(plan.env.PYTHONPATH).toBe('.');
    await prepareReport(plan, dir);
    const res = await createSandbox().run({
      command: plan.command,
      workDir: dir,
      env: plan.env,
      timeoutMs: 60_000,
    });
    const parsed = await parseRunnerOutput(plan, dir, res.stdout, res.stderr, res.exitCode);
    expect(res.exitCode).toBe(1);
    expect(parsed.tests.map((t) => [t.name, t.status]).sort()).toEqual([
      ['validators.tests.TestValidators::test_bad', 'failed'],
      ['validators.tests.TestValidators::test_ok', 'passed'],
    ]);
    expect(parsed.tests.find((t) => t.status === 'failed')?.message).toContain('AssertionError: 1 != 2');
  });

  it('picks the JS runner when the change touches only JS', async () => {
    const { dir } = makeRepo(files, tmp());
    const r = await detectRunner(dir, { changedFiles: ['js_tests/admin/core.test.js'] });
    expect(r.kind).toBe('npm');
  });
});

describe('a package.json that only lints', () => {
  it('does not turn a Python project into an npm one, even when the change touches only JS', async () => {
    const { dir } = makeRepo(
      {
        'package.json': JSON.stringify({
          scripts: { test: 'eslint . && prettier --check .' },
          devDependencies: { eslint: '8' },
        }),
        'static/app.js': '',
        'setup.py': '',
        'pkg/__init__.py': '',
        'tests/test_pkg.py': '',
      },
      tmp(),
    );
    for (const changedFiles of [[], ['pkg/__init__.py'], ['static/app.js']]) {
      const r = await detectRunner(dir, { changedFiles });
      expect(r.kind).toBe('pytest');
      expect(r.why.join('\n')).toMatch(/only lints|python first/);
    }
    const js = await detectRunner(dir, { changedFiles: ['static/app.js'] });
    expect(js.why.join('\n')).toMatch(/the test script only lints \(eslint \. && prettier --check \.\)/);
  });
});

describe('SymPy-like project (bin/test)', () => {
  it('runs bin/test with the selected files, a fixed hash seed and its output captured whole', async () => {
    const { dir, commit } = makeRepo(
      {
        'bin/test*': '#!/usr/bin/env python\n# -C, --no-cache\n',
        'setup.py': '',
        'sympy/__init__.py': '',
        'sympy/geometry/__init__.py': '',
        'sympy/geometry/point.py': '',
        'sympy/geometry/tests/__init__.py': '',
        'sympy/geometry/tests/test_point.py': 'from sympy.geometry.point import Point\n',
        'sympy/geometry/tests/test_line.py': '',
      },
      tmp(),
    );
    const plan = await planTests({
      workDir: dir,
      repoPath: dir,
      baseCommit: commit,
      changedFiles: ['sympy/geometry/point.py'],
    });
    expect(plan.kind).toBe('sympy');
    const bin = plan.command.indexOf('bin/test');
    expect(plan.command.slice(bin)).toEqual([
      'bin/test',
      '-C',
      '--verbose',
      'sympy/geometry/tests/test_point.py',
    ]);
    expect(plan.command.slice(0, 2)).toEqual(['sh', '-c']);
    expect(plan.reportFile).toBe('.codemesh-report/sympy.log');
    expect(plan.env.PYTHONHASHSEED).toBe('0');
  });
});

describe('JS and Go', () => {
  it('finds the runner of the npm workspace the change touches', async () => {
    const { dir } = makeRepo(
      {
        'package.json': JSON.stringify({ private: true, workspaces: ['packages/*'] }),
        'packages/a/package.json': JSON.stringify({ devDependencies: { vitest: '4' } }),
        'packages/a/src/x.ts': '',
        'packages/a/src/x.test.ts': "import { x } from './x';\n",
        'packages/b/package.json': JSON.stringify({ scripts: { test: 'node test.js' } }),
        'packages/b/index.js': '',
      },
      tmp(),
    );
    const a = await detectRunner(dir, { changedFiles: ['packages/a/src/x.ts'] });
    expect(a).toMatchObject({ kind: 'vitest', packageDir: 'packages/a' });
    expect(a.command).toContain('--root=packages/a');
    const b = await detectRunner(dir, { changedFiles: ['packages/b/index.js'] });
    expect(b).toMatchObject({ kind: 'npm', command: ['npm', 'test', '--workspace', 'packages/b'] });
  });

  it('selects the go packages the change touches', async () => {
    const { dir, commit } = makeRepo(
      { 'go.mod': 'module ex\n\ngo 1.22\n', 'pkg/a/a.go': '', 'pkg/a/a_test.go': '', 'pkg/b/b_test.go': '' },
      tmp(),
    );
    const plan = await planTests({
      workDir: dir,
      repoPath: dir,
      baseCommit: commit,
      changedFiles: ['pkg/a/a.go'],
    });
    expect(plan.kind).toBe('go');
    expect(plan.command).toEqual(['go', 'test', '-json', './pkg/a']);
  });
});

describe('setup and config', () => {
  it('writes a setuptools_scm version file in setup when the checkout lacks it', async () => {
    const { dir, commit } = makeRepo(
      {
        'pyproject.toml': '[tool.setuptools_scm]\nwrite_to = "src/tool/_version.py"\n',
        'src/tool/__init__.py': 'from ._version import version\n',
        'tests/test_v.py': 'import tool\n\ndef test_v():\n    assert tool.version == "1.2.3"\n',
      },
      tmp(),
    );
    execFileSync('git', ['tag', '1.2.3'], { cwd: dir });
    const plan = await planTests({ workDir: dir, repoPath: dir, baseCommit: commit });
    expect(plan.setup).toHaveLength(1);
    execFileSync(plan.setup[0]![0]!, plan.setup[0]!.slice(1), { cwd: dir });
    expect(readFileSync(join(dir, 'src/tool/_version.py'), 'utf8')).toContain('version = "1.2.3"');
    const out = execFileSync(PY, ['-c', 'import tool; print(tool.version)'], {
      cwd: dir,
      env: { ...process.env, ...plan.env },
    });
    expect(String(out).trim()).toBe('1.2.3');
  });

  it("reads the version file from setup.py's use_scm_version dict too (old pytest)", async () => {
    const { dir, commit } = makeRepo(
      {
        'setup.py':
          'from setuptools import setup\nsetup(use_scm_version={"write_to": "src/tool/_version.py"})\n',
        'src/tool/__init__.py': 'from ._version import version\n',
        'tests/test_v.py': 'import tool\n',
      },
      tmp(),
    );
    const plan = await planTests({ workDir: dir, repoPath: dir, baseCommit: commit });
    expect(plan.setup).toHaveLength(1);
    expect(plan.setup[0]!.join(' ')).toContain('src/tool/_version.py');
  });

  it('applies test.command, test.env, test.setup, test.timeout, test.scope and push from the settings', async () => {
    const { dir, commit } = makeRepo(
      {
        '.codemesh.yml':
          'push: true\ntest:\n  command: python3 -m pytest -x\n  runner: pytest\n  env:\n    FOO: 1\n  setup:\n    - echo hi > gen.txt\n  timeout: 42\n  scope: all\n',
        'pyproject.toml': '',
        'tests/test_a.py': '',
      },
      tmp(),
    );
    const plan = await planTests({
      workDir: dir,
      repoPath: dir,
      baseCommit: commit,
      config: { test: { env: { BAR: 'x' } } },
    });
    expect(plan).toMatchObject({ kind: 'pytest', timeoutMs: 42_000, scope: 'all', push: true, selected: [] });
    expect(plan.command.slice(0, 4)).toEqual(['sh', '-c', 'python3 -m pytest -x "$@"', 'sh']);
    expect(plan.command.at(-1)).toMatch(/^--junitxml=/);
    expect(plan.env).toMatchObject({ FOO: '1', BAR: 'x' });
    expect(plan.setup).toEqual([['sh', '-c', 'echo hi > gen.txt']]);
    expect(plan.configSources).toEqual(['.codemesh.yml', 'task config']);
  });

  it('a test.command without a runner is one pass/fail result', async () => {
    const { dir, commit } = makeRepo(
      { '.codemesh.yml': 'test:\n  command: [make, check]\n', Makefile: '' },
      tmp(),
    );
    const plan = await planTests({ workDir: dir, repoPath: dir, baseCommit: commit });
    expect(plan).toMatchObject({ kind: 'custom', command: ['make', 'check'] });
    const parsed = await parseRunnerOutput(plan, dir, '', 'boom', 2);
    expect(parsed.tests).toEqual([{ name: 'test.command', status: 'failed', message: 'boom' }]);
  });
});

describe('the compatibility shim for code older than Python 3.10', () => {
  it('an assertion rewriter building ast.alias without positions compiles under the plan, not without it', async () => {
    const { dir, commit } = makeRepo(
      {
        'pyproject.toml': '[project]\nname = "rw"\nversion = "0"\n',
        // What old pytest's assertion rewriter does: import nodes without line numbers, then compile.
        'rw.py': [
          'import ast',
          'def build():',
          '    imp = ast.Import([ast.alias("os", None)])',
          '    return compile(ast.Module([imp], []), "<rw>", "exec")',
          '',
        ].join('\n'),
        'tests/test_rw.py': 'import rw\n\ndef test_build():\n    rw.build()\n',
      },
      tmp(),
    );
    const plan = await planTests({
      workDir: dir,
      repoPath: dir,
      baseCommit: commit,
      changedFiles: ['rw.py'],
    });
    expect(plan.why.join('\n')).toMatch(/sitecustomize shim/);
    const run = (env: Record<string, string>) =>
      execFileSync(PY, ['-c', 'import rw, atomicwrites; rw.build(); print("ok")'], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }).trim();
    expect(run(plan.env)).toBe('ok');
    expect(() => run({ PYTHONPATH: '.' })).toThrow(/lineno|atomicwrites/);
  });
});
