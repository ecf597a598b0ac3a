import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { goLineCoverage, goModulePath, parseGoCoverProfile } from './cover-go.ts';

const CALC = [
  'package calc', // 1
  '', // 2
  'func Add(a, b int) int {', // 3
  '\treturn a + b', // 4
  '}', // 5
  '', // 6
  'func Sign(x int) int {', // 7
  '\tif x < 0 {', // 8
  '\t\treturn -1', // 9
  '\t}', // 10
  '\treturn 1', // 11
  '}', // 12
  '',
].join('\n');

// What `go test -coverprofile` wrote for CALC with only Add tested (go 1.19).
const PROFILE = [
  'mode: set',
  'example.com/m/calc/calc.go:3.24,5.2 1 1',
  'example.com/m/calc/calc.go:7.22,8.11 1 0',
  'example.com/m/calc/calc.go:11.2,11.10 1 0',
  'example.com/m/calc/calc.go:8.11,10.3 1 0',
  '',
].join('\n');

const sorted = (s: Set<number>) => [...s].sort((a, b) => a - b);

describe('go cover profiles', () => {
  it('reads the module path from go.mod', () => {
    expect(goModulePath('// c\nmodule example.com/m\n\ngo 1.19\n')).toBe('example.com/m');
    expect(goModulePath('module "example.com/q" // quoted\n')).toBe('example.com/q');
    expect(goModulePath('go 1.19\n')).toBeUndefined();
  });

  it('maps blocks to repository paths, merging the same block listed by several test binaries', () => {
    const p = parseGoCoverProfile(`${PROFILE}example.com/m/calc/calc.go:7.22,8.11 1 1\n`, 'example.com/m');
    expect([...p.keys()]).toEqual(['calc/calc.go']);
    expect(p.get('calc/calc.go')).toHaveLength(4);
    expect(p.get('calc/calc.go')!.find((b) => b.startLine === 7)!.count).toBe(1);
  });

  it('drops malformed lines and paths outside the module', () => {
    const junk = [
      'mode: set',
      'other.org/x/a.go:1.1,2.2 1 1',
      'example.com/m/../../etc/passwd.go:1.1,2.2 1 1',
      'example.com/m/a.go:9.1,2.2 1 1', // ends before it starts
      'example.com/m/a.go:1.1,2.2 one 1',
      'example.com/m/a.go:1.1,99999999.2 1 1',
      'example.com/m/ok.go:1.1,1.9 1 1',
    ].join('\n');
    expect([...parseGoCoverProfile(junk, 'example.com/m').keys()]).toEqual(['ok.go']);
  });

  it('gives the lines run and not run, leaving out lines of closing brackets', () => {
    const blocks = parseGoCoverProfile(PROFILE, 'example.com/m').get('calc/calc.go')!;
    const c = goLineCoverage(blocks, CALC);
    expect({ executed: sorted(c.executed), missing: sorted(c.missing) }).toEqual({
      executed: [3, 4],
      missing: [7, 8, 9, 11],
    });
    // Without the text, every line a block spans counts.
    expect(sorted(goLineCoverage(blocks).missing)).toEqual([7, 8, 9, 10, 11]);
  });
});

const hasGo = spawnSync('go', ['version']).status === 0;

describe.skipIf(!hasGo)('what go itself writes', () => {
  it('parses `go test -coverprofile -coverpkg=./calc` of a tiny module', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cm-gocov-'));
    mkdirSync(join(dir, 'calc'));
    writeFileSync(join(dir, 'go.mod'), 'module example.com/m\n\ngo 1.19\n');
    writeFileSync(join(dir, 'calc', 'calc.go'), CALC);
    writeFileSync(
      join(dir, 'calc', 'calc_test.go'),
      'package calc\n\nimport "testing"\n\nfunc TestAdd(t *testing.T) {\n\tif Add(1, 2) != 3 {\n\t\tt.Fatal("bad")\n\t}\n}\n',
    );
    const out = join(dir, 'cover.out');
    const res = spawnSync('go', ['test', `-coverprofile=${out}`, '-coverpkg=./calc', './calc'], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, GOCACHE: join(dir, '.cache'), GOPROXY: 'off', GOFLAGS: '-mod=mod' },
    });
    expect(res.status, res.stderr).toBe(0);
    const blocks = parseGoCoverProfile(readFileSync(out, 'utf8'), 'example.com/m').get('calc/calc.go')!;
    const c = goLineCoverage(blocks, CALC);
    expect({ executed: sorted(c.executed), missing: sorted(c.missing) }).toEqual({
      executed: [3, 4],
      missing: [7, 8, 9, 11],
    });
  });
});
