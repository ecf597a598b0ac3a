// Renders task events as progress lines for the terminal.
import type { TaskEvent } from '../schemas/index.ts';

export interface Totals {
  tokens: number;
  costUsd: number;
}

export function renderEvent(e: TaskEvent, totals: Totals): string | undefined {
  const d = e.data as Record<string, unknown>;
  const attempt = e.step ? ` #${e.step.attempt}` : '';
  switch (e.type) {
    case 'task.created':
      return `▶ task ${e.taskId}: ${d.title} (${d.repo} @ ${String(d.baseCommit).slice(0, 12)})`;
    case 'plan.ready': {
      const subs = (d.subtasks as Array<{ id: string; title: string; dependsOn: string[] }>) ?? [];
      return [
        `plan: ${d.summary}`,
        ...subs.map(
          (s) => `  - [${s.id}] ${s.title}${s.dependsOn.length ? ` (after ${s.dependsOn.join(', ')})` : ''}`,
        ),
      ].join('\n');
    }
    case 'patch.proposed':
      return `patch${attempt}: ${d.summary} — ${(d.files as string[]).join(', ')}`;
    case 'test.completed': {
      const c = d.counts as { passed: number; failed: number; skipped: number };
      return `tests${attempt} (${d.runner}): ${d.passed ? 'PASS' : 'FAIL'} — ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`;
    }
    case 'review.completed':
      return `review${attempt}: ${d.decision} (confidence ${Number(d.confidence).toFixed(2)}) — ${d.critique}`;
    case 'cost.recorded':
      totals.tokens += Number(d.promptTokens) + Number(d.completionTokens);
      totals.costUsd += Number(d.costUsd);
      return undefined;
    case 'approval.requested':
      return `⏸ waiting for approval of patch ${d.patchId}`;
    case 'approval.granted':
      return `approved by ${d.by}`;
    case 'approval.changes_requested':
      return `changes requested by ${d.by}: ${d.comment}`;
    case 'lock.waiting':
      return `waiting for ${d.holder}, which holds ${d.path}`;
    case 'conflict.detected':
      return `conflict: ${d.reason}`;
    case 'integrate.committed':
      return `committed ${String(d.commit).slice(0, 12)} on ${d.branch}${(d.push as { pushed?: boolean })?.pushed ? ' (pushed)' : ''}`;
    case 'step.failed':
      return `step ${e.step?.kind}${attempt} failed: ${d.reason}`;
    default:
      return undefined;
  }
}
