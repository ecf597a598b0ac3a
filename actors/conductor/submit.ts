// Task intake: validate the request, pin the repository commit, create the record, publish task.created.
// Split in two so a caller that keeps its own record (the gateway) can write it between the checks and the
// publication: nothing runs until `publishTask`, so a refusal before it leaves no task behind.
import type { MeshConnection } from '../../blackboard/index.ts';
import { keys, newTaskId, TaskRecord, TaskRequest, type TaskRequestInput } from '../../schemas/index.ts';
import { resolveCommit, resolveRepo } from '../runtime/git.ts';
import { checkRepoPlacement, type RepoPlacement } from './repo-policy.ts';
import { initialWorkflow, statusOf } from './workflow.ts';

/**
 * Validates a request and builds its task record; publishes nothing. Throws ZodError for a malformed request,
 * RepoNotFoundError for a path or ref that is not a git commit, RepoPathRefusedError for a refused place.
 */
export async function prepareTask(
  input: TaskRequestInput,
  opts: { now?: () => number; id?: string; placement?: RepoPlacement; orgId?: string } = {},
): Promise<TaskRecord> {
  const request = TaskRequest.parse(input);
  const repoPath = await resolveRepo(request.repo);
  if (opts.placement) await checkRepoPlacement(repoPath, opts.placement);
  const baseCommit = await resolveCommit(repoPath, request.baseRef ?? 'HEAD');
  const now = new Date((opts.now ?? Date.now)()).toISOString();
  const id = opts.id ?? newTaskId();
  const workflow = initialWorkflow({
    maxAttempts: request.budget.maxAttempts,
    approveMode: request.approve,
    planGate: request.gates?.includes('post-plan') ?? false,
    candidates: request.candidates ?? 1,
    docs: request.docs ?? false,
  });
  return TaskRecord.parse({
    id,
    request: { ...request, repo: repoPath },
    ...(opts.orgId ? { orgId: opts.orgId } : {}),
    repoPath,
    baseCommit,
    status: statusOf(workflow),
    attempt: 0,
    workflow,
    createdAt: now,
    updatedAt: now,
  });
}

/**
 * Starts a prepared task: creates its blackboard entry and publishes task.created. Idempotent: a retry
 * after a failure finds the entry (same id) and re-publishes with the same message id (de-duplicated).
 */
export async function publishTask(mesh: MeshConnection, record: TaskRecord): Promise<TaskRecord> {
  await mesh.board.putOnce(keys.task(record.id), TaskRecord, record, (a, b) => a.id === b.id);
  await mesh.bus.publish({
    id: `${record.id}:created`,
    taskId: record.id,
    type: 'task.created',
    at: record.createdAt,
    data: {
      title: record.request.title,
      repo: record.repoPath,
      baseCommit: record.baseCommit,
      approve: record.request.approve,
      ...(record.request.gates?.length ? { gates: record.request.gates } : {}),
      ...((record.request.candidates ?? 1) > 1 ? { candidates: record.request.candidates } : {}),
      ...(record.request.docs ? { docs: true } : {}),
    },
  });
  return record;
}

/**
 * `prepareTask` then `publishTask`.
 * @example const task = await submitTask(mesh, { repo: '/src/app', title: 'Fix the off-by-one' });
 */
export async function submitTask(
  mesh: MeshConnection,
  input: TaskRequestInput,
  opts: { now?: () => number; id?: string; placement?: RepoPlacement } = {},
): Promise<TaskRecord> {
  return publishTask(mesh, await prepareTask(input, opts));
}
