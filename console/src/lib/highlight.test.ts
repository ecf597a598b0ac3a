import { describe, expect, it } from 'vitest';
import { type LexState, langOf, type Token, tokenizeLine } from './highlight.ts';

const kinds = (tokens: Token[]) => tokens.filter((t) => t.kind !== 'text').map((t) => `${t.kind}:${t.text}`);

describe('langOf', () => {
  it('knows JS/TS, Python and Go by extension, nothing else', () => {
    expect(['a.ts', 'b.tsx', 'c.mjs', 'd.py', 'e.go', 'README.md', 'Makefile'].map(langOf)).toEqual([
      'js',
      'js',
      'js',
      'py',
      'go',
      undefined,
      undefined,
    ]);
  });
});

describe('tokenizeLine', () => {
  it('finds keywords, numbers, strings and a line comment in TypeScript', () => {
    const { tokens } = tokenizeLine(`  return a - b + 0x1f; // it's "fixed"`, 'js');
    expect(kinds(tokens)).toEqual(['kw:return', 'num:0x1f', `com:// it's "fixed"`]);
  });

  it('keeps a keyword inside a string or an identifier a string or text', () => {
    const { tokens } = tokenizeLine(`const returned = 'return \\' if' + x1;`, 'js');
    expect(kinds(tokens)).toEqual(['kw:const', `str:'return \\' if'`]);
  });

  it('carries a block comment and a template string over lines', () => {
    let s: LexState = {};
    const a = tokenizeLine('x = 1; /* start', 'js', s);
    s = a.state;
    expect(kinds(a.tokens)).toEqual(['num:1', 'com:/* start']);
    const b = tokenizeLine('still if comment */ if (y) {', 'js', s);
    expect(kinds(b.tokens)).toEqual(['com:still if comment */', 'kw:if']);
    expect(b.state).toEqual({});
    const c = tokenizeLine(['const t = `a $', '{b}'].join(''), 'js');
    expect(c.state.open).toEqual({ kind: 'str', close: '`' });
    expect(kinds(tokenizeLine('c` + 2', 'js', c.state).tokens)).toEqual(['str:c`', 'num:2']);
  });

  it('reads Python comments, prefixed strings and triple-quoted docstrings', () => {
    expect(kinds(tokenizeLine(`def f(a, b=2):  # not a "string"`, 'py').tokens)).toEqual([
      'kw:def',
      'num:2',
      'com:# not a "string"',
    ]);
    expect(kinds(tokenizeLine(`    return rb'\\d' + f"{x}"`, 'py').tokens)).toEqual([
      'kw:return',
      `str:rb'\\d'`,
      'str:f"{x}"',
    ]);
    const doc = tokenizeLine('    """Return the sum', 'py');
    expect(doc.state.open).toEqual({ kind: 'str', close: '"""' });
    const end = tokenizeLine('    of a and b."""  # done', 'py', doc.state);
    expect(kinds(end.tokens)).toEqual(['str:    of a and b."""', 'com:# done']);
  });

  it('reads Go keywords, runes and raw strings (no escapes in raw strings)', () => {
    expect(kinds(tokenizeLine(`func Sub(a, b int) int { return a - b } // ok`, 'go').tokens)).toEqual([
      'kw:func',
      'kw:int',
      'kw:int',
      'kw:return',
      'com:// ok',
    ]);
    const raw = tokenizeLine('s := `C:\\`', 'go');
    expect(kinds(raw.tokens)).toEqual(['str:`C:\\`']);
    expect(raw.state).toEqual({});
  });

  it('an unclosed one-line string ends at the end of the line', () => {
    const r = tokenizeLine(`x = "open`, 'js');
    expect(kinds(r.tokens)).toEqual(['str:"open']);
    expect(r.state).toEqual({});
  });

  it('unknown languages are one text token', () => {
    expect(tokenizeLine('<b>return 1</b>', undefined).tokens).toEqual([
      { kind: 'text', text: '<b>return 1</b>' },
    ]);
  });

  it('never loses or adds a character (the tokens joined are the line)', () => {
    const lines = [
      `  return a + b;`,
      `const s = "a\\"b" + 'c' + \`d\${e}\`; /* x */ y // z`,
      `x = r'''abc''' + 1.5e-3j # c`,
      `ch := '\\n'; s := "é 😀"; n := 0b1010_1010`,
      `\t\t/* half`,
      ``,
      `"`,
      `\\`,
      `<script>alert(1)</script>`,
    ];
    for (const lang of ['js', 'py', 'go'] as const)
      for (const l of lines) {
        const { tokens } = tokenizeLine(l, lang);
        expect(tokens.map((t) => t.text).join('')).toBe(l);
        expect(tokens.every((t) => t.text.length > 0)).toBe(true);
      }
  });
});
