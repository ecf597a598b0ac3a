// What the chat agent's model sees of a task: plan, retrieved context, patches, test runs, reviews, costs and
// change requests, read from the blackboard, bounded in size, with the API links of each fact.
import type { Blackboard } from '../../blackboard/index.ts';
import {
  CostLedger,
  keys,
  Patch,
  PlanContext,
  Review,
  type TaskRecord,
  TestRun,
} from '../../schemas/index.ts';
import { testLines } from '../reviewer/prompts.ts';
import { changeLines, changeRequests } from '../runtime/change-requests.ts';
import { effectivePlan } from '../runtime/effective-plan.ts';

const DIFF_MAX = 8000;
const SNIPPETS = 8;

export interface TaskBrief {
  text: string;
  links: string[];
}

export async function taskBrief(board: Blackboard, task: TaskRecord): Promise<TaskBrief> {
  const id = task.id;
  const attempts = Array.from({ length: task.attempt }, (_, i) => i + 1);
  const [plan, context, cost, changes, patches, runs, reviews] = await Promise.all([
    effectivePlan(board, id),
    board.get(keys.context(id), PlanContext),
    board.get(keys.cost(id), CostLedger),
    changeRequests(board, id),
    Promise.all(attempts.map((a) => board.get(keys.patch(`${id}-p${a}`), Patch))),
    Promise.all(attempts.map((a) => board.get(keys.testrun(id, a), TestRun))),
    Promise.all(attempts.map((a) => board.get(keys.review(id, a), Review))),
  ]);
  const links = [`/v1/tasks/${id}`, `/v1/tasks/${id}/events`];
  const out = [
    `Task ${id} (${links[0]}): "${task.request.title}" — ${task.status.replaceAll('_', ' ')}, attempt ${task.attempt}.`,
    task.request.description.slice(0, 3000),
  ];
  if (task.reason) out.push(`Reason: ${task.reason.slice(0, 1000)}`);
  if (task.branch) out.push(`Branch: ${task.branch}${task.commit ? ` at ${task.commit.slice(0, 12)}` : ''}.`);
  if (plan) {
    links.push(`/v1/tasks/${id}/plan`);
    out.push('', `Plan (/v1/tasks/${id}/plan): ${plan.summary}`);
    for (const s of plan.subtasks)
      out.push(
        `- [${s.id}] ${s.title} — done when: ${s.successCriteria.join('; ')}${s.files.length ? ` — files: ${s.files.join(', ')}` : ''}`,
      );
  }
  if (context?.value.snippets.length) {
    out.push('', `Code the Curator retrieved for the plan (top ${SNIPPETS}):`);
    for (const c of context.value.snippets.slice(0, SNIPPETS))
      out.push(
        `- ${c.path}:${c.startLine}-${c.endLine}${c.symbol ? ` ${c.symbol}` : ''}${c.why ? ` (${c.why})` : ''}`,
        `  ${c.text.slice(0, 400).replace(/\n/g, '\n  ')}`,
      );
  }
  for (const a of attempts) {
    const patch = patches[a - 1]?.value;
    const run = runs[a - 1]?.value;
    const review = reviews[a - 1]?.value;
    if (!patch && !run && !review) continue;
    out.push('', `Attempt ${a}:`);
    if (patch) {
      const link = `/v1/patches/${patch.id}`;
      links.push(link);
      out.push(
        `Patch ${patch.id} (${link}): ${patch.summary}; ${patch.files.join(', ')}; +${patch.stats.additions} -${patch.stats.deletions}`,
      );
      // The newest diff in full (bounded); earlier ones by their summary.
      if (a === task.attempt)
        out.push(
          patch.diff.length > DIFF_MAX ? `${patch.diff.slice(0, DIFF_MAX)}\n[… diff cut]` : patch.diff,
        );
    }
    if (run) out.push(...testLines(run));
    if (review) {
      out.push(
        `Review: ${review.decision} (confidence ${review.confidence.toFixed(2)}): ${review.critique.slice(0, 1500)}`,
        ...review.risks.map((r) => `- risk ${r.level}: ${r.note.slice(0, 300)}`),
      );
    }
  }
  if (cost) {
    const t = cost.value.totals;
    out.push(
      '',
      `Spent: ${t.calls} model call(s), ${t.promptTokens + t.completionTokens} tokens, $${t.costUsd.toFixed(4)}.`,
    );
  }
  out.push(...changeLines(changes));
  return { text: out.join('\n'), links };
}
