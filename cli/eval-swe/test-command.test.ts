import { describe, expect, it } from 'vitest';
import type { SweInstance } from './dataset.ts';
import { extractTestCommand, planTests, shellWords, TestCommandError } from './test-command.ts';

const script = (cmd: string) =>
  `#!/bin/bash\nset -uxo pipefail\ngit apply -v - <<'EOF_1'\nEOF_1\n: '>>>>> Start Test Output'\n${cmd}\n: '>>>>> End Test Output'\ngit checkout abc tests/x.py\n`;

const inst = (repo: string, cmd: string, extra: Partial<SweInstance> = {}): SweInstance => ({
  instance_id: 'x__y-1',
  repo,
  base_commit: 'a'.repeat(40),
  problem_statement: 'p',
  patch: '',
  test_patch: '',
  FAIL_TO_PASS: [],
  PASS_TO_PASS: [],
  eval_script: script(cmd),
  ...extra,
});

describe('extractTestCommand / shellWords', () => {
  it('takes the one line between the markers', () => {
    expect(extractTestCommand(script('pytest -rA tests/a.py'))).toBe('pytest -rA tests/a.py');
    expect(() => extractTestCommand('pytest')).toThrow(TestCommandError);
  });

  it('splits quotes and refuses shell syntax it would have to interpret', () => {
    expect(
      shellWords(`PYTHONWARNINGS='ignore::UserWarning,ignore::SyntaxWarning' bin/test -C "a b" c\\ d`),
    ).toEqual(['PYTHONWARNINGS=ignore::UserWarning,ignore::SyntaxWarning', 'bin/test', '-C', 'a b', 'c d']);
    expect(() => shellWords('pytest; rm -rf /')).toThrow(TestCommandError);
    expect(() => shellWords('pytest $(id)')).toThrow(TestCommandError);
  });
});

describe('planTests', () => {
  it('django: the system python on tests/runtests.py, the checkout on PYTHONPATH', () => {
    const p = planTests(
      inst(
        'django/django',
        './tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1 queries.tests',
      ),
      '/w',
      '/shim',
    );
    expect(p.argv).toEqual([
      '/usr/bin/python3',
      './tests/runtests.py',
      '--verbosity',
      '2',
      '--settings=test_sqlite',
      '--parallel',
      '1',
      'queries.tests',
    ]);
    expect(p.env.PYTHONPATH).toBe('/w');
    expect(p.parser).toBe('django');
    expect(p.needsShim).toBe(false);
  });

  it('sympy: env assignments become env, the shim goes first, hash seed fixed', () => {
    const p = planTests(
      inst(
        'sympy/sympy',
        "PYTHONWARNINGS='ignore::UserWarning' bin/test -C --verbose sympy/a/tests/test_b.py",
      ),
      '/w',
      '/shim',
    );
    expect(p.argv).toEqual(['/usr/bin/python3', 'bin/test', '-C', '--verbose', 'sympy/a/tests/test_b.py']);
    expect(p.env).toMatchObject({
      PYTHONWARNINGS: 'ignore::UserWarning',
      PYTHONHASHSEED: '0',
      PYTHONPATH: '/shim:/w',
    });
    expect(p.parser).toBe('sympy');
  });

  it('flask: src first and no httpbin plugin; pytest: its generated _version.py', () => {
    const f = planTests(inst('pallets/flask', 'pytest -rA tests/test_blueprints.py'), '/w', '/shim');
    expect(f.argv).toEqual([
      '/usr/bin/python3',
      '-m',
      'pytest',
      '-p',
      'no:httpbin',
      '-p',
      'no:cacheprovider',
      '-rA',
      'tests/test_blueprints.py',
    ]);
    expect(f.env.PYTHONPATH).toBe('/w/src');
    const p = planTests(
      inst('pytest-dev/pytest', 'pytest -rA testing/test_x.py', { version: '5.4' }),
      '/w',
      '/s',
    );
    expect(p.files['src/_pytest/_version.py']).toContain("version = '5.4.0'");
    expect(p.env.PYTHONPATH).toBe('/s:/w/src');
    const r = planTests(
      inst('psf/requests', 'pytest -rA test_requests.py', { log_parser: 'parse_log_requests' }),
      '/w',
      '/s',
    );
    expect(r.parser).toBe('pytest_options');
    expect(r.env.PYTHONPATH).toBe('/s:/w');
  });

  it('another repository with a pytest parser gets no project-specific setup', () => {
    const p = planTests(
      inst('acme/calc', 'pytest -rA test_calc.py', { log_parser: 'parse_log_pytest' }),
      '/w',
      '/s',
    );
    expect(p.files).toEqual({});
    expect(p.env.PYTHONPATH).toBe('/w');
    expect(() => planTests(inst('acme/calc', 'make test'), '/w', '/s')).toThrow(/unsupported test program/);
  });
});
