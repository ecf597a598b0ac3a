// The pull request's body: what a reviewer on GitHub needs to judge the change without opening codemesh —
// the plan, why each file changed, the tests (fail→pass, regressions), risks, confidence, cost, policy findings.
import type { CostLedger, Patch, Plan, Review, TaskRecord, TestRun } from '../../../schemas/index.ts';
import { confidenceText } from '../../reviewer/confidence.ts';

export interface PrBodyInput {
  task: TaskRecord;
  patch: Patch;
  plan?: Plan;
  testRun?: TestRun;
  review?: Review;
  cost?: CostLedger['totals'];
  /** `gate`: waiting for a human in codemesh; `integrated`: approved (or auto-approved) and committed. */
  stage: 'gate' | 'integrated';
  /** Where approving happens (the gateway's URL, when known). */
  approveHint?: string;
}

/** Markdown section headings, in order (tests assert every one is there). */
export const PR_SECTIONS = [
  '## Plan',
  '## Rationale per file',
  '## Tests',
  '## Risk flags',
  '## Confidence',
  '## Cost',
] as const;

const list = (items: string[], none: string) =>
  items.length ? items.map((i) => `- ${i}`).join('\n') : `_${none}_`;
const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;

export function prTitle(task: TaskRecord): string {
  return `codemesh: ${task.request.title}`.slice(0, 250);
}

export function prBody(x: PrBodyInput): string {
  const { task, patch, plan, testRun, review } = x;
  const out: string[] = [];
  if (task.request.issueUrl) out.push(`Fixes ${task.request.issueUrl}`, '');
  out.push(
    x.stage === 'gate'
      ? `> Draft: codemesh task ${code(task.id)} waits at its human approval gate for patch ${code(patch.id)}.${x.approveHint ? ` ${x.approveHint}` : ''} The pull request is marked ready when the patch is approved and integrated.`
      : `> Approved and integrated by codemesh (task ${code(task.id)}, patch ${code(patch.id)}).`,
    '',
  );

  out.push('## Plan', '', plan?.summary ?? '_no plan recorded_', '');
  if (plan)
    for (const s of plan.subtasks) out.push(`- **${s.title}** (${s.id}): ${s.successCriteria.join('; ')}`);
  out.push('');

  out.push('## Rationale per file', '');
  for (const f of patch.files) {
    const why = plan?.subtasks.filter((s) => s.files.includes(f)).map((s) => s.title) ?? [];
    out.push(
      `- ${code(f)}: ${why.length ? why.join('; ') : patch.summary || plan?.summary || 'part of the change'}`,
    );
  }
  out.push('', `${patch.stats.additions} additions, ${patch.stats.deletions} deletions.`, '');

  out.push('## Tests', '');
  if (!testRun) out.push('_no test run recorded_');
  else {
    const v = testRun.verdict;
    out.push(
      `${testRun.passed ? 'Passed' : 'Did not pass'} (${testRun.outcome ?? (testRun.passed ? 'pass' : 'fail')}; ${testRun.runner}): ${testRun.counts.passed} passed, ${testRun.counts.failed} failed, ${testRun.counts.skipped} skipped.${testRun.reason ? ` ${testRun.reason}` : ''}`,
      '',
      '**Fail → pass**',
      list(v?.fixed ?? [], 'none'),
      '',
      '**Regressions**',
      list(v?.regressions ?? [], 'none'),
    );
    if (v?.newTests.length) out.push('', '**New tests**', list(v.newTests, 'none'));
  }
  out.push('');

  out.push('## Risk flags', '');
  const risks = [
    ...(review?.risks ?? []).map((r) => `**${r.level}**: ${r.note}`),
    ...(plan?.risks ?? []).map((r) => `plan: ${r}`),
  ];
  out.push(list(risks, 'none raised'), '');

  out.push('## Confidence', '');
  out.push(
    review
      ? `Reviewer: ${review.decision}, ${confidenceText(review)}. ${review.critique.split('\n')[0]!.slice(0, 500)}`
      : '_no review recorded_',
    '',
  );

  out.push('## Cost', '');
  const c = x.cost;
  out.push(
    c
      ? `$${c.costUsd.toFixed(4)} over ${c.calls} model calls (${c.promptTokens + c.completionTokens} tokens), attempt ${task.attempt}.`
      : '_no model spending recorded_',
    '',
  );

  if (patch.secrets?.length) {
    out.push('## Policy findings', '');
    out.push(
      list(
        patch.secrets.map((s) => `${s.ruleId} in ${code(s.file)} line ${s.line} (redacted)`),
        'none',
      ),
      '',
    );
  }
  out.push('---', `Codemesh-Task: ${task.id}`, `Codemesh-Patch: ${patch.id}`);
  return out.join('\n');
}

/** The revert pull request's body: it names and links the pull request it undoes. */
export function revertBody(
  task: TaskRecord,
  original: { number: number; url: string },
  reason?: string,
): string {
  return [
    `Reverts #${original.number} (${original.url}).`,
    '',
    `Rolled back by codemesh: task ${code(task.id)}, commit ${code(task.commit ?? '')}.${reason ? `\n\nReason: ${reason}` : ''}`,
    '',
    '---',
    `Codemesh-Task: ${task.id}`,
  ].join('\n');
}
