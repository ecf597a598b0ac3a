// The Planner agent: repository overview → model → a validated DAG of subtasks on the blackboard.
import { keys, Plan, PlanContext } from '../../schemas/index.ts';
import { askJson } from '../runtime/ask-json.ts';
import { repoOverviewWithSnippets } from '../runtime/repo-context.ts';
import { oneEffectMachine } from '../runtime/step-machine.ts';
import type { AgentDefinition, StepInput, StepOutput } from '../runtime/types.ts';
import { plannerSystem, plannerUser } from './prompts.ts';

async function planStep(input: StepInput, signal: AbortSignal): Promise<StepOutput> {
  const { task } = input;
  const query = `${task.request.title}\n${task.request.description}`;
  const { text: overview, snippets } = await repoOverviewWithSnippets(input, query, signal);
  // What the Planner planned with, for the humans at the `post-plan` gate (first writer wins on a re-run).
  await input.mesh.board.putOnce(
    keys.context(task.id),
    PlanContext,
    {
      taskId: task.id,
      commit: task.baseCommit,
      query: query.slice(0, 4000),
      snippets: snippets.map((s) => ({
        path: s.path,
        startLine: s.startLine,
        endLine: s.endLine,
        symbol: s.symbol ?? '',
        score: s.score,
        why: s.why ?? '',
        text: s.text,
      })),
      at: new Date(input.deps.now()).toISOString(),
    },
    () => true,
  );
  const { value: plan } = await askJson(
    input,
    'planner',
    [
      { role: 'system', content: plannerSystem() },
      { role: 'user', content: plannerUser(task, overview) },
    ],
    Plan,
    { signal },
  );
  // First writer wins: a re-run after a crash keeps the plan that is already on the blackboard.
  const stored = (await input.mesh.board.putOnce(keys.plan(task.id), Plan, plan, () => true)).entry.value;
  await input.deps.emit({
    id: `${input.stepId}:plan.ready`,
    taskId: task.id,
    type: 'plan.ready',
    data: {
      summary: stored.summary,
      subtasks: stored.subtasks.map((s) => ({ id: s.id, title: s.title, dependsOn: s.dependsOn })),
    },
  });
  return { ok: true, data: { subtasks: stored.subtasks.length } };
}

export const plannerMachine = oneEffectMachine('planner', planStep);

export const planner: AgentDefinition = {
  capability: 'planner',
  machine: plannerMachine,
  estimateCostUsd: () => 0.01,
};
