// V8 block coverage (what Node writes under NODE_V8_COVERAGE) turned into line coverage of a JS file: a line
// with code runs when the innermost range holding its first token has a count above 0. Offsets index the
// text V8 compiled, so they mean source lines only when that text is the file itself (plain JS run by Node);
// a transformed module (TypeScript, vitest's in-memory rewrite) is refused, never guessed.

/** One function of a script in V8's precise coverage: its ranges, the first spanning the whole function. */
export interface V8Function {
  functionName?: string;
  ranges: { startOffset: number; endOffset: number; count: number }[];
  isBlockCoverage?: boolean;
}

export interface LineCoverage {
  executed: Set<number>;
  missing: Set<number>;
}

// A file past these is not worth the time it takes to read (and came from untrusted code).
const MAX_RANGES = 200_000;
const PUNCTUATION = new Set(['{', '}', '(', ')', '[', ']', ';', ',']);

/**
 * Per line (1-based), the offset (UTF-16 units, as V8 counts) of its first token outside comments, for the
 * lines that hold more than brackets and separators (`});` is not a statement). A small lexer: comments and
 * string/template literals are told apart; a regex literal holding `//` or a quote may mislead it.
 */
export function codeLines(source: string): Map<number, number> {
  const out = new Map<number, number>();
  let line = 1;
  let state: 'code' | 'line' | 'block' | "'" | '"' | '`' = 'code';
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\n') {
      line++;
      if (state === 'line' || state === "'" || state === '"') state = 'code';
      continue;
    }
    if (state === 'line') continue;
    if (state === 'block') {
      if (c === '*' && source[i + 1] === '/') {
        state = 'code';
        i++;
      }
      continue;
    }
    if (state === "'" || state === '"' || state === '`') {
      if (c === '\\') i++;
      else if (c === state) state = 'code';
      // A template's continuation line is code of the expression it belongs to.
      else if (state === '`' && !out.has(line) && c.trim()) out.set(line, i);
      continue;
    }
    if (c === '/' && source[i + 1] === '/') {
      state = 'line';
      i++;
      continue;
    }
    if (c === '/' && source[i + 1] === '*') {
      state = 'block';
      i++;
      continue;
    }
    if (i === 0 && c === '#' && source[1] === '!') {
      state = 'line'; // a shebang
      continue;
    }
    if (c === "'" || c === '"' || c === '`') state = c;
    if (!out.has(line) && c.trim() && !PUNCTUATION.has(c)) out.set(line, i);
  }
  return out;
}

/**
 * The lines of `source` run and not run according to one V8 script entry's functions, or undefined when
 * the ranges do not describe this text (the top-level range must span exactly the whole source).
 *
 * @example
 * v8LineCoverage('export const a = 1;\nexport function f() {\n  return 2;\n}\n', entry.functions)
 * // → { executed: {1, 2}, missing: {3} } when f was never called
 */
export function v8LineCoverage(source: string, functions: readonly V8Function[]): LineCoverage | undefined {
  const ranges: [number, number, number][] = [];
  for (const f of functions) {
    for (const r of f.ranges) {
      if (ranges.length >= MAX_RANGES) return undefined;
      ranges.push([r.startOffset, r.endOffset, r.count]);
    }
  }
  const top = ranges.find(([s]) => s === 0);
  if (!top || top[1] !== source.length) return undefined;
  const executed = new Set<number>();
  const missing = new Set<number>();
  for (const [line, at] of codeLines(source)) {
    let best: [number, number, number] | undefined;
    for (const r of ranges) {
      if (r[0] <= at && at < r[1] && (!best || r[1] - r[0] < best[1] - best[0])) best = r;
    }
    if (best && best[2] > 0) executed.add(line);
    else missing.add(line);
  }
  return { executed, missing };
}

/** A file no test loaded: every line with code is missing. */
export function unloaded(source: string): LineCoverage {
  return { executed: new Set(), missing: new Set(codeLines(source).keys()) };
}

/** Type check of one entry of untrusted V8 output; entries that fail it are dropped. */
export function isV8Functions(x: unknown): x is V8Function[] {
  return (
    Array.isArray(x) &&
    x.every(
      (f) =>
        f !== null &&
        typeof f === 'object' &&
        Array.isArray((f as V8Function).ranges) &&
        (f as V8Function).ranges.every(
          (r) =>
            r !== null &&
            typeof r === 'object' &&
            Number.isInteger(r.startOffset) &&
            Number.isInteger(r.endOffset) &&
            Number.isInteger(r.count) &&
            r.startOffset >= 0 &&
            r.endOffset >= r.startOffset,
        ),
    )
  );
}
