import { describe, expect, it } from 'vitest';
import { codeChangeIn } from './code-unchanged.ts';

const PY = 'def add(a, b, c=0):\n    """Return the sum of a and b."""\n    # the sum\n    return a + b + c\n';

describe('codeChangeIn: the Doc Writer may change documentation only', () => {
  it('accepts a changed docstring or comment (Python)', () => {
    expect(codeChangeIn('calc.py', PY, PY.replace('of a and b', 'of a, b and c'))).toBeUndefined();
    expect(codeChangeIn('calc.py', PY, PY.replace('# the sum', '# the sum of three terms'))).toBeUndefined();
    // A docstring added where there was none.
    const bare = 'def f():\n    return 1\n';
    expect(codeChangeIn('m.py', bare, 'def f():\n    """One."""\n    return 1\n')).toBeUndefined();
  });

  it('refuses a code change hidden in a documentation edit (Python)', () => {
    expect(codeChangeIn('calc.py', PY, PY.replace('a + b + c', 'a + b'))).toMatch(/code of calc\.py changed/);
    // A statement appended to the docstring's line.
    expect(codeChangeIn('calc.py', PY, PY.replace('of a and b."""', 'of a and b."""; import os'))).toMatch(
      /code of calc\.py changed/,
    );
    // An f-string "docstring" runs code when evaluated.
    expect(
      codeChangeIn('calc.py', PY, PY.replace('"""Return the sum of a and b."""', 'f"{__import__(\'os\')}"')),
    ).toMatch(/code of calc\.py changed/);
    // A default value changed.
    expect(codeChangeIn('calc.py', PY, PY.replace('c=0', 'c=1'))).toMatch(/changed/);
  });

  it('refuses an edit that breaks the parse', () => {
    expect(codeChangeIn('calc.py', PY, PY.replace('# the sum', '# the sum\n    ) ('))).toMatch(
      /no longer parses/,
    );
  });

  it('JS/TS: JSDoc and line comments may change, code may not', () => {
    const ts =
      '/** Adds. */\nexport function add(a: number, b: number): number {\n  return a + b; // sum\n}\n';
    expect(
      codeChangeIn('a.ts', ts, ts.replace('/** Adds. */', '/**\n * Adds a and b.\n */')),
    ).toBeUndefined();
    expect(codeChangeIn('a.ts', ts, ts.replace('// sum', '// the sum'))).toBeUndefined();
    expect(codeChangeIn('a.ts', ts, ts.replace('a + b;', 'a - b;'))).toMatch(/code of a\.ts changed/);
    // A string literal is code in JS (no docstrings there).
    const js = 'function f() {\n  "use strict";\n}\n';
    expect(codeChangeIn('a.js', js, js.replace('use strict', 'use sloppy'))).toMatch(/changed/);
  });

  it('files the parsers do not read: only comment lines may differ', () => {
    const c = '/* adds */\nint add(int a, int b) { return a + b; }\n';
    expect(codeChangeIn('calc.c', c, c.replace('/* adds */', '/* adds two ints */'))).toBeUndefined();
    expect(codeChangeIn('calc.c', c, c.replace('a + b', 'a * b'))).toMatch(/not a comment: int add/);
  });
});
