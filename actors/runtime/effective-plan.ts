// The plan the agents work to: the one a human edited at the `post-plan` gate, else the Planner's.
import type { Blackboard } from '../../blackboard/index.ts';
import { keys, Plan, PlanApproval } from '../../schemas/index.ts';

/**
 * @example const plan = await effectivePlan(mesh.board, task.id); // edited at the gate, else proposed
 */
export async function effectivePlan(board: Blackboard, taskId: string): Promise<Plan | undefined> {
  const [proposed, approval] = await Promise.all([
    board.get(keys.plan(taskId), Plan),
    board.get(keys.planapproval(taskId), PlanApproval),
  ]);
  return approval?.value.plan ?? proposed?.value;
}
