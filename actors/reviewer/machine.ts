// The Reviewer agent: critique of a patch and its test run → approve or revise, with confidence and risks.
import { keys, Patch, patchId, Review, ReviewVerdict, TestRun } from '../../schemas/index.ts';
import { recallMemories } from '../memory/recall.ts';
import { repeatedRejections, repeatSection } from '../memory/repeat.ts';
import { blockingRuleIds, policyCritique, policyRisks, secretsCritique } from '../policy/index.ts';
import { askJson, StepFailure } from '../runtime/ask-json.ts';
import { changeRequests } from '../runtime/change-requests.ts';
import { effectivePlan } from '../runtime/effective-plan.ts';
import { oneEffectMachine } from '../runtime/step-machine.ts';
import type { AgentDefinition, StepInput, StepOutput } from '../runtime/types.ts';
import { reviewerSystem, reviewerUser } from './prompts.ts';
import { reviewConfidence } from './review-confidence.ts';
import { selectCandidate, stepCandidates } from './select.ts';

/**
 * The tests' verdict overrides the model: a patch with a regression (or whose tests time out with it) is
 * never approved — the verdict becomes `revise` and the critique names what broke. Pre-existing failures,
 * flaky tests and environment errors do not block; an environment error is added as a risk.
 * Test runs recorded before verdicts existed fall back to `passed`.
 */
export function enforceTests(verdict: ReviewVerdict, testRun: TestRun | undefined): ReviewVerdict {
  if (!testRun) return verdict;
  const outcome = testRun.outcome ?? (testRun.passed ? 'pass' : 'regression');
  const envRisks = (testRun.verdict?.envErrors ?? []).length
    ? [{ level: 'medium' as const, note: `environment errors in the test run: ${envErrorText(testRun)}` }]
    : [];
  if (outcome === 'env_error')
    return {
      ...verdict,
      risks: [...verdict.risks, { level: 'high', note: `the tests could not run: ${testRun.reason ?? ''}` }],
    };
  const blocks = outcome === 'regression' || outcome === 'timeout' || outcome === 'unreproduced';
  if (!blocks || verdict.decision === 'revise') return { ...verdict, risks: [...verdict.risks, ...envRisks] };
  const regressions =
    testRun.verdict?.regressions ?? testRun.tests.filter((t) => t.status === 'failed').map((t) => t.name);
  const why =
    outcome === 'timeout'
      ? `The tests ${testRun.reason ?? 'timed out'} with this patch.`
      : outcome === 'unreproduced'
        ? `${testRun.reason ?? 'The tests the patch adds pass without its fix.'} Write a test that fails on the base commit and passes with the fix.`
        : regressions.length
          ? `Regressions (passed before the patch, fail with it): ${regressions.join(', ')}.`
          : `The tests fail with this patch: ${testRun.reason ?? `exit ${testRun.exitCode}`}.`;
  return {
    ...verdict,
    decision: 'revise',
    confidence: Math.min(verdict.confidence, 0.2),
    critique: `${verdict.critique}\n${why}`,
    risks: [
      ...verdict.risks,
      ...envRisks,
      {
        level: 'high',
        note:
          outcome === 'timeout'
            ? 'the test run times out with this patch'
            : outcome === 'unreproduced'
              ? 'no test shows that the patch fixes the issue'
              : 'the patch breaks tests that passed before',
      },
    ],
  };
}

/**
 * Secrets override everything: a patch whose added lines held secrets (its diff is the redacted one) is never
 * approved. The critique names rule, file and line — never the value — so the next attempt removes it.
 */
export function enforceSecrets(verdict: ReviewVerdict, patch: Pick<Patch, 'secrets'>): ReviewVerdict {
  const found = patch.secrets ?? [];
  if (found.length === 0) return verdict;
  return {
    decision: 'revise',
    confidence: 0,
    critique: verdict.critique ? `${secretsCritique(found)}\n${verdict.critique}` : secretsCritique(found),
    risks: [
      ...verdict.risks,
      { level: 'high', note: `the patch adds ${found.length} secret(s); they were redacted from it` },
    ],
  };
}

/**
 * The policy report decides before the model: a `block` finding (SAST, license, vulnerability) without an
 * approver's override makes the verdict `revise` with each finding's remediation in the critique; `warn`
 * findings become risks. Secrets are `enforceSecrets`'s.
 */
export function enforcePolicy(verdict: ReviewVerdict, patch: Pick<Patch, 'policy'>): ReviewVerdict {
  const report = patch.policy;
  if (!report) return verdict;
  const risks = [...verdict.risks, ...policyRisks(report)];
  const critique = report.override ? '' : policyCritique(report);
  if (!critique) return { ...verdict, risks };
  return {
    decision: 'revise',
    confidence: 0,
    critique: verdict.critique ? `${critique}\n${verdict.critique}` : critique,
    risks: [...risks, { level: 'high', note: 'the policy check blocks this patch (see the critique)' }],
  };
}

/** Whether the policy blocks the patch (other than for secrets), so no model is asked. */
export const policyBlocks = (patch: Pick<Patch, 'policy'>): boolean =>
  !!patch.policy &&
  !patch.policy.override &&
  patch.policy.findings.some((f) => f.enforcement === 'block' && f.kind !== 'secret');

function envErrorText(run: TestRun): string {
  return (run.verdict?.envErrors ?? [])
    .slice(0, 5)
    .map((e) => `${e.name} (${e.message.slice(0, 120)})${e.onBase ? ' also on the base commit' : ''}`)
    .join('; ');
}

async function reviewStep(input: StepInput, signal: AbortSignal): Promise<StepOutput> {
  const { task, mesh, attempt } = input;
  const candidates = stepCandidates(input);
  if (candidates)
    return selectCandidate(
      input,
      candidates,
      (v, run, p) => enforcePolicy(enforceSecrets(enforceTests(v, run), p), p),
      signal,
    );
  const pid = patchId(task.id, attempt);
  const patch = (await mesh.board.get(keys.patch(pid), Patch))?.value;
  if (!patch) throw new StepFailure(`patch ${pid} is not on the blackboard`);
  const testRun = (await mesh.board.get(keys.testrun(task.id, attempt), TestRun))?.value;
  // A patch with secrets is refused without asking the model: its diff is not what the Coder wrote, and no
  // review can make it approvable. A blocking policy finding is refused the same way, with its remediation.
  const refused = { decision: 'revise' as const, confidence: 0, critique: '', risks: [] };
  const verdict = patch.secrets?.length
    ? enforcePolicy(enforceSecrets(refused, patch), patch)
    : policyBlocks(patch)
      ? enforcePolicy(refused, patch)
      : enforcePolicy(enforceTests(await askModel(input, patch, testRun, signal), testRun), patch);
  const review: Review = {
    ...verdict,
    id: `${task.id}-${attempt}`,
    taskId: task.id,
    attempt,
    patchId: pid,
    createdAt: new Date(input.deps.now()).toISOString(),
    calibration: await reviewConfidence(input, verdict, patch, testRun),
  };
  const stored = (
    await mesh.board.putOnce(keys.review(task.id, attempt), Review, review, (a, b) => a.id === b.id)
  ).entry.value;
  // Blocked by the policy alone (no secret, the tests do not block): when no attempt is left the task stops at
  // the gate with it, where an approver may override the block (actors/conductor/workflow.ts).
  const policyOnly =
    !patch.secrets?.length &&
    policyBlocks(patch) &&
    enforceTests({ decision: 'approve', confidence: 1, critique: '', risks: [] }, testRun).decision ===
      'approve';
  const data = {
    patchId: pid,
    decision: stored.decision,
    confidence: stored.confidence,
    ...(stored.calibration ? { calibrated: stored.calibration.calibrated } : {}),
    critique: stored.critique,
    risks: stored.risks,
    ...(policyOnly ? { policyBlocked: blockingRuleIds(patch.policy) } : {}),
  };
  await input.deps.emit({
    id: `${input.stepId}:review.completed`,
    taskId: task.id,
    type: 'review.completed',
    step: { kind: 'review', attempt },
    data,
  });
  return { ok: true, data };
}

async function askModel(
  input: StepInput,
  patch: Patch,
  testRun: TestRun | undefined,
  signal: AbortSignal,
): Promise<ReviewVerdict> {
  const { task, mesh } = input;
  const plan = await effectivePlan(mesh.board, task.id);
  const changes = await changeRequests(mesh.board, task.id);
  // A patch that repeats a rejected or reverted one of this repository is named so to the Reviewer.
  const repeats = repeatSection(
    repeatedRejections(
      patch,
      await recallMemories(mesh, task, `${task.request.title}\n${task.request.description}`, 5).catch(
        () => [],
      ),
    ),
  );
  const user = reviewerUser(task, patch, testRun, plan, changes);
  const { value } = await askJson(
    input,
    'reviewer',
    [
      { role: 'system', content: reviewerSystem() },
      { role: 'user', content: repeats ? `${user}\n\n${repeats}` : user },
    ],
    ReviewVerdict,
    { signal },
  );
  return value;
}

export const reviewerMachine = oneEffectMachine('reviewer', reviewStep);

export const reviewer: AgentDefinition = {
  capability: 'reviewer',
  machine: reviewerMachine,
  estimateCostUsd: () => 0.02,
};
