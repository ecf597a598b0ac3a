// License check of the dependencies a patch adds or changes: each resolved to an SPDX expression (the bundle's
// offline map, else the lockfile, else the installed package's metadata) and checked against allow/deny lists.
import parseSpdx, { type LicenseLeaf, type LicenseNode } from 'spdx-expression-parse';
import satisfies from 'spdx-satisfies';
import type { DependencyChange, LicensePolicy } from '../../schemas/index.ts';
import type { Read } from './deps.ts';

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

async function installedLicense(d: DependencyChange, read: Read): Promise<string | undefined> {
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

/** Fills `license`/`licenseSource` of each dependency it can resolve. */
export async function resolveLicenses(
  deps: readonly (DependencyChange & { lockLicense?: string })[],
  policy: LicensePolicy,
  /** Reads installed packages' metadata (`node_modules/<name>/package.json`). */
  read: Read,
): Promise<DependencyChange[]> {
  const out: DependencyChange[] = [];
  for (const { lockLicense, ...d } of deps) {
    const mapped = spdxOf(policy.map[licenseMapKey(d)]);
    const locked = spdxOf(lockLicense);
    const installed = mapped || locked ? undefined : await installedLicense(d, read);
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
