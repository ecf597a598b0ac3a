// The review step of an attempt with k candidates: the Reviewer ranks those that earned selection on their tests,
// the choice follows test evidence, then agreement (normalized-diff votes), then that ranking; the chosen patch,
// test run and verdict become the attempt's (`patch.<task>-p1`, ...), and every candidate stays on the record.
import {
  CandidateRanking,
  type CandidatesContext,
  candidateInputs,
  candidatesOf,
  eligibleCandidates,
  judgeCandidates,
  keys,
  Patch,
  patchId,
  Review,
  ReviewVerdict,
  Selection,
  TestRun,
} from '../../schemas/index.ts';
import { askJson, StepFailure } from '../runtime/ask-json.ts';
import { markCandidate, selectionEntries } from '../runtime/candidate-record.ts';
import { changeRequests } from '../runtime/change-requests.ts';
import { effectivePlan } from '../runtime/effective-plan.ts';
import type { StepInput, StepOutput } from '../runtime/types.ts';
import { rankingSystem, rankingUser, reviewerSystem, reviewerUser } from './prompts.ts';
import { reviewConfidence } from './review-confidence.ts';

/** The candidates of this review step's attempt, when it has them. */
export function stepCandidates(input: StepInput): CandidatesContext | undefined {
  return input.attempt === 1 ? candidatesOf(input.task.workflow.context) : undefined;
}

interface Shown {
  candidate: number;
  patch: Patch;
  testRun?: TestRun;
}

/** A ranking must name every candidate shown, each once (an incomplete one goes back to the model). */
function rankingOf(shown: readonly number[]) {
  return CandidateRanking.superRefine((r, ctx) => {
    const named = r.ranking.map((x) => x.candidate);
    const missing = shown.filter((n) => !named.includes(n));
    const extra = named.filter((n, i) => !shown.includes(n) || named.indexOf(n) !== i);
    if (missing.length || extra.length)
      ctx.addIssue({
        code: 'custom',
        path: ['ranking'],
        message: `rank exactly candidates ${shown.join(', ')}, each once${missing.length ? ` (missing ${missing.join(', ')})` : ''}${extra.length ? ` (not allowed: ${extra.join(', ')})` : ''}`,
      });
  });
}

export async function selectCandidate(
  input: StepInput,
  c: CandidatesContext,
  enforce: (v: ReviewVerdict, run: TestRun | undefined, patch: Patch) => ReviewVerdict,
  signal: AbortSignal,
): Promise<StepOutput> {
  const { task, mesh, attempt, deps } = input;
  // A re-run after a crash follows the choice already stored, without asking the model again.
  const done = (await mesh.board.get(keys.selection(task.id, attempt), Selection))?.value;
  if (done?.chosen !== undefined && done.verdict) return adoptSelection(input, done);
  const inputs = candidateInputs(c);
  const eligible = eligibleCandidates(inputs);
  if (eligible.length === 0)
    throw new StepFailure('no candidate earned selection (the workflow should have abstained)');
  const shown: Shown[] = await Promise.all(
    eligible.map(async (n) => {
      const patch = (await mesh.board.get(keys.patch(patchId(task.id, attempt, n)), Patch))?.value;
      if (!patch) throw new StepFailure(`candidate ${n}'s patch is not on the blackboard`);
      const testRun = (await mesh.board.get(keys.testrun(task.id, attempt, n), TestRun))?.value;
      return { candidate: n, patch, ...(testRun ? { testRun } : {}) };
    }),
  );
  const plan = await effectivePlan(mesh.board, task.id);
  const changes = await changeRequests(mesh.board, task.id);
  // One candidate: the usual review of it. Several: one call that ranks them all.
  let ranking: CandidateRanking['ranking'];
  if (shown.length === 1) {
    const only = shown[0]!;
    const { value } = await askJson(
      input,
      'reviewer',
      [
        { role: 'system', content: reviewerSystem() },
        { role: 'user', content: reviewerUser(task, only.patch, only.testRun, plan, changes) },
      ],
      ReviewVerdict,
      { signal },
    );
    ranking = [{ candidate: only.candidate, ...value }];
  } else {
    const { value } = await askJson(
      input,
      'reviewer',
      [
        { role: 'system', content: rankingSystem() },
        { role: 'user', content: rankingUser(task, shown, plan, changes) },
      ],
      rankingOf(eligible),
      { signal },
    );
    ranking = value.ranking;
  }
  const rank = new Map(ranking.map((r, i) => [r.candidate, i + 1]));
  const judged = judgeCandidates(
    inputs.map((x) => ({ ...x, ...(rank.has(x.candidate) ? { reviewRank: rank.get(x.candidate) } : {}) })),
  );
  const chosen = judged.chosen!;
  const pick = shown.find((s) => s.candidate === chosen)!;
  const said = ranking.find((r) => r.candidate === chosen)!;
  const verdict = enforce(
    { decision: said.decision, confidence: said.confidence, critique: said.critique, risks: said.risks },
    pick.testRun,
    pick.patch,
  );
  const at = new Date(deps.now()).toISOString();
  const j = judged.judged.find((x) => x.candidate === chosen)!;
  const selection: Selection = {
    taskId: task.id,
    attempt,
    k: c.k,
    candidates: await selectionEntries(mesh.board, { taskId: task.id, attempt }, c, judged.judged),
    chosen,
    abstained: false,
    reason: `candidate ${chosen}: ${j.why}; ${j.votes} of ${c.k} agree on its change${j.reviewRank ? `; the Reviewer ranked it ${j.reviewRank} of ${ranking.length}` : ''}`,
    ...(ranking.length > 1 ? { ranking } : {}),
    verdict,
    at,
  };
  // First writer wins: a re-run after a crash follows the stored choice, whatever the model said this time.
  const stored = (
    await mesh.board.putOnce(
      keys.selection(task.id, attempt),
      Selection,
      selection,
      (a, b) => a.taskId === b.taskId,
    )
  ).entry.value;
  return adoptSelection(input, stored);
}

/** The stored choice becomes the attempt's patch, test run and review; the candidates' records say who won. */
async function adoptSelection(input: StepInput, sel: Selection): Promise<StepOutput> {
  const { task, mesh, attempt, deps } = input;
  const chosen = sel.chosen!;
  const verdict = sel.verdict!;
  const pid = patchId(task.id, attempt);
  const at = new Date(deps.now()).toISOString();
  const src = (await mesh.board.get(keys.patch(patchId(task.id, attempt, chosen)), Patch))?.value;
  if (!src) throw new StepFailure(`candidate ${chosen}'s patch is not on the blackboard`);
  await mesh.board.putOnce(
    keys.patch(pid),
    Patch,
    { ...src, id: pid, summary: `${src.summary} (chosen of ${sel.k})` },
    (a, b) => a.id === b.id,
  );
  const run = (await mesh.board.get(keys.testrun(task.id, attempt, chosen), TestRun))?.value;
  if (run)
    await mesh.board.putOnce(
      keys.testrun(task.id, attempt),
      TestRun,
      { ...run, id: `${task.id}-${attempt}`, patchId: pid },
      (a, b) => a.id === b.id,
    );
  const review: Review = {
    ...verdict,
    id: `${task.id}-${attempt}`,
    taskId: task.id,
    attempt,
    patchId: pid,
    createdAt: at,
    calibration: await reviewConfidence(input, verdict, { ...src, id: pid }, run),
  };
  const storedReview = (
    await mesh.board.putOnce(keys.review(task.id, attempt), Review, review, (a, b) => a.id === b.id)
  ).entry.value;
  await Promise.all(
    sel.candidates.map((x) =>
      x.patchId
        ? markCandidate(
            mesh.board,
            { taskId: task.id, attempt, candidate: x.candidate },
            { state: x.candidate === chosen ? 'chosen' : 'not_chosen' },
            at,
          )
        : undefined,
    ),
  );
  const step = { kind: 'review' as const, attempt };
  await deps.emit({
    id: `${input.stepId}:candidate.selected`,
    taskId: task.id,
    type: 'candidate.selected',
    step,
    data: {
      chosen,
      patchId: pid,
      from: patchId(task.id, attempt, chosen),
      reason: sel.reason,
      candidates: sel.candidates.map(({ candidate, tier, votes, reviewRank, place, why }) => ({
        candidate,
        tier,
        votes,
        why,
        ...(reviewRank ? { reviewRank } : {}),
        ...(place ? { place } : {}),
      })),
    },
  });
  // The chosen patch under the attempt's id: what the gate approves and the Integrator commits.
  await deps.emit({
    id: `${input.stepId}:patch.proposed`,
    taskId: task.id,
    type: 'patch.proposed',
    step,
    data: {
      patchId: pid,
      candidate: chosen,
      files: src.files,
      summary: `${src.summary} (chosen of ${sel.k})`,
    },
  });
  const data = {
    patchId: pid,
    candidate: chosen,
    decision: storedReview.decision,
    confidence: storedReview.confidence,
    ...(storedReview.calibration ? { calibrated: storedReview.calibration.calibrated } : {}),
    critique: storedReview.critique,
    risks: storedReview.risks,
  };
  await deps.emit({
    id: `${input.stepId}:review.completed`,
    taskId: task.id,
    type: 'review.completed',
    step,
    data,
  });
  return { ok: true, data };
}
