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

/** A bundle of secret rules with an allowlist that applies to every rule. Rule ids are unique. */
export const SecretRuleBundle = z
  .object({
    version: z.string().min(1),
    allowlist: SecretAllowlist.default({ paths: [], regexes: [] }),
    rules: z.array(SecretRule).min(1),
  })
  .superRefine((b, ctx) => {
    const seen = new Set<string>();
    for (const [i, r] of b.rules.entries()) {
      if (seen.has(r.id))
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'id'], message: `duplicate rule id ${r.id}` });
      seen.add(r.id);
    }
  });
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
