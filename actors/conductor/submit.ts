// Task intake: validate the request, pin the repository commit, create the record, publish task.created.
// Split in two so a caller that keeps its own record (the gateway) can write it between the checks and the
// publication: nothing runs until `publishTask`, so a refusal before it leaves no task behind.
import type { MeshConnection } from '../../blackboard/index.ts';
import {
  keys,
  newTaskId,
  type RepoConfig,
  RepoConfigError,
  TaskRecord,
  TaskRequest,
  type TaskRequestInput,
} from '../../schemas/index.ts';
import { resolveCommit, resolveRepo } from '../runtime/git.ts';
import { resolveRepoConfig } from '../tester/repo-config.ts';
import { checkRepoPlacement, type RepoPlacement } from './repo-policy.ts';
import { initialWorkflow, statusOf } from './workflow.ts';

/**
 * Validates a request and builds its task record; publishes nothing. Throws ZodError for a malformed request,
 * RepoNotFoundError for a path or ref that is not a git commit, RepoPathRefusedError for a refused place.
 */
export async function prepareTask(
  input: TaskRequestInput,
  opts: {
    now?: () => number;
    id?: string;
    placement?: RepoPlacement;
    orgId?: string;
    /** The test-writing step when neither the task nor `.codemesh.yml` sets `test.reproduce` (default off). */
    reproduce?: boolean;
    /** Who asked for it, and the campaign that started it (FR-015): kept on the record. */
    createdBy?: string;
    campaignId?: string;
  } = {},
): Promise<TaskRecord> {
  const request = TaskRequest.parse(input);
  const repoPath = await resolveRepo(request.repo);
  if (opts.placement) await checkRepoPlacement(repoPath, opts.placement);
  const baseCommit = await resolveCommit(repoPath, request.baseRef ?? 'HEAD');
  const now = new Date((opts.now ?? Date.now)()).toISOString();
  const id = opts.id ?? newTaskId();
  const settings = await repoSettings(repoPath, baseCommit, request.config);
  const workflow = initialWorkflow({
    maxAttempts: request.budget.maxAttempts,
    approveMode: request.approve,
    planGate: request.gates?.includes('post-plan') ?? false,
    candidates: request.candidates ?? 1,
    reproduce: settings.test?.reproduce ?? opts.reproduce ?? false,
    docs: request.docs ?? settings.docs ?? false,
  });
  return TaskRecord.parse({
    id,
    request: { ...request, repo: repoPath },
    ...(opts.orgId ? { orgId: opts.orgId } : {}),
    ...(opts.createdBy ? { createdBy: opts.createdBy } : {}),
    ...(opts.campaignId ? { campaignId: opts.campaignId } : {}),
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
 * The settings that shape the workflow (`test.reproduce`, `docs`) as the task runs with them: .codemesh.yml at
 * the base commit < task config. A bad `.codemesh.yml` does not refuse the task here (`{}`): the Tester fails
 * its step with the message.
 */
async function repoSettings(repoPath: string, commit: string, task: unknown): Promise<RepoConfig> {
  try {
    return (await resolveRepoConfig({ repoPath, commit, task })).config;
  } catch (err) {
    if (err instanceof RepoConfigError) return {};
    throw err;
  }
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
      ...(record.workflow.context.docs ? { docs: true } : {}),
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
