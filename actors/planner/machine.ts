// The Planner agent: repository overview → model → a validated DAG of subtasks on the blackboard.
import { keys, Plan } from '../../schemas/index.ts';
import { askJson } from '../runtime/ask-json.ts';
import { repoOverview } from '../runtime/repo-context.ts';
import { oneEffectMachine } from '../runtime/step-machine.ts';
import type { AgentDefinition, StepInput, StepOutput } from '../runtime/types.ts';
import { plannerSystem, plannerUser } from './prompts.ts';

async function planStep(input: StepInput, signal: AbortSignal): Promise<StepOutput> {
  const { task } = input;
  const overview = await repoOverview(input, `${task.request.title}\n${task.request.description}`, signal);
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
