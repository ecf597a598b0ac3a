// Prompts of the Reviewer.
import type { Patch, Plan, TaskRecord, TestRun } from '../../schemas/index.ts';
import { roleMarker } from '../llm/index.ts';

export function reviewerSystem(): string {
  return `${roleMarker('reviewer')} You are the Reviewer of codemesh. You judge one patch against its task, plan
and test results. Reply with one JSON object and nothing else:
{"decision": "approve"|"revise", "confidence": number between 0 and 1, "critique": string,
 "risks": [{"level": "low"|"medium"|"high", "note": string}]}
Approve only a patch that does what the task asks, passes its tests and carries no unexplained risk. When you
ask for a revision, the critique must say exactly what to change.`;
}

export function reviewerUser(
  task: TaskRecord,
  patch: Patch,
  testRun: TestRun | undefined,
  plan?: Plan,
): string {
  const parts = [`Task: ${task.request.title}`, '', task.request.description];
  if (plan)
    parts.push(
      '',
      `Plan: ${plan.summary}`,
      ...plan.subtasks.map((s) => `- ${s.title}: ${s.successCriteria.join('; ')}`),
    );
  parts.push('', `Patch ${patch.id} (${patch.summary}):`, patch.diff.slice(0, 30_000));
  if (testRun) {
    parts.push(
      '',
      `Tests (${testRun.runner}, exit ${testRun.exitCode}${testRun.timedOut ? ', timed out' : ''}): ${testRun.counts.passed} passed, ${testRun.counts.failed} failed, ${testRun.counts.skipped} skipped.`,
      ...testRun.tests
        .filter((t) => t.status === 'failed')
        .slice(0, 20)
        .map((t) => `FAILED ${t.name}: ${(t.message ?? '').slice(0, 500)}`),
    );
  } else parts.push('', 'No test run is recorded for this patch.');
  return parts.join('\n');
}
