// The Integrator agent: takes path locks, builds on the latest codemesh change of those paths, commits on
// codemesh/<task-id>, pushes only when asked (config `push: true` or `codemesh run --push`). Conflicts become
// events, never lost edits.
import {
  DocPatch,
  keys,
  Patch,
  patchId,
  Review,
  RepoConfigError,
  type TaskRecord,
} from '../../schemas/index.ts';
import { StepFailure } from '../runtime/ask-json.ts';
import { branchCommit, git } from '../runtime/git.ts';
import { confidenceText } from '../reviewer/confidence.ts';
import { effectivePlan } from '../runtime/effective-plan.ts';
import { resolveRepoConfig } from '../tester/repo-config.ts';
import { oneEffectMachine } from '../runtime/step-machine.ts';
import type { AgentDefinition, StepInput, StepOutput } from '../runtime/types.ts';
import {
  branchFor,
  chooseBase,
  commitMessage,
  commitPatch,
  docsCommitMessage,
  existingIntegration,
  IntegrationConflictError,
  pushBranch,
  revertOnNewBranch,
} from './git-integrate.ts';
import { acquirePathLocks, LockTimeoutError } from './locks.ts';

export const LOCK_LEASE_MS = 10_000;
export const LOCK_MAX_WAIT_MS = 120_000;

export type PushOutcome = Awaited<ReturnType<typeof pushBranch>> | { pushed: false; reason: string };

/**
 * Pushes `branch` only when the settings ask for it (`push: true` in `.codemesh.yml`, the registered repository
 * settings or the task's config, which `--push` sets); a repository with a remote is never pushed by default.
 */
export async function pushIfAsked(task: TaskRecord, branch: string): Promise<PushOutcome> {
  let push = false;
  try {
    const { config } = await resolveRepoConfig({
      repoPath: task.repoPath,
      commit: task.baseCommit,
      task: task.request.config,
    });
    push = config.push ?? false;
  } catch (err) {
    if (!(err instanceof RepoConfigError)) throw err;
    return { pushed: false, reason: `not pushed: ${err.message}` };
  }
  if (!push)
    return { pushed: false, reason: 'push is off (push: true in .codemesh.yml, or codemesh run --push)' };
  // Over HTTPS to the configured GitHub, with its token (or the App's installation token for the repository);
  // the GitHub client is loaded only when one is configured.
  const github = process.env.CODEMESH_GITHUB_TOKEN || process.env.CODEMESH_GITHUB_APP_ID;
  const auth = github
    ? (await import('./github/push-auth.ts')).envPushAuthFor(task.orgId ?? 'default')
    : undefined;
  return pushBranch(task.repoPath, branch, auth ? { auth } : {});
}

async function integrate(input: StepInput, signal: AbortSignal): Promise<StepOutput> {
  const { task, mesh, deps } = input;
  const pid = String(task.workflow.context.patchId ?? patchId(task.id, task.attempt));
  const patch = (await mesh.board.get(keys.patch(pid), Patch))?.value;
  if (!patch) throw new StepFailure(`patch ${pid} is not on the blackboard`);
  // Its diff is the redacted one (markers where the secrets were): it must never reach a branch.
  if (patch.secrets?.length)
    throw new StepFailure(
      `patch ${pid} is not integrated: it held ${patch.secrets.length} secret(s) (redacted)`,
    );
  // A blocking policy finding (SAST, license, vulnerability) is integrated only with an approver's override.
  if (patch.policy?.blocked && !patch.policy.override) {
    const rules = [
      ...new Set(patch.policy.findings.filter((f) => f.enforcement === 'block').map((f) => f.ruleId)),
    ];
    throw new StepFailure(`patch ${pid} is not integrated: the policy check blocks it (${rules.join(', ')})`);
  }
  const branch = branchFor(task.id);

  const done = await existingIntegration(task.repoPath, task, patch);
  if (done) {
    // A run cut off after committing (a crash, a NATS outage before the event got out) is resumed here: the
    // event is published again under the same id, so it exists once whether or not the first one landed.
    const docs = await commitDocs(input, patch, done);
    const data = { branch, commit: done, patchId: patch.id, files: patch.files, resumed: true, ...docs };
    await deps.emit({
      id: `${input.stepId}:integrate.committed`,
      taskId: task.id,
      type: 'integrate.committed',
      data,
    });
    return { ok: true, data };
  }

  const held = await acquirePathLocks(mesh.board, {
    repoPath: task.repoPath,
    paths: patch.files,
    holder: task.id,
    leaseMs: LOCK_LEASE_MS,
    maxWaitMs: LOCK_MAX_WAIT_MS,
    now: deps.now,
    signal,
    onWait: (holder, path) =>
      deps.emit({
        id: `${input.stepId}:lock.waiting`,
        taskId: task.id,
        type: 'lock.waiting',
        data: { path, holder },
      }),
  });
  let commit: string | undefined;
  try {
    const { base, after } = await chooseBase(task.repoPath, task.baseCommit, held.locks);
    const plan = await effectivePlan(mesh.board, task.id);
    const review = (await mesh.board.get(keys.review(task.id, patch.attempt), Review))?.value;
    const extra = [
      ...(plan ? [`Plan: ${plan.summary}`] : []),
      ...(review ? [`Review: ${review.decision}, ${confidenceText(review)}`] : []),
      ...(after.length ? [`Rebased onto the changes of: ${after.join(', ')}`] : []),
      '',
    ];
    commit = await commitPatch({
      task,
      patch,
      base,
      workDir: `${deps.dataDir}/work`,
      message: commitMessage(task, patch, extra),
    });
    const docs = await commitDocs(input, patch, commit);
    const push = await pushIfAsked(task, branch);
    const data = {
      branch,
      commit,
      patchId: patch.id,
      files: patch.files,
      base,
      rebasedOnto: after,
      push,
      ...docs,
    };
    await deps.emit({
      id: `${input.stepId}:integrate.committed`,
      taskId: task.id,
      type: 'integrate.committed',
      data,
    });
    return { ok: true, data };
  } catch (err) {
    if (err instanceof IntegrationConflictError || err instanceof LockTimeoutError) {
      await deps.emit({
        id: `${input.stepId}:conflict.detected`,
        taskId: task.id,
        type: 'conflict.detected',
        data: { reason: err.message, files: patch.files },
      });
    }
    throw err;
  } finally {
    await held.release(commit ? { commit } : undefined);
  }
}

/**
 * The Doc Writer's patch for `patch`, committed on the branch right after its code commit (its own commit, so
 * it can be reviewed and reverted apart). Its failure to apply leaves the code commit standing, with the reason.
 */
async function commitDocs(
  input: StepInput,
  patch: Patch,
  codeCommit: string,
): Promise<{ docsCommit?: string; docsNotCommitted?: string }> {
  const { task, mesh, deps } = input;
  const docs = (await mesh.board.get(keys.docs(patch.id), DocPatch))?.value;
  if (!docs?.diff.trim()) return {};
  if (docs.secrets?.length)
    return { docsNotCommitted: `the documentation edits held ${docs.secrets.length} secret(s) (redacted)` };
  const tip = await branchCommit(task.repoPath, branchFor(task.id));
  if (tip && tip !== codeCommit) {
    const msg = (await git(task.repoPath, ['log', '-1', '--format=%B', tip])).stdout;
    if (msg.includes(`Codemesh-Docs: ${docs.id}`)) return { docsCommit: tip };
  }
  try {
    const docsCommit = await commitPatch({
      task,
      patch: { ...patch, id: docs.id, diff: docs.diff, files: docs.files, baseCommit: codeCommit },
      base: codeCommit,
      workDir: `${deps.dataDir}/work`,
      message: docsCommitMessage(
        task,
        patch.id,
        docs.symbols.map((s) => s.name),
      ),
    });
    return { docsCommit };
  } catch (err) {
    if (err instanceof IntegrationConflictError) return { docsNotCommitted: err.message };
    throw err;
  }
}

async function rollback(input: StepInput): Promise<StepOutput> {
  const { task, deps } = input;
  if (!task.commit) throw new StepFailure(`task ${task.id} has no commit to roll back`);
  const { branch, commit } = await revertOnNewBranch({
    repo: task.repoPath,
    taskId: task.id,
    commit: task.commit,
    workDir: `${deps.dataDir}/work`,
  });
  const push = await pushIfAsked(task, branch);
  const data = { branch, commit, reverts: task.commit, push };
  await deps.emit({
    id: `${input.stepId}:rollback.committed`,
    taskId: task.id,
    type: 'rollback.committed',
    data,
  });
  return { ok: true, data };
}

/** One agent, two kinds of step: integrate a reviewed patch, or roll an integrated one back. */
export const integratorMachine = oneEffectMachine('integrator', (input, signal) =>
  input.kind === 'rollback' ? rollback(input) : integrate(input, signal),
);

export const integrator: AgentDefinition = { capability: 'integrator', machine: integratorMachine };
