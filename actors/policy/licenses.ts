// License check of the dependencies a patch adds or changes: each resolved to an SPDX expression (the bundle's
// offline map, else the lockfile, else the installed package's metadata) and checked against allow/deny lists.
import parseSpdx, { type LicenseLeaf, type LicenseNode } from 'spdx-expression-parse';
import satisfies from 'spdx-satisfies';
import type { DependencyChange, LicensePolicy } from '../../schemas/index.ts';
import { normalizePypi, type Read } from './deps.ts';

export type LicenseRuleId = 'license-denied' | 'license-not-allowed' | 'license-unknown';

export interface LicenseVerdict {
  ruleId: LicenseRuleId;
  message: string;
}

/** The key of a package in the bundle's license map: `npm:left-pad`, `PyPI:requests`, `Go:golang.org/x/net`. */
export const licenseMapKey = (d: Pick<DependencyChange, 'ecosystem' | 'name'>): string =>
  `${d.ecosystem}:${d.name}`;

/** A license string as package metadata writes it, as an SPDX expression, or undefined when it is not one. */
export function spdxOf(value: unknown): string | undefined {
  const raw =
    typeof value === 'string'
      ? value
      : Array.isArray(value)
        ? value
            .map((v) => spdxOf(v))
            .filter(Boolean)
            .join(' OR ')
        : typeof value === 'object' && value && 'type' in value
          ? spdxOf((value as { type: unknown }).type)
          : undefined;
  if (!raw) return undefined;
  const expr = raw.trim().replace(/^\((.*)\)$/, '$1');
  try {
    parseSpdx(expr);
    return expr;
  } catch {
    return undefined;
  }
}

/** Lists a directory of the repository's checkout (entry names), or undefined when it is not one there. */
export type List = (dir: string) => Promise<string[] | undefined>;

async function installedLicense(
  d: DependencyChange,
  read: Read,
  list: List | undefined,
): Promise<string | undefined> {
  if (d.ecosystem === 'PyPI') return pythonInstalledLicense(d, read, list);
  if (d.ecosystem !== 'npm') return undefined;
  const text = await read(`node_modules/${d.name}/package.json`);
  if (!text) return undefined;
  try {
    const j = JSON.parse(text) as { license?: unknown; licenses?: unknown };
    return spdxOf(j.license ?? j.licenses);
  } catch {
    return undefined;
  }
}

/** Trove classifiers (`License :: ...`) that name one SPDX license. "BSD License" names none (2 or 3 clauses). */
const CLASSIFIERS: Record<string, string> = {
  'MIT License': 'MIT',
  'MIT No Attribution License (MIT-0)': 'MIT-0',
  'Apache Software License': 'Apache-2.0',
  'ISC License (ISCL)': 'ISC',
  'Mozilla Public License 2.0 (MPL 2.0)': 'MPL-2.0',
  'Python Software Foundation License': 'PSF-2.0',
  'The Unlicense (Unlicense)': 'Unlicense',
  'GNU General Public License v2 (GPLv2)': 'GPL-2.0-only',
  'GNU General Public License v2 or later (GPLv2+)': 'GPL-2.0-or-later',
  'GNU General Public License v3 (GPLv3)': 'GPL-3.0-only',
  'GNU General Public License v3 or later (GPLv3+)': 'GPL-3.0-or-later',
  'GNU Lesser General Public License v2 (LGPLv2)': 'LGPL-2.0-only',
  'GNU Lesser General Public License v2 or later (LGPLv2+)': 'LGPL-2.0-or-later',
  'GNU Lesser General Public License v3 (LGPLv3)': 'LGPL-3.0-only',
  'GNU Lesser General Public License v3 or later (LGPLv3+)': 'LGPL-3.0-or-later',
  'GNU Affero General Public License v3': 'AGPL-3.0-only',
  'GNU Affero General Public License v3 or later (AGPLv3+)': 'AGPL-3.0-or-later',
};

/**
 * The SPDX expression of a Python distribution's core metadata (`METADATA` / `PKG-INFO` headers):
 * `License-Expression` (PEP 639), else a `License` field that is an SPDX expression, else its license
 * classifiers (several: any of them, `OR`).
 */
export function pythonMetadataLicense(metadata: string): string | undefined {
  const head = metadata.split(/\r?\n\r?\n/, 1)[0] ?? '';
  const field = (name: string) =>
    [...head.matchAll(new RegExp(`^${name}:[ \\t]*(.+)$`, 'gim'))].map((m) => m[1]!.trim());
  const expr = spdxOf(field('License-Expression')[0]);
  if (expr) return expr;
  const license = spdxOf(field('License')[0]);
  if (license) return license;
  const ids = field('Classifier')
    .map((c) => /^License :: (?:OSI Approved :: )?(.+)$/.exec(c)?.[1])
    .map((c) => (c ? CLASSIFIERS[c] : undefined))
    .filter((c): c is string => Boolean(c));
  return ids.length ? spdxOf([...new Set(ids)].join(' OR ')) : undefined;
}

const VENVS = ['.venv', 'venv', 'env'];

/**
 * A Python dependency's license from the repository's own virtual environment (`.venv`, `venv` or `env`,
 * its Python version from `pyvenv.cfg`): `site-packages/<name>-<version>.dist-info/METADATA` for the exact
 * version the patch pins. Undefined without an exact version or an installed copy.
 */
async function pythonInstalledLicense(
  d: DependencyChange,
  read: Read,
  list: List | undefined,
): Promise<string | undefined> {
  if (!d.version || !/^[\w.+!-]+$/.test(d.version) || !/^[\w.-]+$/.test(d.name)) return undefined;
  for (const venv of VENVS) {
    const cfg = await read(`${venv}/pyvenv.cfg`);
    const v = cfg && /^\s*(?:version|version_info)\s*=\s*(\d+)\.(\d+)/m.exec(cfg);
    if (!v) continue;
    const site = `${venv}/lib/python${v[1]}.${v[2]}/site-packages`;
    // A dist-info directory keeps the project's own spelling (`PyYAML-6.0.1.dist-info`): matched by its
    // normalised name when the directory can be listed, else the two usual spellings are tried.
    const listed = (await list?.(site))?.filter((e) => {
      const m = /^(.+)-([^-]+)\.dist-info$/.exec(e);
      return m && normalizePypi(m[1]!) === normalizePypi(d.name) && m[2] === d.version;
    });
    const names = listed ?? [
      ...new Set(
        [d.name, d.name.toLowerCase().replace(/[-_.]+/g, '_')].map(
          (n) => `${n.replace(/-/g, '_')}-${d.version}.dist-info`,
        ),
      ),
    ];
    for (const dir of names) {
      const meta = await read(`${site}/${dir}/METADATA`);
      const license = meta ? pythonMetadataLicense(meta) : undefined;
      if (license) return license;
    }
  }
  return undefined;
}

/** Fills `license`/`licenseSource` of each dependency it can resolve. */
export async function resolveLicenses(
  deps: readonly (DependencyChange & { lockLicense?: string })[],
  policy: LicensePolicy,
  /** Reads installed packages' metadata (`node_modules/<name>/package.json`, a venv's `site-packages`). */
  read: Read,
  list?: List,
): Promise<DependencyChange[]> {
  const out: DependencyChange[] = [];
  for (const { lockLicense, ...d } of deps) {
    const mapped = spdxOf(policy.map[licenseMapKey(d)]);
    const locked = spdxOf(lockLicense);
    const installed = mapped || locked ? undefined : await installedLicense(d, read, list);
    const license = mapped ?? locked ?? installed;
    const licenseSource = mapped ? 'map' : locked ? 'lockfile' : installed ? 'installed' : undefined;
    out.push({ ...d, ...(license && { license, licenseSource }) });
  }
  return out;
}

function leaf(n: LicenseLeaf): string {
  return `${n.license}${n.plus ? '+' : ''}${n.exception ? ` WITH ${n.exception}` : ''}`;
}

/** The expression in disjunctive normal form: each alternative is the licenses one must accept together. */
function alternatives(n: LicenseNode): string[][] {
  if ('license' in n) return [[leaf(n)]];
  const l = alternatives(n.left);
  const r = alternatives(n.right);
  if (n.conjunction === 'or') return [...l, ...r];
  return l.flatMap((a) => r.map((b) => [...a, ...b]));
}

const within = (license: string, list: readonly string[]): boolean => {
  try {
    return satisfies(license, [...list]);
  } catch {
    return list.includes(license);
  }
};

/**
 * The verdict on one SPDX expression; undefined when it passes. Denied: no way to use the package without a
 * denied license. Not allowed: with an allowlist, no way to use it with allowed licenses alone.
 *
 * @example
 * checkLicense('GPL-3.0-only', { allow: ['MIT'], deny: [], map: {} }) // { ruleId: 'license-not-allowed', ... }
 * checkLicense('MIT OR GPL-3.0-only', { allow: ['MIT'], deny: ['GPL-3.0-only'], map: {} }) // undefined
 */
export function checkLicense(
  expression: string | undefined,
  policy: LicensePolicy,
): LicenseVerdict | undefined {
  if (!expression) return { ruleId: 'license-unknown', message: 'no SPDX license could be resolved' };
  let tree: LicenseNode;
  try {
    tree = parseSpdx(expression);
  } catch {
    return { ruleId: 'license-unknown', message: `"${expression}" is not an SPDX expression` };
  }
  const alts = alternatives(tree);
  if (policy.deny.length > 0 && alts.every((a) => a.some((l) => within(l, policy.deny))))
    return { ruleId: 'license-denied', message: `${expression} is denied by the policy` };
  if (policy.allow && !alts.some((a) => a.every((l) => within(l, policy.allow!))))
    return {
      ruleId: 'license-not-allowed',
      message: `${expression} is not in the allowed licenses (${policy.allow.join(', ')})`,
    };
  return undefined;
}
