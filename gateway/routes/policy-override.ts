// The policy half of the patch gate: approving a patch the policy check blocks needs an approver's override,
// which is recorded on the patch's report (who, when, which rules, why) and audited before the approval.
import { blockingRuleIds } from '../../actors/policy/index.ts';
import { keys, Patch, type PolicyOverride } from '../../schemas/index.ts';
import type { Gateway } from '../context.ts';
import { ApiError } from '../errors.ts';
import type { Principal } from '../types.ts';

/**
 * Checks an approval of `patch` against its policy report. A blocked patch without an override in the body is
 * a 409 `POLICY_BLOCKED` naming the rules and their remediation; with one, the override is written to
 * `patch.<id>` (compare-and-set; a patch already overridden keeps its first override) and audited as
 * `patch.policy_override`. An override on a patch nothing blocks is a 409 `NOTHING_TO_OVERRIDE`.
 */
export async function checkPolicyGate(
  gw: Gateway,
  p: Principal,
  patch: Patch,
  body: { override?: { reason: string } | undefined },
  orgId: string | null,
): Promise<PolicyOverride | undefined> {
  const rules = blockingRuleIds(patch.policy);
  if (rules.length === 0 || patch.policy?.override) {
    if (body.override && !patch.policy?.override)
      throw new ApiError(
        409,
        'NOTHING_TO_OVERRIDE',
        `patch ${patch.id} is not blocked by the policy check: approve it without an override`,
      );
    return patch.policy?.override;
  }
  if (!body.override) {
    const fixes = (patch.policy?.findings ?? [])
      .filter((f) => f.enforcement === 'block' && f.kind !== 'secret')
      .slice(0, 5)
      .map((f) => `${f.ruleId} at ${f.file}${f.line ? `:${f.line}` : ''}: ${f.remediation}`);
    throw new ApiError(
      409,
      'POLICY_BLOCKED',
      `patch ${patch.id} is blocked by the policy check (${rules.join(', ')}). Fix: ${fixes.join('; ')}. ` +
        'An approver may approve it anyway with `override: {reason}` (audited), or request changes',
    );
  }
  const override: PolicyOverride = {
    by: p.userId,
    at: new Date(gw.now()).toISOString(),
    reason: body.override.reason,
    ruleIds: rules,
  };
  let wrote = false;
  const entry = await gw.mesh.board.mutate(keys.patch(patch.id), Patch, (cur) => {
    wrote = false;
    if (!cur?.policy) throw new ApiError(404, 'PATCH_NOT_FOUND', `no patch ${patch.id}`);
    if (cur.policy.override) return undefined;
    wrote = true;
    return { ...cur, policy: { ...cur.policy, override } };
  });
  const stored = wrote ? override : (entry?.value.policy?.override ?? override);
  if (wrote)
    await gw.audit(p, 'patch.policy_override', patch.id, orgId, {
      taskId: patch.taskId,
      ruleIds: stored.ruleIds,
      reason: stored.reason,
      bundle: patch.policy?.bundle,
    });
  return stored;
}
