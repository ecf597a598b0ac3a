// Reads an issue text for what it names: file paths, traceback frames, dotted modules (`django.db.models.query`)
// and code identifiers (`QuerySet.order_by`, `get_queryset()`), and maps each to the files of the index.
import type { ModuleResolver } from './imports.ts';

export interface MentionIndex {
  /** basename → paths with that basename */
  byBasename: Map<string, string[]>;
  resolver: ModuleResolver;
  /** symbol → paths defining it */
  defs: Map<string, string[]>;
}

export interface Mentions {
  /** Files named by a written path (`django/db/models/query.py`), weight in (0, 1] per mention, summed. */
  paths: Map<string, number>;
  /** Module files named by a dotted name (`django.db.models.query`, `from x.y import z`). */
  modules: Map<string, number>;
  /** Package `__init__` files named by a dotted name: usually an entry point, not the place of a fix. */
  packages: Map<string, number>;
  /** Files named in traceback frames; later frames weigh more. */
  frames: Map<string, number>;
  /** Files defining identifiers the text uses, weighted by how specific and code-like the name is. */
  symbols: Map<string, number>;
  /** The part of `symbols` from code-like names (snake_case, camelCase, in backticks or code blocks). */
  codeSymbols: Map<string, number>;
  /** Files defining a qualified name the text uses (`QuerySet.order_by`). */
  qualified: Map<string, number>;
  /** Symbols named (plain and qualified), for ranking chunks. */
  symbolNames: Map<string, number>;
}

const PATH_RE =
  /(?:[\w.-]+[/\\])*[\w-]+\.(?:py|pyi|pyx|js|jsx|ts|tsx|mjs|go|java|cfg|toml|ini|rst|txt|json|ya?ml)\b/g;
const FRAME_RE = /File "([^"]+)", line (\d+)(?:, in (\w+))?/g;
const DOTTED_RE = /\b[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+\b/g;
const FROM_IMPORT_RE = /\bfrom\s+([A-Za-z_][\w.]*)\s+import\s+([\w, ]+)/g;
const IDENT_RE = /[A-Za-z_][A-Za-z0-9_]*/g;
const MAX_DEF_FILES = 12;

function add(map: Map<string, number>, key: string, w: number): void {
  map.set(key, (map.get(key) ?? 0) + w);
}

/** Paths a written path refers to: the files sharing the longest run of trailing segments with it. */
export function matchPath(index: MentionIndex, written: string): string[] {
  const segs = written
    .replace(/\\/g, '/')
    .split('/')
    .filter((s) => s && s !== '.');
  const base = segs[segs.length - 1];
  if (!base) return [];
  const candidates = index.byBasename.get(base);
  if (!candidates) return [];
  let best = 0;
  let hits: string[] = [];
  for (const path of candidates) {
    const ps = path.split('/');
    let k = 0;
    while (k < ps.length && k < segs.length && ps[ps.length - 1 - k] === segs[segs.length - 1 - k]) k++;
    if (k > best) {
      best = k;
      hits = [path];
    } else if (k === best) hits.push(path);
  }
  return hits;
}

/** Text inside backticks and fenced code blocks: identifiers there are code for sure. */
function codeSpans(text: string): string {
  const spans: string[] = [];
  for (const m of text.matchAll(/```[\s\S]*?```|`[^`\n]+`/g)) spans.push(m[0]);
  return spans.join('\n');
}

function isCodeLike(ident: string): boolean {
  return /[a-z0-9]_[a-zA-Z0-9]/.test(ident) || /[a-z][A-Z]/.test(ident) || /^_/.test(ident);
}

export function findMentions(index: MentionIndex, text: string): Mentions {
  const paths = new Map<string, number>();
  const modules = new Map<string, number>();
  const packages = new Map<string, number>();
  const frames = new Map<string, number>();
  const symbols = new Map<string, number>();
  const codeSymbols = new Map<string, number>();
  const qualified = new Map<string, number>();
  const symbolNames = new Map<string, number>();

  const frameMatches = [...text.matchAll(FRAME_RE)];
  frameMatches.forEach((m, i) => {
    const hits = matchPath(index, m[1]!);
    const w = (0.5 + (0.5 * (i + 1)) / frameMatches.length) / Math.max(1, hits.length);
    for (const p of hits) add(frames, p, w);
    if (m[3]) add(symbolNames, m[3], 1);
  });
  const withoutFrames = text.replace(FRAME_RE, ' ');
  for (const m of withoutFrames.matchAll(PATH_RE)) {
    const hits = matchPath(index, m[0]);
    if (hits.length > 0 && hits.length <= 5) for (const p of hits) add(paths, p, 1 / hits.length);
  }

  const dotted = [...text.matchAll(DOTTED_RE)].map((m) => m[0]);
  // `from a.b import c` names the module `a.b.c` when c is one.
  for (const m of text.matchAll(FROM_IMPORT_RE)) {
    for (const name of m[2]!.split(',')) {
      const n = name.trim().split(/\s+/)[0];
      if (n && /^\w+$/.test(n) && index.resolver.moduleCount(`${m[1]}.${n}`) > 0) dotted.push(`${m[1]}.${n}`);
    }
  }
  for (const name of dotted) {
    const parts = name.split('.');
    for (let n = parts.length; n >= 2; n--) {
      const name = parts.slice(0, n).join('.');
      const files = index.resolver.module(name);
      if (files.length === 0 || files.length > 3) continue;
      for (const f of files) add(/(^|\/)__init__\.pyi?$/.test(f) ? packages : modules, f, 1 / files.length);
      const rest = parts.slice(n);
      for (let k = 0; k < rest.length; k++) add(symbolNames, rest.slice(k).join('.'), 1);
      break;
    }
    for (let k = 0; k + 1 < parts.length; k++) {
      const name = `${parts[k]}.${parts[k + 1]}`;
      const owners = index.defs.get(name);
      if (owners && owners.length <= MAX_DEF_FILES) {
        for (const f of owners) add(qualified, f, 1 / owners.length);
        add(symbolNames, name, 2);
      }
    }
  }

  const code = new Set<string>();
  for (const m of codeSpans(text).matchAll(IDENT_RE)) code.add(m[0]);
  const counts = new Map<string, number>();
  for (const m of text.matchAll(IDENT_RE)) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
  for (const [ident, count] of counts) {
    if (ident.length < 3) continue;
    const owners = index.defs.get(ident);
    if (!owners || owners.length > MAX_DEF_FILES) continue;
    const strength = isCodeLike(ident) ? 1 : code.has(ident) ? 0.7 : /^[A-Z]/.test(ident) ? 0.4 : 0.1;
    const w = (strength * (1 + Math.log(count))) / owners.length;
    for (const f of owners) add(symbols, f, w);
    if (strength >= 0.7) for (const f of owners) add(codeSymbols, f, w);
    add(symbolNames, ident, strength);
  }
  return { paths, modules, packages, frames, symbols, codeSymbols, qualified, symbolNames };
}
