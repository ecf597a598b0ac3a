import { describe, expect, it } from 'vitest';
import { chunkAst } from './chunk-ast.ts';
import { chunkLines } from './chunk-lines.ts';
import { extractFile } from './extract-file.ts';

const spans = (cs: { symbol: string; kind: string; startLine: number; endLine: number }[]) =>
  cs.map((c) => `${c.kind} ${c.symbol} ${c.startLine}-${c.endLine}`);

describe('chunkAst', () => {
  it('chunks Python into module header, functions, classes and methods with spans', () => {
    const src = [
      '"""Module doc."""', // 1
      'import os', // 2
      'LIMIT = 3', // 3
      '', // 4
      'def top(a):', // 5
      '    return a', // 6
      '', // 7
      '@dataclass', // 8
      'class Box:', // 9
      '    """A box."""', // 10
      '    size: int = 0', // 11
      '', // 12
      '    def grow(self, n):', // 13
      '        self.size += n', // 14
      '', // 15
      '    @property', // 16
      '    def area(self):', // 17
      '        return self.size ** 2', // 18
      '',
    ].join('\n');
    const r = chunkAst('python', src);
    expect(spans(r.chunks)).toEqual([
      'module  1-3',
      'function top 5-6',
      'class Box 8-12',
      'method Box.grow 13-14',
      'method Box.area 16-18',
    ]);
    expect(r.defs).toEqual(expect.arrayContaining(['LIMIT', 'top', 'Box', 'grow', 'Box.grow', 'Box.area']));
    expect(r.hasError).toBe(false);
  });

  it('chunks TypeScript classes, methods and arrow functions', () => {
    const src = [
      "import { x } from './x.ts';", // 1
      'export class Store {', // 2
      '  get(key: string) {', // 3
      '    return key;', // 4
      '  }', // 5
      '}', // 6
      'export const add = (a: number, b: number) => a + b;', // 7
      'function plain() {}', // 8
    ].join('\n');
    expect(spans(chunkAst('typescript', src).chunks)).toEqual([
      'module  1-1',
      'class Store 2-2',
      'method Store.get 3-5',
      'function add 7-7',
      'function plain 8-8',
    ]);
  });

  it('chunks JavaScript functions', () => {
    const r = chunkAst('javascript', 'function a() {\n  return 1;\n}\nclass B { m() {} }\n');
    expect(spans(r.chunks)).toEqual(['function a 1-3', 'class B 4-4', 'method B.m 4-4']);
  });

  it('chunks Go functions, methods with their receiver type, and types', () => {
    const src = [
      'package main', // 1
      'type Server struct {', // 2
      '  port int', // 3
      '}', // 4
      'func (s *Server) Start() error {', // 5
      '  return nil', // 6
      '}', // 7
      'func main() {}', // 8
    ].join('\n');
    expect(spans(chunkAst('go', src).chunks)).toEqual([
      'module  1-1',
      'class Server 2-4',
      'method Server.Start 5-7',
      'function main 8-8',
    ]);
  });

  it('chunks Java classes, constructors and methods', () => {
    const src = [
      'package a;', // 1
      'public class Greeter {', // 2
      '  private String name;', // 3
      '  public Greeter(String n) { name = n; }', // 4
      '  public String greet() {', // 5
      '    return "hi " + name;', // 6
      '  }', // 7
      '}', // 8
    ].join('\n');
    expect(spans(chunkAst('java', src).chunks)).toEqual([
      'module  1-1',
      'class Greeter 2-3',
      'method Greeter.Greeter 4-4',
      'method Greeter.greet 5-7',
    ]);
  });

  it('survives syntax errors and reports them', () => {
    const r = chunkAst('python', 'def ok():\n    return 1\n\ndef broken(:\n    pass\n');
    expect(r.hasError).toBe(true);
    expect(r.chunks.some((c) => c.symbol === 'ok')).toBe(true);
  });

  it('parses sources larger than 32 KiB', () => {
    const src = Array.from({ length: 2000 }, (_, i) => `def f${i}(x):\n    return x + ${i}\n`).join('\n');
    expect(src.length).toBeGreaterThan(32 * 1024);
    expect(chunkAst('python', src).chunks).toHaveLength(2000);
  });
});

describe('line windows and file records', () => {
  it('cuts other text into windows', () => {
    expect(spans(chunkLines(130, 60))).toEqual(['window  1-60', 'window  61-120', 'window  121-130']);
  });

  it('marks binary and too-large files as skipped', () => {
    expect(extractFile('a.png', 'x', Buffer.from([0x89, 0, 1, 2])).skip).toBe('binary');
    expect(extractFile('big.txt', 'y', Buffer.alloc(1024 * 1024 + 1, 97)).skip).toBe('tooLarge');
  });

  it('records imports, definitions and references of a Python file', () => {
    const r = extractFile(
      'pkg/a.py',
      'z',
      Buffer.from('from .b import helper\nimport os.path\n\ndef run():\n    helper()\n'),
    );
    expect(r.imports).toEqual(expect.arrayContaining(['path:pkg/b', 'path:pkg/b/helper', 'mod:os.path']));
    expect(r.defs).toEqual(['run']);
    expect(r.refs.get('helper')).toBe(2);
  });
});
