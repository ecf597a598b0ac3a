// The task's state in a few lines, read from the blackboard without a model: what the chat agent answers when
// no model does (with that said), so a question about a task always gets the facts.
import type { MeshConnection } from '../../blackboard/index.ts';
import type { ChatQuestion } from '../../schemas/api.ts';
import { CostLedger, keys, Patch, Review, TaskRecord, TestRun } from '../../schemas/index.ts';
import { effectivePlan } from '../runtime/effective-plan.ts';

export async function summarizeTask(mesh: MeshConnection, q: ChatQuestion): Promise<string> {
  const task = (await mesh.board.get(keys.task(q.taskId), TaskRecord))?.value;
  if (!task) return `I have no state for task ${q.taskId} on the blackboard.`;
  const a = task.attempt;
  const [plan, patch, run, review, cost] = await Promise.all([
    effectivePlan(mesh.board, task.id),
    a ? mesh.board.get(keys.patch(`${task.id}-p${a}`), Patch) : undefined,
    a ? mesh.board.get(keys.testrun(task.id, a), TestRun) : undefined,
    a ? mesh.board.get(keys.review(task.id, a), Review) : undefined,
    mesh.board.get(keys.cost(task.id), CostLedger),
  ]);
  const lines = [`Task "${task.request.title}" is ${task.status.replaceAll('_', ' ')} (attempt ${a}).`];
  if (plan) lines.push(`Plan: ${plan.summary} (${plan.subtasks.length} subtask(s)).`);
  if (patch)
    lines.push(
      `Latest patch ${patch.value.id}: ${patch.value.summary}; files ${patch.value.files.join(', ')}.`,
    );
  if (run)
    lines.push(
      `Tests (${run.value.runner}): ${run.value.passed ? 'passed' : 'failed'}, ${run.value.counts.passed} passed, ${run.value.counts.failed} failed.`,
    );
  if (review)
    lines.push(
      `Review: ${review.value.decision} (confidence ${review.value.confidence.toFixed(2)}): ${review.value.critique}`,
    );
  if (task.reason) lines.push(`Reason: ${task.reason}`);
  if (task.branch)
    lines.push(`Branch: ${task.branch}${task.commit ? ` at ${task.commit.slice(0, 12)}` : ''}.`);
  if (cost)
    lines.push(
      `Spent so far: ${cost.value.totals.calls} model call(s), $${cost.value.totals.costUsd.toFixed(4)}.`,
    );
  if (/\b(why|fail|wrong)\b/i.test(q.message) && run && !run.value.passed) {
    const failed = run.value.tests.filter((t) => t.status === 'failed').map((t) => t.name);
    if (failed.length) lines.push(`Failing tests: ${failed.slice(0, 10).join(', ')}.`);
  }
  return lines.join('\n');
}
