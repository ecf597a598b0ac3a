// Renders task events as progress lines for the terminal.
import type { TaskEvent } from '../schemas/index.ts';

export interface Totals {
  tokens: number;
  costUsd: number;
}

export function renderEvent(e: TaskEvent, totals: Totals): string | undefined {
  const d = e.data as Record<string, unknown>;
  const attempt = e.step ? ` #${e.step.attempt}${e.step.part?.startsWith('c') ? ` ${e.step.part}` : ''}` : '';
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
    case 'test.primary':
      return `tests${attempt}: the ${d.files} file(s) the issue names or the patch touches pass (${d.reason}); ${d.pending} related file(s) running`;
    case 'test.completed':
      return `tests${attempt} (${d.runner}): ${testSummary(d)}`;
    case 'test.flaky': {
      const tests = (d.tests as string[] | undefined) ?? [];
      return `flaky${attempt}: ${tests.join(', ')} — changed outcome between runs of the same code; consider quarantining ${tests.length === 1 ? 'it' : 'them'}`;
    }
    case 'review.completed':
      return `review${attempt}: ${d.decision} (${d.calibrated !== undefined ? `calibrated confidence ${Number(d.calibrated).toFixed(2)}, the Reviewer's own ${Number(d.confidence).toFixed(2)}` : `confidence ${Number(d.confidence).toFixed(2)}`}) — ${d.critique}`;
    case 'cost.recorded':
      totals.tokens += Number(d.promptTokens) + Number(d.completionTokens);
      totals.costUsd += Number(d.costUsd);
      return undefined;
    case 'plan.approval_requested':
      return '⏸ waiting for approval of the plan (post-plan gate)';
    case 'plan.approved':
      return `plan approved by ${d.byName ?? d.by}${d.edited ? ' (edited)' : ''}`;
    case 'plan.rejected':
      return `plan rejected by ${d.byName ?? d.by}${d.comment ? `: ${d.comment}` : ''}`;
    case 'approval.requested': {
      const others = ((d.approvable as string[] | undefined) ?? []).filter((p) => p !== d.patchId);
      return `⏸ waiting for approval of patch ${d.patchId}${others.length ? ` (also approvable: ${others.join(', ')})` : ''}`;
    }
    case 'revision.failed':
      return `✘ the revision (attempt ${d.attempt}) failed: ${d.reason} — back at the gate with patch ${d.patchId}, which can still be approved`;
    case 'approval.granted':
      return `approved by ${d.byName ?? d.by}`;
    case 'approval.changes_requested':
      return `changes requested by ${d.byName ?? d.by}: ${d.comment}`;
    case 'lock.waiting':
      return `waiting for ${d.holder}, which holds ${d.path}`;
    case 'conflict.detected':
      return `conflict: ${d.reason}`;
    case 'integrate.committed':
      return `committed ${String(d.commit).slice(0, 12)} on ${d.branch}${(d.push as { pushed?: boolean })?.pushed ? ' (pushed)' : ''}`;
    case 'budget.paused':
      return `⏸ budget gate: ${d.reason}`;
    case 'budget.raised':
      return `budget raised by ${d.byName ?? d.by} (soft limits now ${JSON.stringify(d.soft)})`;
    case 'budget.stopped':
      return `stopped at the budget gate by ${d.byName ?? d.by}${d.comment ? `: ${d.comment}` : ''}`;
    case 'breaker.opened':
      return `model endpoint ${d.endpoint} failing: circuit breaker open (${d.failures} failures); calls wait`;
    case 'breaker.closed':
      return `model endpoint ${d.endpoint} answers again: circuit breaker closed`;
    case 'loop.detected':
      return `loop guard: ${d.what} ${d.repeats} times`;
    case 'step.failed':
      return `step ${e.step?.kind}${attempt} failed: ${d.reason}`;
    case 'candidate.selected':
      return `chose candidate ${d.chosen}: ${d.reason}`;
    default:
      return undefined;
  }
}

interface VerdictCounts {
  fixed: number;
  regressions: number;
  stillFailing: number;
  flaky: number;
  newTests: number;
  envErrors: number;
}

/**
 * `PASS — 5 passed, 0 failed, 0 skipped; 3 fixed, 0 regressions, 2 pre-existing failures (not blocking), 1 flaky`,
 * `timed out after 300s`, `could not run — tests never ran: …`. Events from before verdicts keep the old form.
 */
export function testSummary(d: Record<string, unknown>): string {
  const c = d.counts as { passed: number; failed: number; skipped: number };
  const counts = `${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`;
  const v = d.verdict as VerdictCounts | undefined;
  if (d.outcome === 'timeout') return String(d.reason ?? 'timed out');
  if (d.outcome === 'env_error') return `could not run — ${d.reason}`;
  if (!v) return `${d.passed ? 'PASS' : 'FAIL'} — ${counts}`;
  const parts = [`${v.fixed} fixed`, `${v.regressions} regression${v.regressions === 1 ? '' : 's'}`];
  if (v.stillFailing)
    parts.push(`${v.stillFailing} pre-existing failure${v.stillFailing === 1 ? '' : 's'} (not blocking)`);
  if (v.flaky) parts.push(`${v.flaky} flaky`);
  if (v.newTests) parts.push(`${v.newTests} new`);
  if (v.envErrors) parts.push(`${v.envErrors} environment error${v.envErrors === 1 ? '' : 's'}`);
  const regressions = (d.regressions as string[] | undefined) ?? [];
  const which = regressions.length ? ` (${regressions.join(', ')})` : '';
  const cached = d.baselineCached ? '; baseline cached' : '';
  const broke = d.outcome === 'regression' && !v.regressions ? ` — ${d.reason}` : '';
  return `${d.passed ? 'PASS' : 'FAIL'} — ${counts}; ${parts.join(', ')}${which}${broke}${cached}`;
}
