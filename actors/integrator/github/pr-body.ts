// The pull request's body: what a reviewer on GitHub needs to judge the change without opening codemesh —
// the plan, why each file changed, the tests (fail→pass, regressions), risks, confidence, cost, the policy report
// and the documentation the Doc Writer updated. Also the Doc Writer's PR description (actors/docwriter).
import type { Blackboard } from '../../../blackboard/index.ts';
import {
  CostLedger,
  DocPatch,
  keys,
  Patch,
  type Plan,
  Review,
  type TaskRecord,
  TestRun,
} from '../../../schemas/index.ts';
import { effectivePlan } from '../../runtime/effective-plan.ts';
import { confidenceText } from '../../reviewer/confidence.ts';

export interface PrBodyInput {
  task: TaskRecord;
  patch: Patch;
  plan?: Plan;
  testRun?: TestRun;
  review?: Review;
  cost?: CostLedger['totals'];
  /** The Doc Writer's documentation patch for `patch` (tasks with `docs: true`). */
  docs?: DocPatch;
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
  '## Policy report',
  '## Cost',
  '## Documentation',
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
  for (const f of x.docs?.secrets?.length ? [] : (x.docs?.files ?? []))
    out.push(
      `- ${code(f)} (documentation, its own commit): brought in line with ${x.docs!.symbols.map((s) => code(s.name)).join(', ')}`,
    );
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

  out.push('## Policy report', '', ...policyLines(patch), '');

  out.push('## Cost', '');
  const c = x.cost;
  out.push(
    c
      ? `$${c.costUsd.toFixed(4)} over ${c.calls} model calls (${c.promptTokens + c.completionTokens} tokens), attempt ${task.attempt}.`
      : '_no model spending recorded_',
    '',
  );

  out.push('## Documentation', '', ...docsLines(x.docs), '');

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

function policyLines(patch: Patch): string[] {
  const r = patch.policy;
  if (!r) return ['_no policy report recorded_'];
  const counts = Object.entries(r.counts)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const lines = [
    `Bundle ${code(r.bundle)}: ${r.findings.length} finding(s) (${counts}); ${r.blocked ? '**blocking**' : 'nothing blocks'}.`,
  ];
  const shown = r.findings
    .slice(0, 10)
    .map(
      (f) =>
        `${f.enforcement} ${code(f.ruleId)}${f.cwe ? ` (${f.cwe})` : ''} at ${code(`${f.file}${f.line ? `:${f.line}` : ''}`)}: ${f.message} — ${f.remediation}`,
    );
  if (shown.length) lines.push('', list(shown, 'none'));
  if (r.override)
    lines.push(
      '',
      `**Override** by ${code(r.override.by)} at ${r.override.at} of ${r.override.ruleIds.map(code).join(', ')}: ${r.override.reason}`,
    );
  if (r.dependencies.length)
    lines.push('', `${r.dependencies.length} dependency change(s); SBOM attached in codemesh.`);
  return lines;
}

function docsLines(docs: DocPatch | undefined): string[] {
  if (!docs) return ['_the Doc Writer did not run for this task_'];
  if (docs.secrets?.length)
    return ['_the documentation edits held secrets: they were redacted and not committed_'];
  if (docs.skipped || docs.files.length === 0)
    return [`_no documentation change: ${docs.skipped ?? 'nothing to update'}_`];
  const reviews = docs.reviews ?? [];
  const reviewed = reviews.length
    ? ` Approved by the reviewer model${reviews.length > 1 ? ` after ${reviews.length - 1} revision${reviews.length > 2 ? 's' : ''}` : ''}.`
    : '';
  return [
    `Patch ${code(docs.id)}, committed after the code: ${docs.files.map(code).join(', ')} (${docs.stats.additions} additions, ${docs.stats.deletions} deletions).${reviewed}`,
    '',
    list(
      docs.symbols.map((s) => `${code(s.name)} in ${code(s.file)}: ${code(s.before)} → ${code(s.after)}`),
      'none',
    ),
  ];
}

/** Everything `prBody` shows of a task's patch, read from the blackboard. */
export async function loadPrBodyInput(
  board: Blackboard,
  task: TaskRecord,
  patchId: string,
): Promise<Omit<PrBodyInput, 'stage'>> {
  const patch = (await board.get(keys.patch(patchId), Patch))?.value;
  if (!patch) throw new Error(`patch ${patchId} is not on the blackboard`);
  const [plan, testRun, review, cost, docs] = await Promise.all([
    effectivePlan(board, task.id),
    board.get(keys.testrun(task.id, patch.attempt), TestRun),
    board.get(keys.review(task.id, patch.attempt), Review),
    board.get(keys.cost(task.id), CostLedger),
    board.get(keys.docs(patchId), DocPatch),
  ]);
  return {
    task,
    patch,
    ...(plan ? { plan } : {}),
    ...(testRun ? { testRun: testRun.value } : {}),
    ...(review ? { review: review.value } : {}),
    ...(cost ? { cost: cost.value.totals } : {}),
    ...(docs ? { docs: docs.value } : {}),
  };
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
