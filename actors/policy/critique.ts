// What a blocked patch's findings say to the Coder and to humans: rule, file and line — never the secret.
import type { Patch, PolicyReport, SecretFinding } from '../../schemas/index.ts';

/** One sentence per finding (at most 20), and what to do instead. */
export function secretsCritique(findings: readonly SecretFinding[]): string {
  const listed = findings
    .slice(0, 20)
    .map((f) => `${f.ruleId} (${f.description}) at ${f.file}:${f.line}`)
    .join('; ');
  const more = findings.length > 20 ? ` and ${findings.length - 20} more` : '';
  return (
    `The patch adds what looks like a secret, so it was redacted and cannot be approved: ${listed}${more}. ` +
    'Remove the value and the [REDACTED:...] marker; read it from the environment or a configuration file ' +
    'outside the repository instead (a test may use an obviously fake value).'
  );
}

/** The summary's mention of redacted secrets (the count, never a value). */
export function secretsNote(secrets: readonly SecretFinding[] | undefined): string {
  return secrets?.length ? `, ${secrets.length} secret(s) redacted` : '';
}

/** What `patch.proposed` says about a patch's secrets: rule, file, line and the redacted preview. */
export function secretsData(patch: Pick<Patch, 'secrets'>): { secrets?: SecretFinding[] } {
  return patch.secrets?.length ? { secrets: patch.secrets } : {};
}

/** The policy findings (other than secrets, which `secretsCritique` words) that block, with their remediation. */
export function policyCritique(report: PolicyReport): string {
  const blocking = report.findings.filter((f) => f.enforcement === 'block' && f.kind !== 'secret');
  const listed = blocking
    .slice(0, 20)
    .map(
      (f) =>
        `${f.ruleId}${f.cwe ? ` (${f.cwe})` : ''} at ${f.file}${f.line ? `:${f.line}` : ''}: ${f.message}. Fix: ${f.remediation}`,
    )
    .join('\n- ');
  const more = blocking.length > 20 ? `\n(and ${blocking.length - 20} more)` : '';
  return blocking.length
    ? `The policy check blocks this patch (bundle ${report.bundle}):\n- ${listed}${more}`
    : '';
}

/** The rule ids of the report's `block` findings other than secrets (those an approver may override). */
export function blockingRuleIds(report: PolicyReport | undefined): string[] {
  if (!report) return [];
  return [
    ...new Set(
      report.findings.filter((f) => f.enforcement === 'block' && f.kind !== 'secret').map((f) => f.ruleId),
    ),
  ];
}

/** The risks a review carries for the policy's `warn` findings (one line each, at most 20). */
export function policyRisks(report: PolicyReport): { level: 'low' | 'medium' | 'high'; note: string }[] {
  return report.findings
    .filter((f) => f.enforcement === 'warn')
    .slice(0, 20)
    .map((f) => ({
      level: f.severity === 'low' ? 'low' : f.severity === 'medium' ? 'medium' : 'high',
      note: `policy ${f.ruleId} at ${f.file}${f.line ? `:${f.line}` : ''}: ${f.message} (${f.remediation})`,
    }));
}

/** The summary's mention of the policy check: blocking and warning findings. */
export function policyNote(report: PolicyReport | undefined): string {
  if (!report?.findings.length) return '';
  const block = report.findings.filter((f) => f.enforcement === 'block' && f.kind !== 'secret').length;
  const warn = report.findings.filter((f) => f.enforcement === 'warn').length;
  return `${block ? `, ${block} policy finding(s) blocking` : ''}${warn ? `, ${warn} policy warning(s)` : ''}`;
}

/** What `patch.proposed` says about the policy check: counts only (the findings are on the patch). */
export function policyData(patch: Pick<Patch, 'policy'>): {
  policy?: { bundle: string; blocked: boolean; counts: PolicyReport['counts'] };
} {
  const p = patch.policy;
  return p ? { policy: { bundle: p.bundle, blocked: p.blocked, counts: p.counts } } : {};
}
