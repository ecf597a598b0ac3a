// The Reviewer agent: critique of a patch and its test run → approve or revise, with confidence and risks.
import { keys, Patch, patchId, Plan, Review, ReviewVerdict, TestRun } from '../../schemas/index.ts';
import { askJson, StepFailure } from '../runtime/ask-json.ts';
import { oneEffectMachine } from '../runtime/step-machine.ts';
import type { AgentDefinition, StepInput, StepOutput } from '../runtime/types.ts';
import { reviewerSystem, reviewerUser } from './prompts.ts';

/**
 * A patch whose tests fail is never approved, whatever the model says: the verdict becomes `revise` and
 * the failing tests are added to the critique.
 */
export function enforceTests(verdict: ReviewVerdict, testRun: TestRun | undefined): ReviewVerdict {
  if (!testRun || testRun.passed || verdict.decision === 'revise') return verdict;
  const failed = testRun.tests.filter((t) => t.status === 'failed').map((t) => t.name);
  return {
    ...verdict,
    decision: 'revise',
    confidence: Math.min(verdict.confidence, 0.2),
    critique: `${verdict.critique}\nTests fail${failed.length ? `: ${failed.join(', ')}` : ` (exit ${testRun.exitCode})`}.`,
    risks: [...verdict.risks, { level: 'high', note: 'the test suite fails with this patch' }],
  };
}

async function reviewStep(input: StepInput, signal: AbortSignal): Promise<StepOutput> {
  const { task, mesh, attempt } = input;
  const pid = patchId(task.id, attempt);
  const patch = (await mesh.board.get(keys.patch(pid), Patch))?.value;
  if (!patch) throw new StepFailure(`patch ${pid} is not on the blackboard`);
  const testRun = (await mesh.board.get(keys.testrun(task.id, attempt), TestRun))?.value;
  const plan = (await mesh.board.get(keys.plan(task.id), Plan))?.value;
  const { value } = await askJson(
    input,
    'reviewer',
    [
      { role: 'system', content: reviewerSystem() },
      { role: 'user', content: reviewerUser(task, patch, testRun, plan) },
    ],
    ReviewVerdict,
    { signal },
  );
  const verdict = enforceTests(value, testRun);
  const review: Review = {
    ...verdict,
    id: `${task.id}-${attempt}`,
    taskId: task.id,
    attempt,
    patchId: pid,
    createdAt: new Date(input.deps.now()).toISOString(),
  };
  const stored = (
    await mesh.board.putOnce(keys.review(task.id, attempt), Review, review, (a, b) => a.id === b.id)
  ).entry.value;
  const data = {
    patchId: pid,
    decision: stored.decision,
    confidence: stored.confidence,
    critique: stored.critique,
    risks: stored.risks,
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

export const reviewerMachine = oneEffectMachine('reviewer', reviewStep);

export const reviewer: AgentDefinition = {
  capability: 'reviewer',
  machine: reviewerMachine,
  estimateCostUsd: () => 0.02,
};
