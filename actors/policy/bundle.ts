// Policy bundles: the default one shipped beside this file, an org's and a repository's YAML overlaid on it,
// validated with the zod schemas of `schemas/policy.ts`.
import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Blackboard } from '../../blackboard/index.ts';
import {
  keys,
  type LicensePolicy,
  OrgPolicyEntry,
  PolicyBundle,
  PolicyBundleFile,
  type PolicyRule,
  PolicyRule as PolicyRuleSchema,
} from '../../schemas/index.ts';
import { git } from '../runtime/git.ts';
import { sastRuleIds } from './sast.ts';

/** A policy bundle that is not valid YAML or breaks the schema; the message names the source and field. */
export class PolicyBundleError extends Error {
  override readonly name = 'PolicyBundleError';
  readonly code = 'POLICY_BUNDLE_INVALID' as const;
}

/** Where a repository keeps its bundle (read from the base commit's objects, never from a patched tree). */
export const REPO_POLICY_FILE = '.codemesh/policy.yml';
/** An org's bundle under the state dir. */
export const orgPolicyPath = (dataDir: string, orgId: string): string =>
  join(dataDir, 'policy', 'orgs', `${orgId}.yml`);

/** Parses one bundle file's text. */
export function parseBundleFile(text: string, source: string): PolicyBundleFile {
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    throw new PolicyBundleError(`${source}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const r = PolicyBundleFile.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new PolicyBundleError(`${source}: ${i.path.join('.') || '(top)'}: ${i.message}`);
  }
  return r.data;
}

function mergeLicenses(base: LicensePolicy, over: Partial<LicensePolicy> | undefined): LicensePolicy {
  if (!over) return base;
  // A later layer can only narrow: denials add up, allowlists intersect; the license map is overlaid.
  const allow =
    over.allow && base.allow ? base.allow.filter((l) => over.allow!.includes(l)) : (over.allow ?? base.allow);
  return {
    ...(allow && { allow }),
    deny: [...new Set([...base.deny, ...(over.deny ?? [])])],
    map: { ...base.map, ...(over.map ?? {}) },
  };
}

/** Overlays bundle layers in order (first: the base). Throws PolicyBundleError naming the layer and rule. */
export function mergeBundles(layers: readonly { file: PolicyBundleFile; source: string }[]): PolicyBundle {
  const rules = new Map<string, PolicyRule>();
  let licenses: LicensePolicy = { deny: [], map: {} };
  const versions: string[] = [];
  for (const { file, source } of layers) {
    for (const over of file.rules) {
      const prev = rules.get(over.id);
      const r = PolicyRuleSchema.safeParse({ ...prev, ...over });
      if (!r.success)
        throw new PolicyBundleError(
          `${source}: rule ${over.id}: ${prev ? r.error.issues[0]!.message : 'a new rule needs kind, severity, enforcement and remediation'}`,
        );
      if (r.data.kind === 'sast' && !sastRuleIds.has(r.data.id))
        throw new PolicyBundleError(
          `${source}: rule ${over.id}: no SAST query has this id (known: ${[...sastRuleIds].join(', ')})`,
        );
      if (r.data.kind === 'secret' && r.data.enforcement !== 'block')
        throw new PolicyBundleError(
          `${source}: rule ${over.id}: secrets are always blocked (a redacted diff cannot be approved)`,
        );
      rules.set(over.id, r.data);
    }
    licenses = mergeLicenses(licenses, file.licenses);
    versions.push(source === 'default' ? file.version : `${source}@${file.version}`);
  }
  return PolicyBundle.parse({ version: versions.join(' < '), rules: [...rules.values()], licenses });
}

const DEFAULT_FILE = parseBundleFile(
  readFileSync(new URL('./default-policy.yml', import.meta.url), 'utf8'),
  'default-policy.yml',
);
/** The default bundle, merged on its own (every rule complete). */
export const defaultPolicyBundle: PolicyBundle = mergeBundles([{ file: DEFAULT_FILE, source: 'default' }]);

/**
 * The bundle a task's patch is checked with: default < org (`<dataDir>/policy/orgs/<org>.yml`) < repository
 * (`.codemesh/policy.yml` at the base commit).
 */
export async function loadPolicyBundle(opts: {
  dataDir: string;
  orgId?: string;
  repoPath: string;
  baseCommit: string;
  /** The blackboard: the org's bundle as the API installed it (`orgpolicy.<org>`), for every machine. */
  board?: Blackboard;
}): Promise<PolicyBundle> {
  const layers = [{ file: DEFAULT_FILE, source: 'default' }];
  const org = opts.orgId ?? 'default';
  const orgText = await orgBundleText(opts.dataDir, org, opts.board);
  if (orgText !== undefined)
    layers.push({ file: parseBundleFile(orgText, `org:${org}`), source: `org:${org}` });
  const repo = await git(opts.repoPath, ['show', `${opts.baseCommit}:${REPO_POLICY_FILE}`], {
    allowFail: true,
  });
  if (repo.exitCode === 0)
    layers.push({
      file: parseBundleFile(repo.stdout, `repo:${REPO_POLICY_FILE}`),
      source: `repo:${REPO_POLICY_FILE}`,
    });
  return mergeBundles(layers);
}

/**
 * The org layer's YAML: the newer of the state dir's file (`codemesh policy org`, or the API on this machine)
 * and the blackboard's entry (the API, on any machine); undefined when neither has one (or the entry says
 * removed and no newer file exists).
 */
async function orgBundleText(dataDir: string, org: string, board?: Blackboard): Promise<string | undefined> {
  const path = orgPolicyPath(dataDir, org);
  const [text, st, entry] = await Promise.all([
    readFile(path, 'utf8').catch(() => undefined),
    stat(path).catch(() => undefined),
    board ? board.get(keys.orgPolicy(org), OrgPolicyEntry).catch(() => undefined) : undefined,
  ]);
  if (!entry) return text;
  if (text !== undefined && st && st.mtimeMs >= Date.parse(entry.value.updatedAt)) return text;
  return entry.value.yaml ?? undefined;
}

/** The default bundle with more layers on top (an org's, a repository's), e.g. for tests and `policy check`. */
export function extendDefaultBundle(layers: readonly { text: string; source: string }[]): PolicyBundle {
  return mergeBundles([
    { file: DEFAULT_FILE, source: 'default' },
    ...layers.map((l) => ({ file: parseBundleFile(l.text, l.source), source: l.source })),
  ]);
}
