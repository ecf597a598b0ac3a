// Offline vulnerability data: an OSV bundle imported into the state dir (`codemesh policy update --bundle`),
// and the check of a dependency version against it.
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type DependencyChange, OsvRecord, type PolicySeverity } from '../../schemas/index.ts';
import { PolicyBundleError } from './bundle.ts';
import { normalizePypi } from './deps.ts';

/** Where the imported OSV records live under the state dir. */
export const osvPath = (dataDir: string): string => join(dataDir, 'policy', 'osv.json');

export interface Advisory {
  id: string;
  summary?: string;
  severity: PolicySeverity;
  /** The lowest fixed version above the dependency's, when the record names one. */
  fixed?: string;
}

/**
 * Compares two versions (semver, PEP 440 release numbers, Go `v` versions): numeric segments numerically,
 * a pre-release (`-rc1`, `a1`, `.dev0`) before its release. Enough for OSV ranges of these ecosystems.
 */
export function compareVersions(a: string, b: string): number {
  const split = (v: string) => {
    const s = v.replace(/^v/, '').split('+')[0]!;
    const m = /^(\d+(?:\.\d+)*)(.*)$/.exec(s);
    return { nums: (m?.[1] ?? '0').split('.').map(Number), pre: (m?.[2] ?? s).replace(/^[-.]/, '') };
  };
  const x = split(a);
  const y = split(b);
  for (let i = 0; i < Math.max(x.nums.length, y.nums.length); i++) {
    const d = (x.nums[i] ?? 0) - (y.nums[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  if (x.pre === y.pre) return 0;
  if (!x.pre) return /^post/.test(y.pre) ? -1 : 1;
  if (!y.pre) return /^post/.test(x.pre) ? 1 : -1;
  return x.pre.localeCompare(y.pre, 'en', { numeric: true });
}

function parseRecords(text: string, source: string): OsvRecord[] {
  let raw: unknown[];
  const t = text.trim();
  try {
    if (t.startsWith('[')) raw = JSON.parse(t) as unknown[];
    else if (t.startsWith('{') && !t.includes('\n{')) {
      const j = JSON.parse(t) as { vulns?: unknown[] };
      raw = Array.isArray(j.vulns) ? j.vulns : [j];
    } else
      raw = t
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as unknown);
  } catch (err) {
    throw new PolicyBundleError(
      `${source}: not OSV JSON (an array, {"vulns": [...]}, or one record a line): ${(err as Error).message}`,
    );
  }
  return raw.map((r, i) => {
    const p = OsvRecord.safeParse(r);
    if (!p.success)
      throw new PolicyBundleError(
        `${source}: record ${i}: ${p.error.issues[0]!.path.join('.')}: ${p.error.issues[0]!.message}`,
      );
    return p.data;
  });
}

/** Imports an OSV bundle file into the state dir, replacing the previous one; returns how many records. */
export async function importOsvBundle(
  file: string,
  dataDir: string,
): Promise<{ records: number; path: string }> {
  const records = parseRecords(await readFile(file, 'utf8'), file);
  const path = osvPath(dataDir);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(`${path}.tmp`, JSON.stringify(records));
  await rename(`${path}.tmp`, path);
  return { records: records.length, path };
}

// An OSV export can be large: parsed once per import (keyed by the file's mtime and size), not once per patch.
const loaded = new Map<string, { stamp: string; records: OsvRecord[] }>();

/** The imported records; undefined when no bundle was imported. */
export async function loadOsv(dataDir: string): Promise<OsvRecord[] | undefined> {
  const path = osvPath(dataDir);
  const st = await stat(path).catch(() => undefined);
  if (!st) return undefined;
  const stamp = `${st.mtimeMs}:${st.size}`;
  const hit = loaded.get(path);
  if (hit?.stamp === stamp) return hit.records;
  const records = parseRecords(await readFile(path, 'utf8'), path);
  loaded.set(path, { stamp, records });
  return records;
}

const sameName = (ecosystem: string, a: string, b: string) =>
  ecosystem === 'PyPI' ? normalizePypi(a) === normalizePypi(b) : a === b;

function severityOf(r: OsvRecord): PolicySeverity {
  const s = String(r.database_specific?.severity ?? '').toUpperCase();
  if (s === 'CRITICAL') return 'critical';
  if (s === 'HIGH') return 'high';
  if (s === 'MODERATE' || s === 'MEDIUM') return 'medium';
  if (s === 'LOW') return 'low';
  return 'high';
}

/** Whether `version` falls in one OSV range (events in version order; introduced opens, fixed/limit close). */
function inRange(
  version: string,
  events: NonNullable<OsvRecord['affected'][number]['ranges']>,
): { hit: boolean; fixed?: string } {
  let hit = false;
  let fixed: string | undefined;
  for (const range of events) {
    if (range.type === 'GIT') continue;
    let introduced: string | undefined;
    for (const e of range.events) {
      if (e.introduced !== undefined) introduced = e.introduced;
      const end = e.fixed ?? e.last_affected ?? e.limit;
      if (end === undefined) continue;
      const open =
        introduced === '0' || (introduced !== undefined && compareVersions(version, introduced) >= 0);
      const below = e.last_affected ? compareVersions(version, end) <= 0 : compareVersions(version, end) < 0;
      if (introduced !== undefined && open && below) {
        hit = true;
        if (e.fixed && (!fixed || compareVersions(e.fixed, fixed) < 0)) fixed = e.fixed;
      }
      introduced = undefined;
    }
    if (introduced !== undefined && (introduced === '0' || compareVersions(version, introduced) >= 0))
      hit = true;
  }
  return { hit, ...(fixed && { fixed }) };
}

/** The advisories that affect a dependency's exact version (none without one). */
export function advisoriesFor(
  dep: Pick<DependencyChange, 'ecosystem' | 'name' | 'version'>,
  records: readonly OsvRecord[],
): Advisory[] {
  if (!dep.version) return [];
  const out: Advisory[] = [];
  for (const r of records) {
    for (const a of r.affected) {
      if (a.package.ecosystem !== dep.ecosystem || !sameName(dep.ecosystem, a.package.name, dep.name))
        continue;
      const listed = a.versions?.some((v) => compareVersions(v, dep.version!) === 0) ?? false;
      const range = inRange(dep.version, a.ranges ?? []);
      if (!listed && !range.hit) continue;
      out.push({
        id: r.id,
        ...(r.summary && { summary: r.summary }),
        severity: severityOf(r),
        ...(range.fixed && { fixed: range.fixed }),
      });
      break;
    }
  }
  return out;
}
