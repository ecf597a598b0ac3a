import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { JS_COVER_DIR } from './coverage.ts';
import { CODEMESH_ROOT } from '../../test/fixture-repo.ts';
import {
  codeLines,
  decodeMappings,
  isV8Functions,
  unloaded,
  type V8Function,
  type V8SourceMap,
  v8LineCoverage,
  v8MappedLineCoverage,
} from './cover-v8.ts';

const sorted = (s: Set<number>) => [...s].sort((a, b) => a - b);
const lines = (c: ReturnType<typeof v8LineCoverage>) =>
  c && { executed: sorted(c.executed), missing: sorted(c.missing) };

const SIGN = [
  "'use strict';", // 1
  '/* a comment', // 2
  '   over two lines */', // 3
  'function sign(x) {', // 4
  '  // why', // 5
  '  if (x < 0) {', // 6
  '    return -1;', // 7
  '  } else {', // 8
  '    return 1;', // 9
  '  }', // 10
  '}', // 11
  'const s = `a', // 12
  `b \${sign(1)}\`;`, // 13
  '', // 14
  'module.exports = { sign, s };', // 15
  '',
].join('\n');

/** Offsets of the first occurrence of `from` and the end of the first `to` after it. */
function span(source: string, from: string, to: string): [number, number] {
  const start = source.indexOf(from);
  return [start, source.indexOf(to, start) + to.length];
}

describe('which lines hold code', () => {
  it('skips blank lines, comments and lines of brackets alone; keeps template continuations', () => {
    expect([...codeLines(SIGN).keys()]).toEqual([1, 4, 6, 7, 8, 9, 12, 13, 15]);
    // The offset is the line's first token, not its indentation.
    expect(codeLines(SIGN).get(6)).toBe(SIGN.indexOf('if (x'));
    // A shebang is not code; a `//` inside a string is not a comment.
    expect([...codeLines('#!/usr/bin/env node\nconst u = "http://x";\n}).x();\n').keys()]).toEqual([2, 3]);
  });
});

describe('V8 ranges to lines', () => {
  it('takes the innermost range holding each line: a block never entered is missing', () => {
    const [fs, fe] = span(SIGN, 'function sign', '\n}');
    const [bs, be] = span(SIGN, '{\n    return -1', '  }');
    const fns: V8Function[] = [
      { functionName: '', ranges: [{ startOffset: 0, endOffset: SIGN.length, count: 1 }] },
      {
        functionName: 'sign',
        ranges: [
          { startOffset: fs, endOffset: fe, count: 2 },
          { startOffset: bs, endOffset: be, count: 0 },
        ],
      },
    ];
    expect(lines(v8LineCoverage(SIGN, fns))).toEqual({ executed: [1, 4, 6, 8, 9, 12, 13, 15], missing: [7] });
    // A function never called (best-effort coverage: one range, count 0): all its lines missing, its
    // declaration too (V8's range starts at `function`).
    const never: V8Function[] = [
      fns[0]!,
      { functionName: 'sign', ranges: [{ startOffset: fs, endOffset: fe, count: 0 }] },
    ];
    expect(lines(v8LineCoverage(SIGN, never))).toEqual({
      executed: [1, 12, 13, 15],
      missing: [4, 6, 7, 8, 9],
    });
  });

  it('refuses ranges that do not describe this text (a transformed module)', () => {
    const fns: V8Function[] = [{ ranges: [{ startOffset: 0, endOffset: SIGN.length + 900, count: 1 }] }];
    expect(v8LineCoverage(SIGN, fns)).toBeUndefined();
    expect(v8LineCoverage(SIGN, [])).toBeUndefined();
  });

  it('counts every line of code of a file no test loaded as missing', () => {
    expect(lines(unloaded(SIGN))).toEqual({ executed: [], missing: [1, 4, 6, 7, 8, 9, 12, 13, 15] });
  });

  it('checks the shape of untrusted entries', () => {
    expect(isV8Functions([{ ranges: [{ startOffset: 0, endOffset: 3, count: 1 }] }])).toBe(true);
    expect(isV8Functions([{ ranges: [{ startOffset: 5, endOffset: 3, count: 1 }] }])).toBe(false);
    expect(isV8Functions([{ ranges: [{ startOffset: '0', endOffset: 3, count: 1 }] }])).toBe(false);
    expect(isV8Functions([null])).toBe(false);
    expect(isV8Functions({})).toBe(false);
  });

  it('reads what Node itself writes under NODE_V8_COVERAGE (CommonJS and ESM)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cm-v8-'));
    writeFileSync(join(dir, 'sign.cjs'), `#!/usr/bin/env node\n${SIGN}`);
    writeFileSync(
      join(dir, 'add.mjs'),
      'export function add(a, b) {\n  return a + b;\n}\n\nexport const unused = () =>\n  0;\n',
    );
    writeFileSync(
      join(dir, 'main.mjs'),
      "import { createRequire } from 'node:module';\nimport { add } from './add.mjs';\nconst { sign } = createRequire(import.meta.url)('./sign.cjs');\nsign(3);\nadd(1, 2);\n",
    );
    const cov = join(dir, 'cov');
    const res = spawnSync(process.execPath, ['main.mjs'], {
      cwd: dir,
      env: { ...process.env, NODE_V8_COVERAGE: cov },
    });
    expect(res.status, String(res.stderr)).toBe(0);
    const scripts = readdirSync(cov).flatMap(
      (f) =>
        JSON.parse(readFileSync(join(cov, f), 'utf8')).result as { url: string; functions: V8Function[] }[],
    );
    const of = (file: string) => {
      const source = readFileSync(join(dir, file), 'utf8');
      const entry = scripts.find((s) => s.url === pathToFileURL(join(dir, file)).href)!;
      return lines(v8LineCoverage(source, entry.functions));
    };
    // The shebang shifts every line by one.
    expect(of('sign.cjs')).toEqual({ executed: [2, 5, 7, 9, 10, 13, 14, 16], missing: [8] });
    expect(of('add.mjs')).toEqual({ executed: [1, 2, 5], missing: [6] });
  });
});

const CALC_TS = [
  'export interface Pair {', // 1: types map to no generated code
  '  a: number;',
  '  b: number;',
  '}',
  '',
  'export function add(p: Pair): number {', // 6
  '  return p.a + p.b;', // 7
  '}',
  '',
  'export function sign(x: number): number {', // 10
  '  if (x < 0) {', // 11
  '    return -1;', // 12
  '  }',
  '  return 1;', // 14
  '}',
  '',
].join('\n');

describe('V8 ranges through a source map (a module transformed on load)', () => {
  it('decodes VLQ mappings, and refuses malformed ones', () => {
    // gen 0:0 → src 0 line 0 col 0; gen 0:9 → line 0 col 9; next line: gen 1:0 → line 1 col 0, then 1:2 → 3:4.
    expect(decodeMappings('AAAA,SAAS;AACT,EAEI')).toEqual([
      [0, 0, 0, 0, 0],
      [0, 9, 0, 0, 9],
      [1, 0, 0, 1, 0],
      [1, 2, 0, 3, 4],
    ]);
    expect(decodeMappings('AAAA,A;;')).toEqual([[0, 0, 0, 0, 0]]);
    expect(decodeMappings('AA!A')).toBeUndefined();
    expect(decodeMappings('AAg')).toBeUndefined(); // a continuation with nothing after it
    expect(decodeMappings('AAAD')).toBeUndefined(); // a negative column
  });

  it('maps what Node recorded for a TypeScript module loaded by tsx back to its lines', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cm-v8ts-'));
    symlinkSync(join(CODEMESH_ROOT, 'node_modules'), join(dir, 'node_modules'));
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
    writeFileSync(join(dir, 'calc.ts'), CALC_TS);
    writeFileSync(join(dir, 'main.ts'), "import { add } from './calc.ts';\nadd({ a: 1, b: 2 });\n");
    const cov = join(dir, 'cov');
    const res = spawnSync(process.execPath, ['--import', 'tsx', 'main.ts'], {
      cwd: dir,
      env: { ...process.env, NODE_V8_COVERAGE: cov },
    });
    expect(res.status, String(res.stderr)).toBe(0);
    const url = pathToFileURL(join(dir, 'calc.ts')).href;
    const file = readdirSync(cov)
      .map((f) => JSON.parse(readFileSync(join(cov, f), 'utf8')))
      .find((j) => j.result.some((s: { url: string }) => s.url === url));
    const entry = file.result.find((s: { url: string }) => s.url === url);
    const map = file['source-map-cache'][url] as V8SourceMap;
    // The offsets are the generated code's: read as the file's own they are refused.
    expect(v8LineCoverage(CALC_TS, entry.functions)).toBeUndefined();
    expect(lines(v8MappedLineCoverage(CALC_TS, entry.functions, map, url))).toEqual({
      executed: [6, 7],
      missing: [10, 11, 12, 14],
    });
    // A map that does not fit the ranges (other line lengths) is refused.
    const off = { ...map, lineLengths: [...map.lineLengths, 40] };
    expect(v8MappedLineCoverage(CALC_TS, entry.functions, off, url)).toBeUndefined();
    expect(
      v8MappedLineCoverage(CALC_TS, entry.functions, { ...map, data: { mappings: 7 } }, url),
    ).toBeUndefined();
  });
});

describe('the V8 launcher (cover.mjs)', () => {
  function project(): string {
    const dir = mkdtempSync(join(tmpdir(), 'cm-jscov-'));
    writeFileSync(join(dir, 'package.json'), '{"name":"p","scripts":{"test":"node --test"}}\n');
    writeFileSync(
      join(dir, 'add.js'),
      'exports.add = (a, b) =>\n  a + b;\nexports.sub = (a, b) =>\n  a - b;\n',
    );
    writeFileSync(
      join(dir, 'add.test.js'),
      "const test = require('node:test');\nconst assert = require('node:assert');\nconst { add } = require('./add.js');\ntest('add', () => assert.equal(add(1, 2), 3));\n",
    );
    mkdirSync(join(dir, '.codemesh-report'));
    return dir;
  }
  const launch = (dir: string, argv: string[]) =>
    spawnSync(
      process.execPath,
      [
        join(JS_COVER_DIR, 'cover.mjs'),
        join(dir, '.codemesh-report/v8-coverage.json'),
        'add.js',
        '--',
        ...argv,
      ],
      { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH } },
    );

  it('runs the command (npm test and its node children) and keeps only the named files', () => {
    const dir = project();
    const res = launch(dir, ['npm', 'test', '--silent']);
    expect(res.status, res.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, '.codemesh-report/v8-coverage.json'), 'utf8'));
    expect(new Set(report.scripts.map((s: { path: string }) => s.path))).toEqual(new Set(['add.js']));
    // add.js and add.test.js ran in Node.
    expect(report.loaded).toBe(2);
    const source = readFileSync(join(dir, 'add.js'), 'utf8');
    expect(lines(v8LineCoverage(source, report.scripts[0].functions))).toEqual({
      executed: [1, 2, 3],
      missing: [4],
    });
  });

  it("keeps the command's exit status", () => {
    const dir = project();
    expect(launch(dir, ['true']).status).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, '.codemesh-report/v8-coverage.json'), 'utf8'))).toEqual({
      scripts: [],
      loaded: 0,
    });
    expect(launch(dir, [process.execPath, '-e', 'process.exit(3)']).status).toBe(3);
    expect(launch(dir, ['no-such-command-here']).status).not.toBe(0);
  });
});
