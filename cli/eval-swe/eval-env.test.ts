// deploy/eval-env.sh --shim-only: the compatibility shim it writes makes old code run on this Python.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultShimDir } from './evaluate.ts';
import { PYTHON } from './test-command.ts';

const dir = mkdtempSync(join(tmpdir(), 'codemesh-shim-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const script = join(import.meta.dirname, '..', '..', 'deploy', 'eval-env.sh');

describe.skipIf(!existsSync(PYTHON))('eval-env shim', () => {
  it('restores collections aliases, old pytest imports, and compiles ASTs built without locations', () => {
    execFileSync('bash', [script, '--shim-only', dir], { encoding: 'utf8' });
    const probe = [
      'import collections, ast, sys',
      'from collections import Mapping, MutableMapping, Callable',
      'import atomicwrites, wcwidth, importlib_metadata, fractions, inspect',
      'assert wcwidth.wcswidth("ab") == 2 and wcwidth.wcswidth("\\u4e00") == 2',
      'assert fractions.gcd(12, 18) == 6',
      'assert inspect.getargspec(lambda a, b=1: 0).args == ["a", "b"]',
      // What pytest 5's assertion rewriter builds: an Import whose alias has no location.
      'imp = ast.Import([ast.alias("sys", "@py_sys")])',
      'ast.copy_location(imp, ast.parse("x = 1").body[0])',
      'mod = ast.Module([imp], [])',
      'exec(compile(mod, "<rewritten>", "exec"))',
      'p = sys.argv[1] + "/out.txt"',
      'with atomicwrites.atomic_write(p, overwrite=True) as f: f.write("ok")',
      'print(open(p).read(), importlib_metadata.version("pytest") != "")',
    ].join('\n');
    const out = execFileSync(PYTHON, ['-c', probe, dir], {
      encoding: 'utf8',
      env: { ...process.env, PYTHONPATH: dir },
    });
    expect(out.trim()).toBe('ok True');
    // Idempotent: a second run rewrites the same files.
    execFileSync('bash', [script, '--shim-only', dir], { encoding: 'utf8' });
  });
});

describe('default shim dir', () => {
  it('is readable by the sandbox user: a system directory as root, the user cache otherwise', () => {
    expect(defaultShimDir({ CODEMESH_EVAL_SHIM: '/x' }, 0)).toBe('/x');
    expect(defaultShimDir({}, 0)).toBe('/usr/local/share/codemesh/eval-shim');
    expect(defaultShimDir({ XDG_CACHE_HOME: '/home/me/.cache' }, 1000)).toBe(
      '/home/me/.cache/codemesh/eval-shim',
    );
  });
});
