// Asking for a rollback: only a completed task's integrated patch can be rolled back (on a new branch).
import type { MeshConnection } from '../../blackboard/index.ts';
import { keys, parsePatchId, TaskRecord } from '../../schemas/index.ts';

export class RollbackRefusedError extends Error {
  override readonly name = 'RollbackRefusedError';
  readonly code = 'ROLLBACK_REFUSED';
}

/** Publishes `rollback.requested`; the conductor runs the Integrator's rollback step. Idempotent. */
export async function requestRollback(
  mesh: MeshConnection,
  patchId: string,
  opts: { by: string; reason?: string; now?: () => number },
): Promise<TaskRecord> {
  const parsed = parsePatchId(patchId);
  if (!parsed) throw new RollbackRefusedError(`"${patchId.slice(0, 80)}" is not a patch id`);
  const task = (await mesh.board.get(keys.task(parsed.taskId), TaskRecord))?.value;
  if (!task) throw new RollbackRefusedError(`no task ${parsed.taskId}`);
  if (task.workflow.context.patchId !== patchId)
    throw new RollbackRefusedError(`patch ${patchId} is not the integrated patch of ${task.id}`);
  if (!['completed', 'rolling_back', 'rolled_back'].includes(task.status))
    throw new RollbackRefusedError(
      `task ${task.id} is ${task.status}; only a completed task can be rolled back`,
    );
  await mesh.bus.publish({
    id: `${task.id}:rollback-requested`,
    taskId: task.id,
    type: 'rollback.requested',
    at: new Date((opts.now ?? Date.now)()).toISOString(),
    data: { patchId, by: opts.by, ...(opts.reason ? { reason: opts.reason } : {}) },
  });
  return task;
}
