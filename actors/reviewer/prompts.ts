// Prompts of the Reviewer.
import type { ChangeRequest, Patch, Plan, TaskRecord, TestRun } from '../../schemas/index.ts';
import { roleMarker } from '../llm/index.ts';
import { changeLines } from '../runtime/change-requests.ts';

export function reviewerSystem(): string {
  return `${roleMarker('reviewer')} You are the Reviewer of codemesh. You judge one patch against its task, plan
and test results. Reply with one JSON object and nothing else:
{"decision": "approve"|"revise", "confidence": number between 0 and 1, "critique": string,
 "risks": [{"level": "low"|"medium"|"high", "note": string}]}
Approve only a patch that does what the task asks and carries no unexplained risk. The tests ran with the patch
and on the base commit without it; judge by the comparison: a regression (a test that passed before and fails
with the patch, or a new test that fails) is never approved; pre-existing failures (failing before the patch
too) and flaky tests (outcome changed between runs of the same code) do not block by themselves, but a patch
that leaves failing a test the task is about does not do what it asks; environment errors (missing
modules or tools, collection errors) are reported in your risks, not held against the patch. When you ask for
a revision, the critique must say exactly what to change.`;
}

export function reviewerUser(
  task: TaskRecord,
  patch: Patch,
  testRun: TestRun | undefined,
  plan?: Plan,
  changes: readonly ChangeRequest[] = [],
): string {
  const parts = [`Task: ${task.request.title}`, '', task.request.description];
  if (plan)
    parts.push(
      '',
      `Plan: ${plan.summary}`,
      ...plan.subtasks.map((s) => `- ${s.title}: ${s.successCriteria.join('; ')}`),
    );
  parts.push(...changeLines(changes));
  parts.push('', `Patch ${patch.id} (${patch.summary}):`, patch.diff.slice(0, 30_000));
  if (testRun) parts.push('', ...testLines(testRun));
  else parts.push('', 'No test run is recorded for this patch.');
  return parts.join('\n');
}

const LIST_MAX = 15;

/** The test run in compact form: outcome, the categories, then the failing tests that matter with messages. */
export function testLines(run: TestRun): string[] {
  const head = `Tests (${run.runner}, exit ${run.exitCode}${run.timedOut ? ', timed out' : ''}): ${run.counts.passed} passed, ${run.counts.failed} failed, ${run.counts.skipped} skipped.`;
  const v = run.verdict;
  if (!v || !run.outcome) {
    return [
      head,
      ...run.tests
        .filter((t) => t.status === 'failed')
        .slice(0, 20)
        .map((t) => `FAILED ${t.name}: ${(t.message ?? '').slice(0, 500)}`),
    ];
  }
  const byName = new Map(run.tests.map((t) => [t.name, t]));
  const list = (label: string, names: string[], withMessage = false) => {
    if (names.length === 0) return [];
    const shown = names.slice(0, LIST_MAX);
    const more = names.length > shown.length ? ` (+${names.length - shown.length} more)` : '';
    if (!withMessage) return [`${label} (${names.length}): ${shown.join(', ')}${more}`];
    return [
      `${label} (${names.length})${more}:`,
      ...shown.map((n) => `- ${n}: ${(byName.get(n)?.message ?? '').slice(0, 500)}`),
    ];
  };
  const base = run.baseline;
  return [
    head,
    `Outcome: ${run.outcome} — ${run.reason ?? ''}`,
    base
      ? `Base commit (no patch${base.cached ? ', cached' : ''}): ${base.problem ? `could not run: ${base.problem}` : `${base.counts.passed} passed, ${base.counts.failed} failed`}.`
      : 'No base-commit run to compare with.',
    ...list('REGRESSIONS, blocking', v.regressions, true),
    ...list('Fixed by the patch', v.fixed),
    ...list('Pre-existing failures, not blocking', v.stillFailing),
    ...list('Flaky, not blocking', v.flaky),
    ...list('New tests', v.newTests),
    ...list('Missing with the patch (ran on the base)', v.missing),
    ...(v.envErrors.length
      ? [
          `Environment errors (${v.envErrors.length}), report them, they do not block:`,
          ...v.envErrors
            .slice(0, LIST_MAX)
            .map(
              (e) => `- ${e.name}: ${e.message.slice(0, 200)}${e.onBase ? ' (also on the base commit)' : ''}`,
            ),
        ]
      : []),
    ...(run.coverage ? [coverageLine(run.coverage)] : []),
  ];
}

/** `Coverage (coverage.py): added lines run by the tests 5/6 (83.3%); changed files 71.2% (base 69%, +2.2).` */
export function coverageLine(c: NonNullable<TestRun['coverage']>): string {
  if (!c.measured) return `Coverage: not measured (${c.reason ?? 'no coverage.py for the interpreter'}).`;
  const added = c.changedLines
    ? `added lines run by the tests ${c.changedCovered}/${c.changedLines} (${c.changedPct}%)`
    : 'no executable added lines';
  const delta =
    c.deltaPct === null || c.deltaPct === undefined ? '' : `, ${c.deltaPct >= 0 ? '+' : ''}${c.deltaPct}`;
  const base = c.basePct === null || c.basePct === undefined ? '' : ` (base ${c.basePct}%${delta})`;
  const files = c.pct === null || c.pct === undefined ? '' : `; changed files ${c.pct}%${base}`;
  return `Coverage (${c.tool}): ${added}${files}.`;
}

/** The Reviewer ranks the candidates that earned selection on their tests: best first, each judged. */
export function rankingSystem(): string {
  return `${roleMarker('reviewer')} You are the Reviewer of codemesh. Several candidate patches for one task
passed its tests (each was written independently). Rank them, best first, and judge each as you would one
patch. Reply with one JSON object and nothing else:
{"ranking": [{"candidate": number, "decision": "approve"|"revise", "confidence": number between 0 and 1,
 "critique": string, "risks": [{"level": "low"|"medium"|"high", "note": string}]}]}
Rank every candidate listed, each once. Prefer the patch that does what the task asks most directly, with the
smallest risk and no unrelated change; when you ask for a revision, the critique must say exactly what to change.`;
}

export function rankingUser(
  task: TaskRecord,
  candidates: ReadonlyArray<{ candidate: number; patch: Patch; testRun?: TestRun }>,
  plan?: Plan,
  changes: readonly ChangeRequest[] = [],
): string {
  const parts = [`Task: ${task.request.title}`, '', task.request.description];
  if (plan)
    parts.push(
      '',
      `Plan: ${plan.summary}`,
      ...plan.subtasks.map((s) => `- ${s.title}: ${s.successCriteria.join('; ')}`),
    );
  parts.push(...changeLines(changes));
  const each = Math.floor(30_000 / Math.max(1, candidates.length));
  for (const c of candidates) {
    parts.push('', `=== Candidate ${c.candidate} (${c.patch.summary}) ===`, c.patch.diff.slice(0, each));
    if (c.testRun) parts.push('', ...testLines(c.testRun));
  }
  return parts.join('\n');
}
