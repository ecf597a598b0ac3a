// What a blocked patch's findings say to the Coder and to humans: rule, file and line — never the secret.
import type { Patch, SecretFinding } from '../../schemas/index.ts';

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
