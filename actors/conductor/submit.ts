// Task intake: validate the request, pin the repository commit, create the record, publish task.created.
import type { MeshConnection } from '../../blackboard/index.ts';
import { keys, newTaskId, TaskRecord, TaskRequest, type TaskRequestInput } from '../../schemas/index.ts';
import { resolveCommit, resolveRepo } from '../runtime/git.ts';
import { initialWorkflow, statusOf } from './workflow.ts';

/**
 * Throws ZodError for a malformed request and RepoNotFoundError for a path or ref that is not a git commit.
 * @example const task = await submitTask(mesh, { repo: '/src/app', title: 'Fix the off-by-one' });
 */
export async function submitTask(
  mesh: MeshConnection,
  input: TaskRequestInput,
  opts: { now?: () => number; id?: string } = {},
): Promise<TaskRecord> {
  const request = TaskRequest.parse(input);
  const repoPath = await resolveRepo(request.repo);
  const baseCommit = await resolveCommit(repoPath, request.baseRef ?? 'HEAD');
  const now = new Date((opts.now ?? Date.now)()).toISOString();
  const id = opts.id ?? newTaskId();
  const workflow = initialWorkflow({ maxAttempts: request.budget.maxAttempts, approveMode: request.approve });
  const record: TaskRecord = {
    id,
    request: { ...request, repo: repoPath },
    repoPath,
    baseCommit,
    status: statusOf(workflow),
    attempt: 0,
    workflow,
    createdAt: now,
    updatedAt: now,
  };
  await mesh.board.create(keys.task(id), TaskRecord, record);
  await mesh.bus.publish({
    id: `${id}:created`,
    taskId: id,
    type: 'task.created',
    at: now,
    data: { title: request.title, repo: repoPath, baseCommit, approve: request.approve },
  });
  return record;
}
