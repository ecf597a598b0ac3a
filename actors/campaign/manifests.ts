// What a repository publishes and depends on, from its manifests at a commit (read from git objects, never the
// work tree): package.json, pyproject.toml / requirements*.txt, go.mod. Package names are namespaced by
// ecosystem (`npm:`, `py:`, `go:`) so that an npm and a PyPI package of the same name never link two repos.
import { git } from '../runtime/git.ts';

export interface Manifest {
  /** Packages this repository publishes. */
  provides: string[];
  /** Packages it depends on (any kind: runtime, dev, peer, optional). */
  requires: string[];
  /** Version of each provided package, when the manifest states one. */
  versions: Record<string, string>;
}

const MANIFEST_FILES = [
  'package.json',
  'pyproject.toml',
  'requirements.txt',
  'requirements-dev.txt',
  'go.mod',
];
const MAX_BYTES = 1_000_000;

/** PEP 503 normalized name. */
const pyName = (n: string) => n.toLowerCase().replace(/[-_.]+/g, '-');

export function parsePackageJson(text: string, m: Manifest): void {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    return;
  }
  if (!j || typeof j !== 'object') return;
  const o = j as Record<string, unknown>;
  if (typeof o.name === 'string' && o.name) {
    m.provides.push(`npm:${o.name}`);
    if (typeof o.version === 'string') m.versions[`npm:${o.name}`] = o.version;
  }
  for (const k of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies']) {
    const deps = o[k];
    if (deps && typeof deps === 'object')
      for (const name of Object.keys(deps as Record<string, unknown>)) m.requires.push(`npm:${name}`);
  }
}

/** The requirement's distribution name (`foo[extra]>=1; python_version<"3"` → foo). */
function requirementName(line: string): string | undefined {
  const t = line.replace(/#.*/, '').trim();
  if (!t || t.startsWith('-')) return undefined;
  const name = /^([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(t)?.[1];
  return name ? pyName(name) : undefined;
}

export function parseRequirements(text: string, m: Manifest): void {
  for (const line of text.split('\n')) {
    const n = requirementName(line);
    if (n) m.requires.push(`py:${n}`);
  }
}

/** A small TOML reader for what matters here: `[project]` name/version/dependencies and Poetry's tables. */
export function parsePyproject(text: string, m: Manifest): void {
  let table = '';
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\s+#.*$/, '').trim();
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      table = header[1]!.trim();
      continue;
    }
    const kv = /^([A-Za-z0-9_.-]+)\s*=\s*(.*)$/.exec(line);
    if (!kv) continue;
    const [, key, rest] = kv as unknown as [string, string, string];
    const str = /^["']([^"']*)["']/.exec(rest)?.[1];
    if ((table === 'project' || table === 'tool.poetry') && key === 'name' && str) {
      m.provides.push(`py:${pyName(str)}`);
      const version = versionIn(lines, table);
      if (version) m.versions[`py:${pyName(str)}`] = version;
    }
    if ((table === 'project' && key === 'dependencies') || table === 'project.optional-dependencies') {
      // An array, possibly over several lines.
      let arr = rest;
      while (!arr.includes(']') && i + 1 < lines.length) arr += `\n${lines[++i]}`;
      for (const q of arr.matchAll(/["']([^"']+)["']/g)) {
        const n = requirementName(q[1]!);
        if (n) m.requires.push(`py:${n}`);
      }
    }
    if (/^tool\.poetry\.(dev-)?dependencies$|^tool\.poetry\.group\.[^.]+\.dependencies$/.test(table))
      if (key.toLowerCase() !== 'python') m.requires.push(`py:${pyName(key)}`);
  }
}

function versionIn(lines: string[], table: string): string | undefined {
  let t = '';
  for (const raw of lines) {
    const line = raw.trim();
    const h = /^\[([^\]]+)\]$/.exec(line);
    if (h) t = h[1]!.trim();
    else if (t === table) {
      const v = /^version\s*=\s*["']([^"']+)["']/.exec(line)?.[1];
      if (v) return v;
    }
  }
  return undefined;
}

export function parseGoMod(text: string, m: Manifest): void {
  let inRequire = false;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\/\/.*$/, '').trim();
    const mod = /^module\s+(\S+)/.exec(line)?.[1];
    if (mod) m.provides.push(`go:${mod.replace(/^"|"$/g, '')}`);
    if (/^require\s*\($/.test(line)) {
      inRequire = true;
      continue;
    }
    if (inRequire && line === ')') {
      inRequire = false;
      continue;
    }
    const req = inRequire ? /^(\S+)\s+\S+/.exec(line)?.[1] : /^require\s+(\S+)\s+\S+/.exec(line)?.[1];
    if (req) m.requires.push(`go:${req}`);
  }
}

/** Reads the manifests of `repo` at `commit` (default HEAD). Missing files are skipped. */
export async function readManifest(repo: string, commit = 'HEAD'): Promise<Manifest> {
  const m: Manifest = { provides: [], requires: [], versions: {} };
  for (const file of MANIFEST_FILES) {
    const r = await git(repo, ['show', `${commit}:${file}`], { allowFail: true });
    if (r.exitCode !== 0 || r.stdout.length > MAX_BYTES) continue;
    if (file === 'package.json') parsePackageJson(r.stdout, m);
    else if (file === 'pyproject.toml') parsePyproject(r.stdout, m);
    else if (file === 'go.mod') parseGoMod(r.stdout, m);
    else parseRequirements(r.stdout, m);
  }
  m.provides = [...new Set(m.provides)];
  m.requires = [...new Set(m.requires)].filter((p) => !m.provides.includes(p));
  return m;
}

export interface GraphNode {
  id: string;
  provides: string[];
  requires: string[];
}

/**
 * Upstream repositories of each node: a repository whose package another one depends on is upstream of it.
 * Throws with the repositories of a cycle, which no order can satisfy.
 */
export function dependencyGraph(nodes: GraphNode[]): Map<string, string[]> {
  const owner = new Map<string, string>();
  for (const n of nodes) for (const p of n.provides) if (!owner.has(p)) owner.set(p, n.id);
  const upstream = new Map<string, string[]>();
  for (const n of nodes) {
    const ups = new Set<string>();
    for (const r of n.requires) {
      const o = owner.get(r);
      if (o && o !== n.id) ups.add(o);
    }
    upstream.set(n.id, [...ups].sort());
  }
  // Kahn: what is left unordered is on (or behind) a cycle.
  const done = new Set<string>();
  let progress = true;
  while (progress) {
    progress = false;
    for (const n of nodes)
      if (!done.has(n.id) && upstream.get(n.id)!.every((u) => done.has(u))) {
        done.add(n.id);
        progress = true;
      }
  }
  const stuck = nodes.filter((n) => !done.has(n.id)).map((n) => n.id);
  if (stuck.length) throw new DependencyCycleError(stuck);
  return upstream;
}

export class DependencyCycleError extends Error {
  constructor(readonly repoIds: string[]) {
    super(`the repositories' manifests depend on each other in a cycle: ${repoIds.join(', ')}`);
    this.name = 'DependencyCycleError';
  }
}

/** The ecosystems a repository's top-level files at `commit` show (`lang:` of a campaign's repository query). */
export async function languagesOf(repo: string, commit = 'HEAD'): Promise<Set<string>> {
  const r = await git(repo, ['ls-tree', '--name-only', commit], { allowFail: true });
  const files = new Set(r.exitCode === 0 ? r.stdout.split('\n').filter(Boolean) : []);
  const langs = new Set<string>();
  if (files.has('package.json')) langs.add('node');
  if (
    ['pyproject.toml', 'setup.py', 'setup.cfg'].some((f) => files.has(f)) ||
    [...files].some((f) => /^requirements.*\.txt$/.test(f))
  )
    langs.add('python');
  if (files.has('go.mod')) langs.add('go');
  return langs;
}
