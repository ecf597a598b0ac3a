// `go test -coverprofile` output turned into line coverage of the module's files. The profile comes from the
// repository's tests (untrusted): each line is parsed on its own, malformed ones are skipped, and only paths
// inside the module are kept.
import type { LineCoverage } from './cover-v8.ts';

/** One block of a cover profile: `file.go:startLine.startCol,endLine.endCol statements count`. */
export interface GoBlock {
  startLine: number;
  startCol: number;
  endLine: number;
  endCol: number;
  stmts: number;
  count: number;
}

const MAX_BLOCKS = 500_000;
const MAX_LINE = 1_000_000;
const BLOCK = /^(.+\.go):(\d+)\.(\d+),(\d+)\.(\d+) (\d+) (\d+)$/;

/** The module path a go.mod declares (`module example.com/m`), or undefined. */
export function goModulePath(goMod: string): string | undefined {
  const m = /^\s*module\s+("?)([^\s"]+)\1\s*(?:\/\/.*)?$/m.exec(goMod);
  return m?.[2];
}

/**
 * The blocks of a cover profile by repository-relative file (`example.com/m/calc/calc.go` → `calc/calc.go`
 * under module `example.com/m`). The same block listed by several test binaries (with `-coverpkg`) keeps
 * its highest count.
 *
 * @example
 * parseGoCoverProfile('mode: set\nexample.com/m/calc.go:3.24,5.2 1 1\n', 'example.com/m')
 * // → Map { 'calc.go' => [{ startLine: 3, startCol: 24, endLine: 5, endCol: 2, stmts: 1, count: 1 }] }
 */
export function parseGoCoverProfile(text: string, modulePath: string): Map<string, GoBlock[]> {
  const byFile = new Map<string, Map<string, GoBlock>>();
  let n = 0;
  for (const raw of text.split('\n')) {
    const m = BLOCK.exec(raw.trim());
    if (!m) continue;
    const rel = relativeToModule(m[1]!, modulePath);
    if (!rel) continue;
    const [startLine, startCol, endLine, endCol, stmts, count] = m.slice(2).map(Number) as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    if (startLine < 1 || endLine < startLine || endLine > MAX_LINE || !Number.isSafeInteger(count)) continue;
    const blocks = byFile.get(rel) ?? new Map<string, GoBlock>();
    byFile.set(rel, blocks);
    const key = `${startLine}.${startCol},${endLine}.${endCol}`;
    const prev = blocks.get(key);
    if (prev) prev.count = Math.max(prev.count, count);
    else {
      if (++n > MAX_BLOCKS) break;
      blocks.set(key, { startLine, startCol, endLine, endCol, stmts, count });
    }
  }
  return new Map([...byFile].map(([f, blocks]) => [f, [...blocks.values()]]));
}

function relativeToModule(name: string, modulePath: string): string | undefined {
  if (!name.startsWith(`${modulePath}/`)) return undefined;
  const rel = name.slice(modulePath.length + 1);
  return rel.split('/').some((p) => p === '' || p === '.' || p === '..') ? undefined : rel;
}

/**
 * Lines of a file run and not run: every line a block with statements spans, run when one of those blocks
 * ran. With the file's text, lines holding only closing brackets or comments are left out (a block ends on
 * its `}`), as coverage.py leaves out lines that are not statements.
 */
export function goLineCoverage(blocks: readonly GoBlock[], source?: string): LineCoverage {
  const text = source?.split('\n');
  // Difference arrays over the lines (a hostile profile may list 500,000 blocks each a million lines long:
  // walking every block's lines would take hours): how many blocks cover each line, and how many that ran.
  let last = 0;
  for (const b of blocks) if (b.stmts > 0) last = Math.max(last, b.endLine);
  if (text) last = Math.min(last, text.length);
  const covered = new Int32Array(last + 2);
  const ran = new Int32Array(last + 2);
  for (const b of blocks) {
    if (b.stmts <= 0 || b.startLine > last) continue;
    const end = Math.min(b.endLine, last) + 1;
    covered[b.startLine]!++;
    covered[end]!--;
    if (b.count > 0) {
      ran[b.startLine]!++;
      ran[end]!--;
    }
  }
  const executed = new Set<number>();
  const missing = new Set<number>();
  let c = 0;
  let r = 0;
  for (let l = 1; l <= last; l++) {
    c += covered[l]!;
    r += ran[l]!;
    if (c === 0 || (text && !isCode(text[l - 1]))) continue;
    (r > 0 ? executed : missing).add(l);
  }
  return { executed, missing };
}

function isCode(line: string | undefined): boolean {
  if (line === undefined) return false;
  const code = line.replace(/\/\/.*$/, '').trim();
  return /[^{}()[\];,\s]/.test(code);
}
