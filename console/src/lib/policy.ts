// The policy report for people: findings by severity (critical first, blocking before warning), one line of
// counts, and what an override of the gate needs (a reason; the gateway answers 409 POLICY_BLOCKED without).
import type { PolicyFinding, PolicyReport } from '../types.ts';

const SEVERITY: Record<PolicyFinding['severity'], number> = { critical: 4, high: 3, medium: 2, low: 1 };

/** Most severe first; at one severity `block` before `warn`; then by file and line. */
export function sortFindings(findings: PolicyFinding[]): PolicyFinding[] {
  return [...findings].sort(
    (a, b) =>
      SEVERITY[b.severity] - SEVERITY[a.severity] ||
      (a.enforcement === b.enforcement ? 0 : a.enforcement === 'block' ? -1 : 1) ||
      a.file.localeCompare(b.file) ||
      (a.line ?? 0) - (b.line ?? 0),
  );
}

/** `2 findings (sast 1, license 1): blocking` — the report in one line. */
export function policyLine(r: PolicyReport): string {
  const counts = Object.entries(r.counts)
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const n = r.findings.length;
  const state = r.override ? 'blocking, overridden' : r.blocked ? 'blocking' : 'nothing blocks';
  return `${n === 0 ? 'no findings' : `${n} finding${n === 1 ? '' : 's'}`}${counts ? ` (${counts})` : ''}: ${state}`;
}

/** The rules an override would cover: every blocking finding's rule, once each. */
export const blockingRules = (r: PolicyReport): string[] => [
  ...new Set(r.findings.filter((f) => f.enforcement === 'block').map((f) => f.ruleId)),
];

/** Whether the approver may override now: blocked, not yet overridden, and the patch approvable. */
export const canOverride = (r: PolicyReport | undefined, approvable: boolean): boolean =>
  !!r && r.blocked && !r.override && approvable;

/** An override's reason is audited and must say why the finding is acceptable. */
export const overrideProblem = (reason: string): string | undefined =>
  reason.trim() === '' ? 'Say why the finding is acceptable: the reason is recorded and audited.' : undefined;
