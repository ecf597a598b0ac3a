// Import extraction (Python, TS/JS) and resolution of module names and relative specifiers to files.
// Specs are stored per file as `mod:<dotted.name>` (absolute Python) or `path:<repo/relative/stem>`.
import type { Language } from './types.ts';

const PY_FROM = /^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]+)/gm;
const PY_IMPORT = /^[ \t]*import[ \t]+([\w., \t]+)/gm;
const JS_SPEC = /(?:\bfrom\s*|\brequire\s*\(\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"\n]+)['"]/gm;

function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

function joinPath(base: string, rel: string): string {
  const out = base ? base.split('/') : [];
  for (const seg of rel.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return out.join('/');
}

function pythonImports(path: string, text: string): string[] {
  const specs = new Set<string>();
  for (const m of text.matchAll(PY_FROM)) {
    const dots = m[1]!.length;
    const mod = m[2]!;
    const names = m[3]!
      .replace(/[()\\]/g, ' ')
      .split(',')
      .map((n) => n.trim().split(/\s+/)[0]!)
      .filter((n) => /^\w+$/.test(n));
    if (dots > 0) {
      let base = dirOf(path);
      for (let i = 1; i < dots; i++) base = dirOf(base);
      const stem = joinPath(base, mod.replace(/\./g, '/'));
      if (mod) specs.add(`path:${stem}`);
      for (const n of names) specs.add(`path:${stem ? `${stem}/` : ''}${n}`);
    } else if (mod) {
      specs.add(`mod:${mod}`);
      for (const n of names) specs.add(`mod:${mod}.${n}`);
    }
  }
  for (const m of text.matchAll(PY_IMPORT)) {
    for (const part of m[1]!.split(',')) {
      const name = part.trim().split(/\s+/)[0];
      if (name && /^[\w.]+$/.test(name)) specs.add(`mod:${name}`);
    }
  }
  return [...specs];
}

function jsImports(path: string, text: string): string[] {
  const specs = new Set<string>();
  for (const m of text.matchAll(JS_SPEC)) {
    const spec = m[1]!;
    if (!spec.startsWith('.')) continue;
    specs.add(`path:${joinPath(dirOf(path), spec).replace(/\.(js|ts|tsx|jsx|mjs|cjs|mts)$/, '')}`);
  }
  return [...specs];
}

/** Import specs of one file; other languages have none (their files still link through references). */
export function extractImports(path: string, language: Language, text: string): string[] {
  if (language === 'python') return pythonImports(path, text);
  if (language === 'typescript' || language === 'tsx' || language === 'javascript')
    return jsImports(path, text);
  return [];
}

const CODE_EXTS = ['.py', '.ts', '.tsx', '.js', '.jsx', '.mjs', '.cjs', '.mts', '.pyi'];

/** Maps dotted module names and extension-less stems to the files of one index. */
export class ModuleResolver {
  /** dotted suffix → [path, extra leading segments] */
  private readonly modules = new Map<string, Array<[string, number]>>();
  private readonly stems = new Map<string, string>();

  constructor(paths: Iterable<string>) {
    for (const path of paths) this.add(path);
  }

  add(path: string): void {
    const ext = CODE_EXTS.find((e) => path.endsWith(e));
    if (!ext) return;
    const stem = path.slice(0, -ext.length);
    const isIndex = /(^|\/)(__init__|index)$/.test(stem);
    if (!this.stems.has(stem)) this.stems.set(stem, path);
    if (isIndex && !this.stems.has(dirOf(stem))) this.stems.set(dirOf(stem), path);
    if (ext !== '.py' && ext !== '.pyi') return;
    const segs = (isIndex ? dirOf(stem) : stem).split('/').filter(Boolean);
    for (let i = 0; i < segs.length; i++) {
      const key = segs.slice(i).join('.');
      const list = this.modules.get(key) ?? [];
      list.push([path, i]);
      this.modules.set(key, list);
    }
  }

  /** Files of a dotted Python module name, preferring the registration with the fewest leading segments. */
  module(name: string): string[] {
    const list = this.modules.get(name);
    if (!list) return [];
    const min = Math.min(...list.map(([, extra]) => extra));
    return list.filter(([, extra]) => extra === min).map(([p]) => p);
  }

  /** How many files a dotted name could mean (ambiguity of a mention). */
  moduleCount(name: string): number {
    return this.modules.get(name)?.length ?? 0;
  }

  resolve(spec: string): string[] {
    if (spec.startsWith('mod:')) return this.module(spec.slice(4));
    if (spec.startsWith('path:')) {
      const hit = this.stems.get(spec.slice(5));
      return hit ? [hit] : [];
    }
    return [];
  }
}
