// The test-writing part (`r1`) of the first code step, done by a Coder instance: when no test the issue selects
// fails on the base commit, the model writes a test that reproduces the issue (test files only, no fix);
// codemesh runs it on the base commit in the sandbox. A test that fails there is kept (`repro.<taskId>`) and the
// Coders start from it, so it is part of the patch; one that passes there is sent back once with that evidence,
// and a second one that passes is rejected (the task goes on without a written test).
import { keys, type ReproTest, ReproTest as ReproTestSchema } from '../../schemas/index.ts';
import type { ChatMessage } from '../llm/index.ts';
import { StepFailure } from '../runtime/ask-json.ts';
import { effectivePlan } from '../runtime/effective-plan.ts';
import { applyPatch } from '../runtime/git.ts';
import { repoOverview } from '../runtime/repo-context.ts';
import type { StepInput, StepOutput } from '../runtime/types.ts';
import { addOwnedWorktree, removeOwnedWorktree } from '../runtime/worktrees.ts';
import { isTestPath } from '../tester/detect.ts';
import { checkWrittenTest, failingOnBase } from '../tester/reproduce.ts';
import { diffWorktree } from './edits.ts';
import { reproEvidence, reproSystem, reproUser } from './prompts.ts';

/** Tries of the model: the first test that passes on the base commit is sent back once with the evidence. */
export const REPRO_TRIES = 2;

/** A fresh work tree of the base commit beside `wt`, removed after `fn`. */
async function besideBase<T>(step: StepInput, wt: string, name: string, fn: (dir: string) => Promise<T>) {
  const dir = `${wt}-${name}`;
  await addOwnedWorktree(step.deps.dataDir, step.task.repoPath, dir, step.task.baseCommit);
  try {
    return await fn(dir);
  } finally {
    await removeOwnedWorktree(step.deps.dataDir, step.task.repoPath, dir);
  }
}

/**
 * Before the model: a test kept by an earlier round is the answer (idempotent); a selected test that already
 * fails on the base commit shows the issue, and nothing is written. Else the messages that ask for the test.
 */
export async function startRepro(
  step: StepInput,
  worktree: string,
  signal: AbortSignal,
): Promise<{ done: StepOutput } | { messages: ChatMessage[] }> {
  const { task, mesh } = step;
  const kept = (await mesh.board.get(keys.repro(task.id), ReproTestSchema))?.value;
  if (kept) return { done: keptOutput(kept) };
  const base = await besideBase(step, worktree, 'issue', (dir) => failingOnBase(step, dir, signal));
  if (base.failing.length > 0)
    return {
      done: {
        ok: true,
        data: {
          state: 'skipped',
          reason: `${base.failing.length} selected test(s) already fail on the base commit: ${base.failing.slice(0, 5).join(', ')}`,
        },
      },
    };
  const plan = await effectivePlan(mesh.board, task.id);
  const overview = await repoOverview(step, `${task.request.title}\n${task.request.description}`, signal);
  return {
    messages: [
      { role: 'system', content: reproSystem() },
      { role: 'user', content: reproUser({ task, plan, ran: base.ran }, overview) },
    ],
  };
}

/**
 * After the model's edits: only test files may change; the test runs on the base commit. Kept: stored and the
 * part ends; passed on the base with a try left: the evidence goes back to the model (`retry`).
 */
export async function checkRepro(
  step: StepInput,
  worktree: string,
  tries: number,
  signal: AbortSignal,
): Promise<{ output: StepOutput } | { retry: string }> {
  const d = await diffWorktree(worktree);
  const notTests = d.files.filter((f) => !isTestPath(f));
  if (notTests.length > 0)
    return tries < REPRO_TRIES
      ? {
          retry: `Change only test files: ${notTests.join(', ')} is not a test file. Write the test, not the fix.`,
        }
      : { output: { ok: false, reason: `the test writer changed non-test files: ${notTests.join(', ')}` } };
  const check = await besideBase(step, worktree, 'check', async (dir) => {
    await applyPatch(dir, d.diff);
    return checkWrittenTest(step, dir, d.diff, signal);
  });
  if (signal.aborted) throw new StepFailure('the test-writing step was stopped');
  const { task, mesh, deps } = step;
  await deps.emit({
    id: `${step.stepId}#${step.round}:reproduction.checked:${tries}`,
    taskId: task.id,
    type: 'reproduction.checked',
    step: {
      kind: 'code',
      attempt: step.attempt,
      round: step.round,
      ...(step.part ? { part: step.part } : {}),
    },
    data: { verdict: check.verdict, try: tries, tests: check.tests, files: d.files, reason: check.reason },
  });
  if (check.verdict === 'rejected') {
    if (tries < REPRO_TRIES) return { retry: reproEvidence(check) };
    return {
      output: {
        ok: true,
        data: { state: 'rejected', reason: `the written test was rejected ${tries} times: ${check.reason}` },
      },
    };
  }
  const entry: ReproTest = {
    taskId: task.id,
    baseCommit: task.baseCommit,
    diff: d.diff,
    files: d.files,
    tests: check.tests,
    tries,
    createdAt: new Date(deps.now()).toISOString(),
  };
  // First writer wins: a round re-run after a crash keeps the test stored first.
  const stored = (await mesh.board.putOnce(keys.repro(task.id), ReproTestSchema, entry, () => true)).entry
    .value;
  return { output: keptOutput(stored) };
}

function keptOutput(r: ReproTest): StepOutput {
  return {
    ok: true,
    data: {
      state: 'kept',
      reason: `${r.tests.map((t) => t.name).join(', ')} fail(s) on the base commit`,
      files: r.files,
      tests: r.tests.map((t) => t.name),
      tries: r.tries,
    },
  };
}

/** The test the test-writing part kept for this task, if any. */
export async function keptRepro(step: StepInput): Promise<ReproTest | undefined> {
  const kept = (await step.mesh.board.get(keys.repro(step.task.id), ReproTestSchema))?.value;
  return kept && kept.baseCommit === step.task.baseCommit ? kept : undefined;
}

/** The kept test, applied to a Coder's work tree of the first attempt (it becomes part of the patch). */
export async function applyKeptRepro(step: StepInput, worktree: string): Promise<ReproTest | undefined> {
  const kept = await keptRepro(step);
  if (kept) await applyPatch(worktree, kept.diff);
  return kept;
}
