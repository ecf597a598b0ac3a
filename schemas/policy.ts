// Policy rules as data: the secret scanner's rules (gitleaks style) and what a scan finds.
import { z } from 'zod';

/** A JavaScript regular expression source that must compile (flags are given beside it). */
const RegexSource = z
  .string()
  .min(1)
  .superRefine((src, ctx) => {
    try {
      new RegExp(src, 'u');
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(e as Error).message}` });
    }
  });

/** Paths (regexes over the repository-relative path) and values (regexes over the captured secret) to skip. */
export const SecretAllowlist = z.object({
  paths: z.array(RegexSource).default([]),
  regexes: z.array(RegexSource).default([]),
});
export type SecretAllowlist = z.infer<typeof SecretAllowlist>;

/**
 * One secret rule. `regex` runs over each added line (flags `gu`, plus `i` when `caseInsensitive`); the secret is
 * capture group `secretGroup` (default 1, or the whole match when the regex has no group). A line is only tried
 * when it contains one of `keywords` (case-insensitive; none: every line). With `entropy`, a capture whose
 * Shannon entropy (bits per character) is below it is not a finding. With `blockEnd`, the match opens a block
 * (a PEM private key) that runs over the following added lines up to the line matching `blockEnd`: every
 * line of it is redacted.
 */
export const SecretRule = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'rule ids are lowercase words joined by dashes'),
  description: z.string().min(1),
  regex: RegexSource,
  caseInsensitive: z.boolean().default(false),
  secretGroup: z.number().int().min(0).optional(),
  keywords: z.array(z.string().min(1)).default([]),
  entropy: z.number().min(0).max(8).optional(),
  blockEnd: RegexSource.optional(),
  allowlist: SecretAllowlist.optional(),
});
export type SecretRule = z.infer<typeof SecretRule>;
export type SecretRuleInput = z.input<typeof SecretRule>;

/** Refuses a bundle that names one rule id twice (a later rule would silently shadow the earlier one). */
function uniqueRuleIds(b: { rules: ReadonlyArray<{ id: string }> }, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  for (const [i, r] of b.rules.entries()) {
    if (seen.has(r.id))
      ctx.addIssue({ code: 'custom', path: ['rules', i, 'id'], message: `duplicate rule id ${r.id}` });
    seen.add(r.id);
  }
}

/** A bundle of secret rules with an allowlist that applies to every rule. Rule ids are unique. */
export const SecretRuleBundle = z
  .object({
    version: z.string().min(1),
    allowlist: SecretAllowlist.default({ paths: [], regexes: [] }),
    rules: z.array(SecretRule).min(1),
  })
  .superRefine(uniqueRuleIds);
export type SecretRuleBundle = z.infer<typeof SecretRuleBundle>;
export type SecretRuleBundleInput = z.input<typeof SecretRuleBundle>;

/**
 * A secret found in an added line of a patch. Never holds the secret: `preview` is the line with every secret
 * on it replaced by its redaction marker (`[REDACTED:<rule>]`), cut to 160 characters.
 */
export const SecretFinding = z.object({
  ruleId: z.string(),
  description: z.string(),
  file: z.string(),
  /** The line in the new version of the file (1-based). */
  line: z.number().int().min(1),
  preview: z.string(),
});
export type SecretFinding = z.infer<typeof SecretFinding>;

// ---- Policy bundles and reports (issue 14 item 1): SAST, licenses, vulnerabilities, secrets. ----

export const PolicySeverity = z.enum(['low', 'medium', 'high', 'critical']);
export type PolicySeverity = z.infer<typeof PolicySeverity>;

/** `block`: the patch is refused at review and cannot be integrated; `warn`: a risk the gate shows. */
export const PolicyEnforcement = z.enum(['block', 'warn']);
export type PolicyEnforcement = z.infer<typeof PolicyEnforcement>;

export const PolicyKind = z.enum(['secret', 'sast', 'license', 'vulnerability']);
export type PolicyKind = z.infer<typeof PolicyKind>;

const RuleId = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'rule ids are lowercase words joined by dashes');

/**
 * One rule of a policy bundle. For `sast` the id names a query shipped in code (`actors/policy/sast-rules.ts`);
 * the bundle sets how it is enforced. `license-denied`, `license-not-allowed`, `license-unknown` and
 * `vulnerability` govern the dependency checks; `secret` the secret scanner (always `block`: a redacted diff
 * is not what the model wrote, so it can never be approved).
 */
export const PolicyRule = z.object({
  id: RuleId,
  kind: PolicyKind,
  severity: PolicySeverity,
  enforcement: PolicyEnforcement,
  remediation: z.string().min(1),
  /** A CWE id such as `CWE-78` (SAST rules). */
  cwe: z
    .string()
    .regex(/^CWE-\d+$/)
    .optional(),
  description: z.string().optional(),
  enabled: z.boolean().default(true),
});
export type PolicyRule = z.infer<typeof PolicyRule>;

/** A layer of a bundle: an org's or a repository's YAML may set only some fields; rules overlay by id. */
export const PolicyRuleOverlay = PolicyRule.partial()
  // No default here: a layer that does not mention `enabled` keeps the earlier layer's.
  .extend({ id: RuleId, enabled: z.boolean().optional() })
  .strict();
export type PolicyRuleOverlay = z.infer<typeof PolicyRuleOverlay>;

/**
 * License lists are SPDX identifiers (`MIT`, `Apache-2.0`, ranges like `GPL-2.0+`). With `allow`, a
 * dependency whose expression cannot be satisfied by it is a `license-not-allowed` finding; one that cannot be
 * satisfied without a `deny` license is `license-denied`. `map` is the offline license map: `<ecosystem>:<name>`
 * (ecosystems `npm`, `PyPI`, `Go`; PyPI names normalised) → SPDX expression, used before lockfile metadata.
 */
export const LicensePolicy = z.object({
  allow: z.array(z.string().min(1)).optional(),
  deny: z.array(z.string().min(1)).default([]),
  map: z.record(z.string(), z.string().min(1)).default({}),
});
export type LicensePolicy = z.infer<typeof LicensePolicy>;

/** A policy bundle as written in YAML (the default ships in `actors/policy/default-policy.yml`). */
export const PolicyBundleFile = z
  .object({
    version: z.string().min(1),
    rules: z.array(PolicyRuleOverlay).default([]),
    licenses: LicensePolicy.partial().strict().optional(),
  })
  .strict()
  .superRefine(uniqueRuleIds);
export type PolicyBundleFile = z.infer<typeof PolicyBundleFile>;

/** The bundle a check runs with: the default, then the org's, then the repository's, merged. */
export const PolicyBundle = z.object({
  /** The versions of the merged layers, e.g. `default-1 < org:acme@3 < repo:.codemesh/policy.yml@7`. */
  version: z.string().min(1),
  rules: z.array(PolicyRule),
  licenses: LicensePolicy,
});
export type PolicyBundle = z.infer<typeof PolicyBundle>;

/** A dependency a patch adds or changes. */
export const DependencyChange = z.object({
  ecosystem: z.enum(['npm', 'PyPI', 'Go']),
  name: z.string(),
  /** The exact version when the manifest or lockfile pins one. */
  version: z.string().optional(),
  /** What the manifest says (a range, `==1.2`, ...). */
  spec: z.string().optional(),
  file: z.string(),
  line: z.number().int().min(1),
  /** The SPDX expression the check resolved, and from where. */
  license: z.string().optional(),
  licenseSource: z.enum(['map', 'lockfile', 'installed']).optional(),
});
export type DependencyChange = z.infer<typeof DependencyChange>;

/** One finding of a policy check. Never holds a secret (a secret finding's message is its redacted preview). */
export const PolicyFinding = z.object({
  kind: PolicyKind,
  /** The policy rule that decided severity and enforcement. */
  ruleId: z.string(),
  severity: PolicySeverity,
  enforcement: PolicyEnforcement,
  file: z.string(),
  line: z.number().int().min(1).optional(),
  message: z.string(),
  remediation: z.string(),
  cwe: z.string().optional(),
  /** Dependency findings: the package; vulnerabilities also the advisory and its fixed version. */
  package: z.object({ ecosystem: z.string(), name: z.string(), version: z.string().optional() }).optional(),
  advisory: z.string().optional(),
  fixed: z.string().optional(),
});
export type PolicyFinding = z.infer<typeof PolicyFinding>;

/** An approver's override of a patch's `block` findings (audited). */
export const PolicyOverride = z.object({
  by: z.string(),
  at: z.string(),
  reason: z.string().min(1),
  /** The rule ids overridden (every block finding's rule at the time). */
  ruleIds: z.array(z.string()),
});
export type PolicyOverride = z.infer<typeof PolicyOverride>;

/** The policy report of a candidate patch: produced before review, shown at the gate, the API and the PR. */
export const PolicyReport = z.object({
  bundle: z.string(),
  findings: z.array(PolicyFinding),
  counts: z.record(PolicyKind, z.number().int().min(0)),
  /** At least one finding with enforcement `block`. */
  blocked: z.boolean(),
  dependencies: z.array(DependencyChange).default([]),
  /** What could not be checked (a file that did not parse, no OSV data imported, ...). */
  notes: z.array(z.string()).default([]),
  override: PolicyOverride.optional(),
  /** CycloneDX SBOM of `dependencies` (absent when the patch changes none). */
  get sbom() {
    return CycloneDxBom.optional();
  },
});
export type PolicyReport = z.infer<typeof PolicyReport>;

/** The part of an OSV record (https://ossf.github.io/osv-schema/) the vulnerability check reads. */
export const OsvRecord = z.object({
  id: z.string().min(1),
  summary: z.string().optional(),
  aliases: z.array(z.string()).optional(),
  affected: z
    .array(
      z.object({
        package: z.object({ ecosystem: z.string(), name: z.string() }),
        ranges: z
          .array(
            z.object({
              type: z.string(),
              events: z.array(
                z.object({
                  introduced: z.string().optional(),
                  fixed: z.string().optional(),
                  last_affected: z.string().optional(),
                  limit: z.string().optional(),
                }),
              ),
            }),
          )
          .optional(),
        versions: z.array(z.string()).optional(),
        database_specific: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .default([]),
  severity: z.array(z.object({ type: z.string(), score: z.string() })).optional(),
  database_specific: z.record(z.string(), z.unknown()).optional(),
});
export type OsvRecord = z.infer<typeof OsvRecord>;

/** One component of a CycloneDX 1.5 SBOM (the fields codemesh writes). */
export const CycloneDxComponent = z.object({
  type: z.literal('library'),
  'bom-ref': z.string(),
  name: z.string(),
  version: z.string().optional(),
  purl: z.string(),
  licenses: z.array(z.object({ expression: z.string() })).optional(),
  properties: z.array(z.object({ name: z.string(), value: z.string() })).optional(),
});

/** A CycloneDX 1.5 JSON SBOM of the dependencies a patch adds or changes (attached to its policy report). */
export const CycloneDxBom = z.object({
  bomFormat: z.literal('CycloneDX'),
  specVersion: z.literal('1.5'),
  serialNumber: z.string().regex(/^urn:uuid:[0-9a-f-]{36}$/),
  version: z.literal(1),
  metadata: z.object({
    tools: z.object({ components: z.array(z.object({ type: z.string(), name: z.string() })) }),
    component: z.object({ type: z.string(), name: z.string(), 'bom-ref': z.string() }).optional(),
  }),
  components: z.array(CycloneDxComponent),
});
export type CycloneDxBom = z.infer<typeof CycloneDxBom>;

/**
 * `orgpolicy.<org>`: the org's policy bundle as `PUT /v1/config/policy` (or a restore) last installed it, so a
 * policy check on any machine of the mesh reads it (the state dir's file is the one machine's copy).
 */
export const OrgPolicyEntry = z.object({
  org: z.string(),
  /** The record's revision (`GET /v1/config/policy/versions`). */
  revision: z.number().int().min(1),
  /** null: the org's bundle was removed (the default applies). */
  yaml: z.string().nullable(),
  sha256: z.string().optional(),
  updatedAt: z.string(),
});
export type OrgPolicyEntry = z.infer<typeof OrgPolicyEntry>;
