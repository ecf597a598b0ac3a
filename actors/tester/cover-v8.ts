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
  const lines = [...codeLines(source)];
  const count = innermostCounts(
    lines.map(([, at]) => at),
    ranges,
  );
  for (const [i, [line]] of lines.entries()) ((count[i] ?? 0) > 0 ? executed : missing).add(line);
  return { executed, missing };
}

/**
 * For each point (an offset), the count of the shortest range holding it (the first listed among equally
 * short ones), or undefined. Ranges are taken shortest first and each point is given to the first range that
 * reaches it, skipping given points with a union-find: O((R + P) log) whatever the ranges (a hostile report may
 * hold 200,000 ranges over a file of 100,000 lines; testing every range at every line took minutes).
 */
function innermostCounts(
  unsorted: readonly number[],
  ranges: readonly (readonly [number, number, number])[],
): (number | undefined)[] {
  const byPoint = unsorted.map((_, i) => i).sort((a, b) => unsorted[a]! - unsorted[b]!);
  const points = byPoint.map((i) => unsorted[i]!);
  const out: (number | undefined)[] = new Array(unsorted.length);
  // next[i]: the first point at or after i not yet given a range (path-compressed).
  const next = Int32Array.from({ length: points.length + 1 }, (_, i) => i);
  const find = (i: number): number => {
    let root = i;
    while (next[root] !== root) root = next[root]!;
    while (next[i] !== root) {
      const up = next[i]!;
      next[i] = root;
      i = up;
    }
    return root;
  };
  const order = ranges
    .map((_, i) => i)
    .sort((a, b) => {
      const la = ranges[a]![1] - ranges[a]![0];
      const lb = ranges[b]![1] - ranges[b]![0];
      return la - lb || a - b;
    });
  for (const k of order) {
    const [start, end, n] = ranges[k]!;
    let lo = 0;
    let hi = points.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (points[mid]! < start) lo = mid + 1;
      else hi = mid;
    }
    for (let i = find(lo); i < points.length && points[i]! < end; i = find(i + 1)) {
      out[byPoint[i]!] = n;
      next[i] = i + 1;
    }
  }
  return out;
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

/** What Node keeps of a module's source map under NODE_V8_COVERAGE (`source-map-cache` in its output). */
export interface V8SourceMap {
  /** Lengths of the generated code's lines (UTF-16 units): they turn V8's offsets into line and column. */
  lineLengths: number[];
  data: { sources?: unknown; sourceRoot?: unknown; mappings?: unknown };
}

const B64 = new Map(
  [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].map((c, i) => [c, i]),
);
const MAX_SEGMENTS = 2_000_000;

/** A source map's `mappings` as [generated line, generated column, source, original line, original column]
 * (all 0-based), or undefined when it is malformed. */
export function decodeMappings(mappings: string): [number, number, number, number, number][] | undefined {
  const out: [number, number, number, number, number][] = [];
  let src = 0;
  let oLine = 0;
  let oCol = 0;
  const lines = mappings.split(';');
  for (let g = 0; g < lines.length; g++) {
    let gCol = 0;
    for (const seg of lines[g]!.split(',')) {
      if (!seg) continue;
      const fields: number[] = [];
      let value = 0;
      let shift = 0;
      for (const c of seg) {
        const d = B64.get(c);
        if (d === undefined || shift > 30) return undefined;
        value += (d & 31) << shift;
        if (d & 32) shift += 5;
        else {
          fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      if (shift !== 0 || (fields.length !== 1 && fields.length !== 4 && fields.length !== 5))
        return undefined;
      gCol += fields[0]!;
      if (fields.length === 1) continue; // a generated position mapped to no source
      src += fields[1]!;
      oLine += fields[2]!;
      oCol += fields[3]!;
      if (gCol < 0 || src < 0 || oLine < 0 || oCol < 0 || out.length >= MAX_SEGMENTS) return undefined;
      out.push([g, gCol, src, oLine, oCol]);
    }
  }
  return out;
}

/**
 * The lines of `source` run and not run, for a module V8 ran after a transform that left a source map
 * (tsx, ts-node, a `--require` hook). A line counts when it holds code and the map maps generated code to it
 * (type-only lines map to nothing); it runs when the innermost range at the generated position of its first
 * mapped token has a count above 0. Undefined when the map does not fit the ranges.
 */
export function v8MappedLineCoverage(
  source: string,
  functions: readonly V8Function[],
  map: V8SourceMap,
  url: string,
): LineCoverage | undefined {
  const { lineLengths, data } = map;
  if (!Array.isArray(lineLengths) || !lineLengths.every((n) => Number.isInteger(n) && n >= 0))
    return undefined;
  if (typeof data?.mappings !== 'string' || !Array.isArray(data.sources)) return undefined;
  const starts: number[] = [];
  let at = 0;
  for (const n of lineLengths) {
    starts.push(at);
    at += n + 1;
  }
  const generatedLength = at - 1;
  const ranges = functions.flatMap((f) =>
    f.ranges.map((r) => [r.startOffset, r.endOffset, r.count] as const),
  );
  if (ranges.length > MAX_RANGES || !ranges.some(([s, e]) => s === 0 && e === generatedLength))
    return undefined;
  const root = typeof data.sourceRoot === 'string' ? data.sourceRoot : '';
  const resolve = (s: unknown) => {
    try {
      return new URL(`${root}${String(s)}`, url).href;
    } catch {
      return undefined;
    }
  };
  const own = new Set(data.sources.flatMap((s, i) => (resolve(s) === url ? [i] : [])));
  if (own.size === 0 && data.sources.length === 1) own.add(0);
  const segments = decodeMappings(data.mappings);
  if (!segments) return undefined;
  // Per original line (1-based): the generated offset of its leftmost mapped token.
  const first = new Map<number, [number, number]>();
  for (const [g, gCol, src, oLine, oCol] of segments) {
    if (!own.has(src) || g >= starts.length) continue;
    const prev = first.get(oLine + 1);
    if (!prev || oCol < prev[0]) first.set(oLine + 1, [oCol, starts[g]! + gCol]);
  }
  const executed = new Set<number>();
  const missing = new Set<number>();
  const lines = [...codeLines(source).keys()].flatMap((line) => {
    const hit = first.get(line);
    return hit ? [[line, hit[1]] as const] : [];
  });
  const count = innermostCounts(
    lines.map(([, at]) => at),
    ranges,
  );
  for (const [i, [line]] of lines.entries()) ((count[i] ?? 0) > 0 ? executed : missing).add(line);
  return { executed, missing };
}
