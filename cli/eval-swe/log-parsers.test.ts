import { describe, expect, it } from 'vitest';
import {
  normalizeDjangoName,
  parseDjango,
  parseLog,
  parsePytest,
  parsePytestOptions,
  parseSympy,
  passed,
} from './log-parsers.ts';

describe('parseDjango', () => {
  it('reads verbosity-2 unittest lines and maps Python 3.11 names to SWE-bench names', () => {
    const log = [
      "Testing against Django installed in '/tmp/grade/tree/django' with up to 1 processes",
      'test_union (queries.test_qs_combinators.QuerySetSetOperationTests.test_union) ... ok',
      'test_order_by (queries.test_qs_combinators.QuerySetSetOperationTests.test_order_by) ... FAIL',
      'test_broken (queries.test_qs_combinators.QuerySetSetOperationTests.test_broken) ... ERROR',
      "test_sqlite_only (queries.test_qs_combinators.QuerySetSetOperationTests.test_sqlite_only) ... skipped 'not postgres'",
      'test_docstring (auth_tests.test_validators.UserAttributeSimilarityValidatorTest.test_docstring)',
      'Regression test for #12345. ... ok',
      'test_docfail (a.tests.T.test_docfail)',
      'Fails loudly. ... FAIL',
      'test_noisy (migrations.test_commands.MakeMigrationsTests.test_noisy) ... Some output printed here',
      'ok',
      '======================================================================',
      'FAIL: test_order_by (queries.test_qs_combinators.QuerySetSetOperationTests.test_order_by)',
    ].join('\n');
    const m = parseDjango(log);
    expect(m.get('test_union (queries.test_qs_combinators.QuerySetSetOperationTests)')).toBe('PASSED');
    // Recent instances name tests in Python 3.11's long form (django-16454 and every 4.2+ instance).
    expect(m.get('test_union (queries.test_qs_combinators.QuerySetSetOperationTests.test_union)')).toBe(
      'PASSED',
    );
    expect(m.get('test_docfail (a.tests.T.test_docfail)')).toBe('FAILED');
    expect(m.get('test_order_by (queries.test_qs_combinators.QuerySetSetOperationTests)')).toBe('FAILED');
    expect(m.get('test_broken (queries.test_qs_combinators.QuerySetSetOperationTests)')).toBe('ERROR');
    expect(m.get('test_sqlite_only (queries.test_qs_combinators.QuerySetSetOperationTests)')).toBe('SKIPPED');
    expect(m.get('Regression test for #12345.')).toBe('PASSED');
    // The docstring's status belongs to the name printed alone on the line before (django-12754, -13023).
    expect(m.get('test_docstring (auth_tests.test_validators.UserAttributeSimilarityValidatorTest)')).toBe(
      'PASSED',
    );
    expect(m.get('test_docfail (a.tests.T)')).toBe('FAILED');
    expect(m.get('test_noisy (migrations.test_commands.MakeMigrationsTests)')).toBe('PASSED');
    expect(passed(m, 'test_union (queries.test_qs_combinators.QuerySetSetOperationTests)')).toBe(true);
    expect(passed(m, 'test_missing (queries.Tests)')).toBe(false);
  });

  it('leaves names that are already in the old form, or whose method differs, alone', () => {
    expect(normalizeDjangoName('test_x (a.b.C)')).toBe('test_x (a.b.C)');
    expect(normalizeDjangoName('test_x (a.b.C.test_y)')).toBe('test_x (a.b.C.test_y)');
    expect(normalizeDjangoName('test_x (a.b.C.test_x)')).toBe('test_x (a.b.C)');
  });
});

describe('parseSympy', () => {
  it('reads bin/test --verbose lines and the failure headers', () => {
    const log = [
      'sympy/geometry/tests/test_point.py[5] ',
      'test_point3D ok',
      'test_Point2D ok',
      'test_issue_11617 F',
      'test_transform E',
      '________________________________________________________________________________',
      '_____________ sympy/geometry/tests/test_point.py:test_issue_11617 ______________',
      'AssertionError',
    ].join('\n');
    const m = parseSympy(log);
    expect(m.get('test_point3D')).toBe('PASSED');
    expect(m.get('test_issue_11617')).toBe('FAILED');
    expect(m.get('test_transform')).toBe('ERROR');
    expect(m.get('sympy/geometry/tests/test_point.py:test_issue_11617')).toBe('FAILED');
  });
});

describe('parsePytest', () => {
  it('reads the -rA summary, including FAILED lines with a reason', () => {
    const log = [
      'tests/test_blueprints.py ..F.                                           [100%]',
      '=========================== short test summary info ============================',
      'PASSED tests/test_blueprints.py::test_blueprint_prefix_slash[-/-/]',
      'PASSED tests/test_blueprints.py::test_dotted_name_not_allowed',
      "FAILED tests/test_blueprints.py::test_empty_name_not_allowed - Failed: DID NOT RAISE <class 'ValueError'>",
      'SKIPPED [1] tests/test_blueprints.py:12: needs network',
      'XFAIL tests/test_blueprints.py::test_known_bug',
      'ERROR tests/test_blueprints.py::test_fixture_broken',
    ].join('\n');
    const m = parsePytest(log);
    expect(m.get('tests/test_blueprints.py::test_blueprint_prefix_slash[-/-/]')).toBe('PASSED');
    expect(m.get('tests/test_blueprints.py::test_empty_name_not_allowed')).toBe('FAILED');
    expect(m.get('tests/test_blueprints.py::test_fixture_broken')).toBe('ERROR');
    expect([...m.keys()].some((k) => k.startsWith('[1]'))).toBe(false);
    expect(passed(m, 'tests/test_blueprints.py::test_known_bug')).toBe(true);
    expect(passed(m, 'tests/test_blueprints.py::test_empty_name_not_allowed')).toBe(false);
  });

  it('requests: an absolute-path parameter keeps only its last segment', () => {
    const log =
      'PASSED test_requests.py::test_data[/tmp/grade-x/tree/data/file.txt]\nPASSED test_requests.py::test_url[//x]';
    const m = parsePytestOptions(log);
    expect(m.get('test_requests.py::test_data[/file.txt]')).toBe('PASSED');
    expect(m.get('test_requests.py::test_url[//x]')).toBe('PASSED');
    expect(parseLog('pytest', log).get('test_requests.py::test_data[/tmp/grade-x/tree/data/file.txt]')).toBe(
      'PASSED',
    );
  });
});
