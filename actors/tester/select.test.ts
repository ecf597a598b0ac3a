// Test selection: what the issue names, what the patch adds, what imports the changed module, the cap, and
// each runner's label format.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeRepo } from '../../test/temp-repo.ts';
import { listFiles } from './detect.ts';
import { planTests } from './plan.ts';
import { relocatePlan } from './rerun.ts';
import { djangoLabel, labelsFor, pythonModule, selectTests } from './select.ts';

const roots: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'codemesh-select-'));
  roots.push(d);
  return d;
};
afterAll(() => {
  for (const d of roots) rmSync(d, { recursive: true, force: true });
});

// A project with more test files than the cap, so nothing runs "because the suite is small".
function project() {
  const files: Record<string, string> = {
    'pyproject.toml': '',
    'shop/__init__.py': '',
    'shop/cart.py': 'def total(items):\n    return sum(items)\n',
    'shop/tax.py': '',
    'tests/test_cart.py': 'from shop.cart import total\n',
    'tests/test_checkout.py': 'from shop import cart\n\ndef test_pay():\n    pass\n',
    'tests/test_tax.py': 'import shop.tax\n\ndef test_vat_rounding():\n    pass\n',
  };
  for (let i = 0; i < 30; i++) files[`tests/test_misc_${i}.py`] = `def test_m${i}():\n    pass\n`;
  return makeRepo(files, tmp());
}

async function select(dir: string, extra: Partial<Parameters<typeof selectTests>[0]>) {
  return selectTests({
    workDir: dir,
    kind: 'pytest',
    files: await listFiles(dir),
    changedFiles: [],
    ...extra,
  });
}

describe('selectTests', () => {
  it('puts the tests the issue names first: a test name, a path', async () => {
    const { dir } = project();
    const byName = await select(dir, { issueText: 'test_vat_rounding fails since 2.0' });
    expect(byName.files).toEqual(['tests/test_tax.py']);
    expect(byName.why).toEqual(['tests/test_tax.py: the issue names test_vat_rounding']);
    const byPath = await select(dir, { issueText: 'see tests/test_misc_7.py, line 3' });
    expect(byPath.files).toEqual(['tests/test_misc_7.py']);
  });

  it('selects the test files the patch changes and the tests it adds', async () => {
    const { dir } = project();
    const diff = [
      'diff --git a/tests/test_misc_3.py b/tests/test_misc_3.py',
      '--- a/tests/test_misc_3.py',
      '+++ b/tests/test_misc_3.py',
      '@@ -1,2 +1,4 @@',
      '+def test_new_case():',
      '+    assert True',
    ].join('\n');
    const s = await select(dir, { patchDiff: diff, changedFiles: ['tests/test_misc_3.py'] });
    expect(s.files).toEqual(['tests/test_misc_3.py']);
    const added = await select(dir, { patchDiff: diff });
    expect(added.why).toEqual(['tests/test_misc_3.py: the patch adds test_new_case']);
  });

  it('selects the tests named after the changed module, then those that import it', async () => {
    const { dir } = project();
    const s = await select(dir, { changedFiles: ['shop/cart.py'] });
    expect(s.files).toEqual(['tests/test_cart.py', 'tests/test_checkout.py']);
    expect(s.why).toEqual([
      'tests/test_cart.py: named after shop/cart.py',
      'tests/test_checkout.py: imports shop/cart.py',
    ]);
  });

  it('caps the related tests and says how many were left out', async () => {
    const { dir } = project();
    const s = await select(dir, { changedFiles: ['shop/cart.py', 'shop/tax.py'], maxFiles: 2 });
    expect(s.files).toHaveLength(2);
    expect(s.why.at(-1)).toBe('1 more related test files left out (cap 2, test.max_files)');
  });

  it('prefers tests near the changed module to same-named tests of unrelated packages (test_utils.py)', async () => {
    const { dir } = makeRepo(
      {
        'tests/runtests.py': '',
        'django/__init__.py': '',
        'django/contrib/__init__.py': '',
        'django/contrib/admindocs/__init__.py': '',
        'django/contrib/admindocs/utils.py': 'def parse_rst(text):\n    return text\n',
        'tests/admin_docs/test_utils.py': 'def test_parse():\n    pass\n',
        'tests/admin_docs/test_views.py': 'from django.contrib.admindocs.utils import parse_rst\n',
        'tests/backends/test_utils.py': 'def test_truncate():\n    pass\n',
        'tests/forms_tests/tests/test_utils.py': 'def test_flatatt():\n    pass\n',
        'tests/utils_tests/test_text.py': 'def test_wrap():\n    pass\n',
        'django/utils/__init__.py': '',
        'django/utils/text.py': 'def wrap(t):\n    return t\n',
      },
      tmp(),
    );
    const files = await listFiles(dir);
    const admindocs = await selectTests({
      workDir: dir,
      kind: 'django',
      files,
      changedFiles: ['django/contrib/admindocs/utils.py'],
    });
    expect(admindocs.labels).toEqual(['admin_docs.test_utils', 'admin_docs.test_views']);
    expect(admindocs.why).toEqual([
      'tests/admin_docs/test_utils.py: named after django/contrib/admindocs/utils.py',
      'tests/admin_docs/test_views.py: imports django/contrib/admindocs/utils.py',
    ]);
    // `utils_tests/` is near `django/utils/`.
    const text = await selectTests({
      workDir: dir,
      kind: 'django',
      files,
      changedFiles: ['django/utils/text.py'],
    });
    expect(text.labels).toEqual(['utils_tests.test_text']);
    // Nothing near: a few same-named files elsewhere, and said so.
    const { dir: lone } = makeRepo(
      {
        'tests/runtests.py': '',
        'django/__init__.py': '',
        'django/core/__init__.py': '',
        'django/core/utils.py': '',
        'tests/backends/test_utils.py': '',
        'tests/forms_tests/tests/test_utils.py': '',
        'tests/sitemaps_tests/test_utils.py': '',
      },
      tmp(),
    );
    const far = await selectTests({
      workDir: lone,
      kind: 'django',
      files: await listFiles(lone),
      changedFiles: ['django/core/utils.py'],
    });
    expect(far.files).toHaveLength(2);
    expect(far.why[0]).toMatch(/named after django\/core\/utils\.py \(in another package\)$/);
  });

  it("leaves django's gis_tests out (they abort a run without a GIS backend), and says so", async () => {
    const { dir } = makeRepo(
      {
        'tests/runtests.py': '',
        'django/__init__.py': '',
        'django/db/__init__.py': '',
        'django/db/models/__init__.py': '',
        'django/db/models/lookups.py': 'class Lookup:\n    pass\n',
        'tests/lookup/tests.py': 'from django.db.models.lookups import Lookup\n',
        'tests/gis_tests/geoapp/tests.py': 'from django.db.models.lookups import Lookup\n',
      },
      tmp(),
    );
    const s = await selectTests({
      workDir: dir,
      kind: 'django',
      files: await listFiles(dir),
      changedFiles: ['django/db/models/lookups.py'],
    });
    expect(s.labels).toEqual(['lookup.tests']);
    expect(s.why).toContain(
      '1 gis_tests file(s) left out: they need a GIS database backend (test.command to run them)',
    );
  });
});

describe('planTests scope', () => {
  it('runs nothing for an unrelated change in a large suite, and everything with scope all', async () => {
    const { dir, commit } = project();
    const none = await planTests({
      workDir: dir,
      repoPath: dir,
      baseCommit: commit,
      changedFiles: ['README.md'],
    });
    expect(none.command).toEqual([]);
    expect(none.why.at(-1)).toMatch(/nothing runs \(set test.scope: all/);
    const all = await planTests({
      workDir: dir,
      repoPath: dir,
      baseCommit: commit,
      changedFiles: ['README.md'],
      config: { test: { scope: 'all' } },
    });
    expect(all.command.some((a) => a.startsWith('tests/'))).toBe(false);
    expect(all.command).toContain('pytest');
  });

  it("never selects a test file under pytest's norecursedirs (old pytest's example_scripts)", async () => {
    const { dir, commit } = makeRepo(
      {
        'tox.ini': '[pytest]\naddopts = -rfEX\nnorecursedirs =\n    testing/example_scripts\n    .tox\n',
        'src/_pytest/__init__.py': '',
        'src/_pytest/setuponly.py': 'def show():\n    pass\n',
        'testing/test_setuponly.py': 'from _pytest.setuponly import show\n',
        'testing/example_scripts/fixtures/test_setuponly_item.py': 'from _pytest.setuponly import show\n',
        'testing/example_scripts/conftest.py': '',
      },
      tmp(),
    );
    const plan = await planTests({
      workDir: dir,
      repoPath: dir,
      baseCommit: commit,
      changedFiles: ['src/_pytest/setuponly.py'],
    });
    expect(plan.selected).toEqual(['testing/test_setuponly.py']);
    // A pattern without a slash matches a directory's name, anywhere.
    const sel = await selectTests({
      workDir: dir,
      kind: 'pytest',
      files: await listFiles(dir),
      changedFiles: ['src/_pytest/setuponly.py'],
      norecursedirs: ['build'],
    });
    expect(sel.files).toEqual([
      'testing/test_setuponly.py',
      'testing/example_scripts/fixtures/test_setuponly_item.py',
    ]);
  });

  it("selects only under pytest's testpaths: pytest's bench/unit_test.py, named by the issue's test_1, is a benchmark", async () => {
    const { dir, commit } = makeRepo(
      {
        'pyproject.toml':
          '[tool.pytest.ini_options]\npython_files = ["test_*.py", "*_test.py"]\ntestpaths = ["testing"]\n',
        'src/_pytest/__init__.py': '',
        'src/_pytest/unittest.py': 'def fixture():\n    pass\n',
        'testing/test_unittest.py': 'from _pytest.unittest import fixture\n',
        'bench/unit_test.py': 'class Test0:\n    def test_1(self): pass\n',
      },
      tmp(),
    );
    const issueText = 'class Tests(unittest.TestCase):\n    def test_1(self):\n        pass\n';
    const plan = await planTests({
      workDir: dir,
      repoPath: dir,
      baseCommit: commit,
      changedFiles: ['src/_pytest/unittest.py'],
      issueText,
    });
    expect(plan.selected).toEqual(['testing/test_unittest.py']);
    // Without testpaths the benchmark is taken for a test the issue names (what timed out pytest-8399).
    const files = await listFiles(dir);
    const input = {
      workDir: dir,
      kind: 'pytest' as const,
      files,
      changedFiles: ['src/_pytest/unittest.py'],
      issueText,
    };
    expect((await selectTests(input)).files[0]).toBe('bench/unit_test.py');
    // testpaths that name nothing there: the whole tree, as pytest falls back to it.
    expect((await selectTests({ ...input, testpaths: ['tests'] })).files).toContain('bench/unit_test.py');
    expect((await selectTests({ ...input, testpaths: ['testing'] })).files).toEqual([
      'testing/test_unittest.py',
    ]);
  });

  it('caps related SymPy test files at 4 by default (each runs for a minute), test.max_files still rules', async () => {
    const files: Record<string, string> = {
      'bin/test': '#!/usr/bin/env python\n',
      'sympy/__init__.py': '',
      'sympy/core/__init__.py': '',
      'sympy/core/basic.py': 'class Basic:\n    pass\n',
    };
    for (let i = 0; i < 7; i++)
      files[`sympy/mod${i}/tests/test_m${i}.py`] = 'from sympy.core.basic import Basic\n';
    const { dir, commit } = makeRepo(files, tmp());
    const input = { workDir: dir, repoPath: dir, baseCommit: commit, changedFiles: ['sympy/core/basic.py'] };
    const plan = await planTests(input);
    expect(plan.kind).toBe('sympy');
    expect(plan.selected).toHaveLength(4);
    expect(plan.why).toContain('3 more related test files left out (cap 4, test.max_files)');
    const wide = await planTests({ ...input, config: { test: { max_files: 10 } } });
    expect(wide.selected).toHaveLength(7);
  });

  it('appends the selected files to the pytest command', async () => {
    const { dir, commit } = project();
    const plan = await planTests({
      workDir: dir,
      repoPath: dir,
      baseCommit: commit,
      changedFiles: ['shop/cart.py'],
      issueText: 'total() is wrong',
    });
    expect(plan.selected).toEqual(['tests/test_cart.py', 'tests/test_checkout.py']);
    expect(plan.command.slice(-2)).toEqual(['tests/test_cart.py', 'tests/test_checkout.py']);
  });
});

describe('labels', () => {
  it("uses each runner's format", () => {
    expect(djangoLabel('tests/forms_tests/tests/test_forms.py')).toBe('forms_tests.tests.test_forms');
    expect(djangoLabel('django/contrib/admin/tests.py')).toBeUndefined();
    expect(labelsFor('django', ['tests/validators/tests.py'])).toEqual(['validators.tests']);
    expect(labelsFor('sympy', ['sympy/core/tests/test_basic.py'])).toEqual([
      'sympy/core/tests/test_basic.py',
    ]);
    expect(labelsFor('go', ['pkg/a/a_test.go'], ['main.go', 'pkg/b/b.go'])).toEqual([
      './pkg/a',
      '.',
      './pkg/b',
    ]);
    expect(labelsFor('vitest', ['packages/a/src/x.test.ts'], [], 'packages/a')).toEqual(['src/x.test.ts']);
    expect(labelsFor('npm', ['a.test.js'])).toEqual([]);
  });

  it('names Python modules with their source root stripped', () => {
    const files = [
      'src/flask/__init__.py',
      'src/flask/app.py',
      'django/__init__.py',
      'django/core/__init__.py',
    ];
    expect(pythonModule('src/flask/app.py', files)).toBe('flask.app');
    expect(pythonModule('src/flask/__init__.py', files)).toBe('flask');
    expect(pythonModule('django/core/validators.py', files)).toBe('django.core.validators');
  });
});

describe('relocatePlan on a planned run', () => {
  it('moves the work-tree paths of a plan to another checkout, keeping the selected tests', async () => {
    const { dir, commit } = project();
    const plan = await planTests({
      workDir: dir,
      repoPath: dir,
      baseCommit: commit,
      changedFiles: ['shop/cart.py'],
    });
    const other = relocatePlan(plan, dir, '/elsewhere/wt');
    expect(other.command).toContain('--junitxml=/elsewhere/wt/.codemesh-report/junit.xml');
    expect(other.command.join(' ')).not.toContain(dir);
    expect(other.labels).toEqual(plan.labels);
    expect(other.command.slice(-2)).toEqual(plan.command.slice(-2));
  });
});

describe('the package test module', () => {
  it("selects test_<package>.py for a change in the package, and not every test under the package's folder", async () => {
    const { dir } = makeRepo(
      {
        'setup.py': '',
        'requests/__init__.py': '',
        'requests/models.py': '',
        'test_requests.py': 'import requests\n',
        'requests/sub/__init__.py': '',
        'requests/sub/tests/test_unrelated.py': '',
        'examples/deep/test_requests.py': '',
      },
      tmp(),
    );
    const s = await select(dir, { changedFiles: ['requests/models.py'] });
    expect(s.files).toEqual(['test_requests.py']);
    expect(s.why).toEqual(['test_requests.py: named after the package requests']);
  });
});
