// The dependencies a patch adds or changes, read from the manifests and lockfiles it touches (package.json,
// package-lock.json, requirements*.txt, pyproject.toml, go.mod): only entries on added lines count.
import type { DependencyChange } from '../../schemas/index.ts';
import { type ChangedFile, lineKey } from './diff-files.ts';

export type Read = (path: string) => Promise<string | undefined>;
type Dep = Omit<DependencyChange, 'license' | 'licenseSource'> & { lockLicense?: string };

/** PEP 503 name normalisation: how PyPI (and OSV) compare names. */
export const normalizePypi = (name: string): string => name.toLowerCase().replace(/[-_.]+/g, '-');

/** A line the patch adds that was not just moved or given a trailing comma. */
const isNew = (f: ChangedFile, lineNo: number, text: string): boolean =>
  f.added.has(lineNo) && !f.removed.has(lineKey(text));

const dirOf = (p: string) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/') + 1) : '');
const baseOf = (p: string) => p.slice(p.lastIndexOf('/') + 1);
const EXACT = /^v?\d+(\.\d+)*([-+.][0-9A-Za-z.+-]+)?$/;

interface LockEntry {
  version?: string;
  license?: string;
}

function lockPackages(text: string | undefined): Record<string, LockEntry> {
  if (!text) return {};
  try {
    const j = JSON.parse(text) as { packages?: Record<string, LockEntry> };
    return j.packages ?? {};
  } catch {
    return {};
  }
}

function fromPackageJson(f: ChangedFile, text: string, lock: Record<string, LockEntry>): Dep[] {
  const out: Dep[] = [];
  const lines = text.split('\n');
  let inSection = false;
  for (const [i, l] of lines.entries()) {
    if (/^\s*"(dependencies|devDependencies|optionalDependencies|peerDependencies)"\s*:\s*\{/.test(l)) {
      inSection = !/\}/.test(l);
      continue;
    }
    if (!inSection) continue;
    if (/^\s*\}/.test(l)) {
      inSection = false;
      continue;
    }
    const m = /^\s*"([^"]+)"\s*:\s*"([^"]*)"/.exec(l);
    if (!m || !isNew(f, i + 1, l)) continue;
    const [, name, spec] = m as unknown as [string, string, string];
    const locked = lock[`node_modules/${name}`];
    const version = EXACT.test(spec) ? spec : locked?.version;
    out.push({
      ecosystem: 'npm',
      name,
      spec,
      ...(version && { version }),
      file: f.path,
      line: i + 1,
      ...(locked?.license && { lockLicense: locked.license }),
    });
  }
  return out;
}

function fromPackageLock(f: ChangedFile, text: string): Dep[] {
  const packages = lockPackages(text);
  const out = new Map<string, Dep>();
  let key: string | undefined;
  let keyLine = 0;
  for (const [i, l] of text.split('\n').entries()) {
    const k = /^\s*"((?:[^"]*\/)?node_modules\/[^"]+)"\s*:\s*\{/.exec(l);
    if (k) {
      key = k[1];
      keyLine = i + 1;
    }
    // The entry is new (its key line is added) or its version changed; a `}` that gained a comma is neither.
    if (!key || !(k || /^\s*"version"\s*:/.test(l)) || !isNew(f, i + 1, l) || out.has(key)) continue;
    const entry = packages[key];
    if (!entry?.version) continue;
    out.set(key, {
      ecosystem: 'npm',
      name: key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length),
      version: entry.version,
      file: f.path,
      line: keyLine,
      ...(entry.license && { lockLicense: entry.license }),
    });
  }
  return [...out.values()];
}

const PEP508 = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(===|==|>=|<=|~=|!=|>|<)?\s*([^\s;#,"']*)/;

function pypiDep(f: ChangedFile, line: number, req: string): Dep | undefined {
  const m = PEP508.exec(req);
  if (!m) return undefined;
  const [, name, , op, ver] = m;
  return {
    ecosystem: 'PyPI',
    name: normalizePypi(name!),
    ...(op && ver && { spec: `${op}${ver}` }),
    ...((op === '==' || op === '===') && ver && !ver.includes('*') && { version: ver }),
    file: f.path,
    line,
  };
}

function fromRequirements(f: ChangedFile, text: string): Dep[] {
  const out: Dep[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const l = raw.replace(/\s+#.*$/, '').trim();
    if (!isNew(f, i + 1, raw) || !l || l.startsWith('#') || l.startsWith('-')) continue;
    const d = pypiDep(f, i + 1, l);
    if (d) out.push(d);
  }
  return out;
}

const PEP621_TABLES = new Set([
  'project',
  'project.optional-dependencies',
  'dependency-groups',
  'build-system',
]);

function fromPyproject(f: ChangedFile, text: string): Dep[] {
  const out: Dep[] = [];
  let table = '';
  let inArray = false;
  for (const [i, l] of text.split('\n').entries()) {
    const added = isNew(f, i + 1, l);
    const t = /^\s*\[([^\]]+)\]\s*$/.exec(l);
    if (t) {
      table = t[1]!.trim();
      inArray = false;
      continue;
    }
    if (/^tool\.poetry\.(group\.[^.]+\.)?(dev-)?dependencies$/.test(table)) {
      const m = /^\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"([^"]*)"|\{.*?version\s*=\s*"([^"]*)")/.exec(l);
      if (!added || !m || m[1]!.toLowerCase() === 'python') continue;
      const spec = m[2] ?? m[3] ?? '';
      out.push({
        ecosystem: 'PyPI',
        name: normalizePypi(m[1]!),
        spec,
        ...(EXACT.test(spec) && { version: spec }),
        file: f.path,
        line: i + 1,
      });
      continue;
    }
    let rest = l;
    const open = /^\s*[A-Za-z0-9_-]+\s*=\s*\[/.exec(l);
    if (open && PEP621_TABLES.has(table)) {
      inArray = true;
      rest = l.slice(open[0].length);
    }
    if (!inArray) continue;
    if (added)
      for (const q of rest.matchAll(/"([^"]+)"/g)) {
        const d = pypiDep(f, i + 1, q[1]!);
        if (d) out.push(d);
      }
    if (rest.replace(/"[^"]*"/g, '').includes(']')) inArray = false;
  }
  return out;
}

function fromGoMod(f: ChangedFile, text: string): Dep[] {
  const out: Dep[] = [];
  let block = '';
  for (const [i, l] of text.split('\n').entries()) {
    const open = /^\s*(require|replace|exclude|retract)\s*\(\s*$/.exec(l);
    if (open) {
      block = open[1]!;
      continue;
    }
    if (/^\s*\)\s*$/.test(l)) {
      block = '';
      continue;
    }
    if (!isNew(f, i + 1, l) || l.includes('=>')) continue;
    const m = block === 'require' ? /^\s*(\S+)\s+(v\S+)/.exec(l) : /^\s*require\s+(\S+)\s+(v\S+)/.exec(l);
    if (!m) continue;
    out.push({ ecosystem: 'Go', name: m[1]!, version: m[2]!, file: f.path, line: i + 1 });
  }
  return out;
}

/**
 * The dependencies on the patch's added lines. A package.json entry takes its exact version from the lockfile
 * beside it when its spec is a range; lockfile entries the manifest does not list (transitive ones) are kept.
 */
export async function dependencyChanges(files: readonly ChangedFile[], read: Read): Promise<Dep[]> {
  const out: Dep[] = [];
  const seen = new Set<string>();
  const push = (d: Dep) => {
    const key = `${d.ecosystem}:${d.name}@${d.version ?? d.spec ?? ''}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(d);
  };
  // Manifests before lockfiles, so an entry is reported where a human wrote it.
  const order = (p: string) => (baseOf(p) === 'package-lock.json' ? 1 : 0);
  for (const f of [...files].sort((a, b) => order(a.path) - order(b.path))) {
    const base = baseOf(f.path);
    const known =
      base === 'package.json' ||
      base === 'package-lock.json' ||
      /^requirements.*\.(txt|in)$/.test(base) ||
      base === 'pyproject.toml' ||
      base === 'go.mod';
    if (!known) continue;
    const text = await read(f.path);
    if (text === undefined) continue;
    if (base === 'package.json') {
      const lock = lockPackages(await read(`${dirOf(f.path)}package-lock.json`));
      fromPackageJson(f, text, lock).forEach(push);
    } else if (base === 'package-lock.json') fromPackageLock(f, text).forEach(push);
    else if (base === 'pyproject.toml') fromPyproject(f, text).forEach(push);
    else if (base === 'go.mod') fromGoMod(f, text).forEach(push);
    else fromRequirements(f, text).forEach(push);
  }
  return out;
}
