// The text parsers on output in the shapes Django's runtests.py (Python 3.11 and older) and SymPy's bin/test
// print (excerpts of real runs, paths shortened).
import { describe, expect, it } from 'vitest';
import { parseSympyText, parseUnittestText } from './parse-text.ts';
import { parseRunnerOutput } from './runners.ts';

const DJANGO = `Testing against Django installed in '/w/django' with up to 1 processes
Importing application basic
System check identified no issues (0 silenced).
test_emptyqs_distinct (basic.tests.ModelTest.test_emptyqs_distinct) ... skipped "Database doesn't support feature(s): can_distinct_on_fields"
test_save_clears_annotations_from_base_manager (custom_managers.tests.CustomManagersRegressTestCase.test_save_clears_annotations_from_base_manager)
Model.save() clears annotations from the base manager. ... ok
test_manager_method_signature (basic.tests.ManagerTest.test_manager_method_signature) ... FAIL
test_old_style (basic.tests.LegacyTest) ... ok
test_broken (basic.tests.LegacyTest) ... ERROR
test_expected (basic.tests.LegacyTest) ... expected failure

======================================================================
FAIL: test_manager_method_signature (basic.tests.ManagerTest.test_manager_method_signature)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/w/tests/basic/tests.py", line 750, in test_manager_method_signature
    self.assertEqual(str(inspect.signature(Article.objects.bulk_create)), "(objs)")
AssertionError: '(*args, **kwargs)' != '(objs)'

======================================================================
ERROR: test_broken (basic.tests.LegacyTest)
----------------------------------------------------------------------
Traceback (most recent call last):
ZeroDivisionError: division by zero

----------------------------------------------------------------------
Ran 6 tests in 0.120s

FAILED (failures=1, errors=1, skipped=1, expected failures=1)
`;

const SYMPY = `============================= test process starts ==============================
executable:         /usr/bin/python3  (3.11.2-final-0) [CPython]
hash randomization: off

sympy/geometry/tests/test_point.py[4] 
test_point E
test_point3D ok
test_issue_9214 ok
test_concyclic_doctest_bug ok                                             [FAIL]

sympy/core/tests/test_args.py[3] 
test_all_classes_are_tested f
test_sympy__core__add__Add ok
test_slow_thing w                                                             [OK]


________________________________________________________________________________
________________ sympy/geometry/tests/test_point.py:test_point _________________
  File "/w/sympy/geometry/tests/test_point.py", line 33, in test_point
    raises(ValueError, lambda: Point(3 + I, I))
RecursionError: maximum recursion depth exceeded

=========== tests finished: 4 passed, 1 expected to fail, 1 exceptions, in 1.2 seconds ===========
DO *NOT* COMMIT!
`;

describe('parseUnittestText (Django runtests.py, verbosity 2)', () => {
  it('reads 3.11 and older names, docstring lines, skips, expected failures and failure text', () => {
    const tests = parseUnittestText(DJANGO);
    expect(tests.map((t) => [t.name, t.status])).toEqual([
      ['basic.tests.ModelTest::test_emptyqs_distinct', 'skipped'],
      [
        'custom_managers.tests.CustomManagersRegressTestCase::test_save_clears_annotations_from_base_manager',
        'passed',
      ],
      ['basic.tests.ManagerTest::test_manager_method_signature', 'failed'],
      ['basic.tests.LegacyTest::test_old_style', 'passed'],
      ['basic.tests.LegacyTest::test_broken', 'failed'],
      ['basic.tests.LegacyTest::test_expected', 'skipped'],
    ]);
    expect(tests[2]?.file).toBe('basic.tests');
    expect(tests[2]?.message).toMatch(
      /^Traceback[\s\S]*AssertionError: '\(\*args, \*\*kwargs\)' != '\(objs\)'$/,
    );
    expect(tests[4]?.message).toContain('ZeroDivisionError');
  });
});

describe('parseSympyText (bin/test --verbose)', () => {
  it('reads per-file test lines and the failure sections', () => {
    const tests = parseSympyText(SYMPY);
    expect(tests.map((t) => [t.name, t.status])).toEqual([
      ['sympy/geometry/tests/test_point.py::test_point', 'failed'],
      ['sympy/geometry/tests/test_point.py::test_point3D', 'passed'],
      ['sympy/geometry/tests/test_point.py::test_issue_9214', 'passed'],
      ['sympy/geometry/tests/test_point.py::test_concyclic_doctest_bug', 'passed'],
      ['sympy/core/tests/test_args.py::test_all_classes_are_tested', 'skipped'],
      ['sympy/core/tests/test_args.py::test_sympy__core__add__Add', 'passed'],
      ['sympy/core/tests/test_args.py::test_slow_thing', 'skipped'],
    ]);
    expect(tests[0]?.message).toMatch(/RecursionError: maximum recursion depth exceeded$/);
  });
});

describe('parseRunnerOutput for text runners', () => {
  it('counts the results, and calls a crash with no results broken', async () => {
    const ok = await parseRunnerOutput({ kind: 'django', command: [] }, '/nonexistent', '', DJANGO, 1);
    expect(ok.counts).toEqual({ passed: 2, failed: 2, skipped: 2 });
    const crash = await parseRunnerOutput(
      { kind: 'sympy', command: [] },
      '/nonexistent',
      '',
      'ImportError: cannot import name Mapping',
      1,
    );
    expect(crash.error).toMatch(/^sympy: no per-test results in the output \(exit 1\)[\s\S]*ImportError/);
  });
});
