// Asking for a rollback: only a completed task's integrated patch can be rolled back (on a new branch).
import type { MeshConnection } from '../../blackboard/index.ts';
import type { RollbackView } from '../../schemas/api.ts';
import { keys, parsePatchId, type TaskEvent, TaskRecord } from '../../schemas/index.ts';

export class RollbackRefusedError extends Error {
  override readonly name = 'RollbackRefusedError';
  readonly code = 'ROLLBACK_REFUSED';
}

/** Publishes `rollback.requested`; the conductor runs the Integrator's rollback step. Idempotent. */
export async function requestRollback(
  mesh: MeshConnection,
  patchId: string,
  opts: { by: string; byName?: string; reason?: string; now?: () => number },
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
    data: {
      patchId,
      by: opts.by,
      ...(opts.byName ? { byName: opts.byName } : {}),
      ...(opts.reason ? { reason: opts.reason } : {}),
    },
  });
  return task;
}

/** The rollback events of a task. */
export const ROLLBACK_EVENTS: ReadonlySet<TaskEvent['type']> = new Set([
  'rollback.requested',
  'rollback.committed',
  'task.rolled_back',
]);

/**
 * What a task's events say of its rollback: who asked and when, the revert's branch and commit, when it was
 * done. Undefined when no rollback was asked. A rollback step that failed leaves `state: 'requested'` (the
 * task is `completed` again, its commit standing, with the reason on the task).
 */
export function rollbackOf(events: readonly TaskEvent[]): RollbackView | undefined {
  const asked = events.find((e) => e.type === 'rollback.requested');
  if (!asked) return undefined;
  const committed = events.find((e) => e.type === 'rollback.committed');
  const done = events.find((e) => e.type === 'task.rolled_back');
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  return {
    state: done ? 'rolled_back' : committed ? 'committed' : 'requested',
    patchId: String(asked.data.patchId ?? ''),
    by: String(asked.data.by ?? ''),
    byName: str(asked.data.byName),
    reason: str(asked.data.reason),
    requestedAt: asked.at,
    branch: str(committed?.data.branch) ?? str(done?.data.branch),
    commit: str(committed?.data.commit),
    reverts: str(committed?.data.reverts) ?? str(done?.data.of),
    committedAt: committed?.at ?? null,
    doneAt: done?.at ?? null,
  };
}
