// The Tester agent: applies the patch in a fresh worktree, runs the repository's tests in the sandbox and
// stores a structured result (per-test status) with the full log.
import { existsSync } from 'node:fs';
import { mkdir, realpath, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { keys, Patch, patchId, TestRun } from '../../schemas/index.ts';
import { StepFailure } from '../runtime/ask-json.ts';
import { addWorktree, applyPatch, removeWorktree } from '../runtime/git.ts';
import { oneEffectMachine } from '../runtime/step-machine.ts';
import type { AgentDefinition, StepInput, StepOutput } from '../runtime/types.ts';
import { detectRunner, parseRunnerOutput, prepareReport } from './runners.ts';

const LOG_CAP = 256 * 1024;

/**
 * A worktree has only tracked files. The sandbox has no network to install dependencies, so the ones the
 * repository's own checkout already installed (node_modules, .venv) are linked in, read-only in the sandbox.
 */
async function linkInstalledDeps(repoPath: string, wt: string): Promise<string[]> {
  const visible: string[] = [];
  for (const dir of ['node_modules', '.venv']) {
    const src = join(repoPath, dir);
    if (!existsSync(src) || existsSync(join(wt, dir))) continue;
    await symlink(src, join(wt, dir));
    // Both the link and its target must be readable inside the sandbox.
    visible.push(src, await realpath(src));
  }
  return visible;
}

async function runTests(input: StepInput, signal: AbortSignal): Promise<StepOutput> {
  const { task, mesh, deps, attempt } = input;
  const pid = patchId(task.id, attempt);
  const patch = (await mesh.board.get(keys.patch(pid), Patch))?.value;
  if (!patch) throw new StepFailure(`patch ${pid} is not on the blackboard`);
  const wt = join(deps.dataDir, 'work', `${input.stepId}-r${input.round}`);
  await mkdir(join(deps.dataDir, 'logs'), { recursive: true });
  await addWorktree(task.repoPath, wt, task.baseCommit);
  try {
    await applyPatch(wt, patch.diff);
    // Tools found through binDirs (codemesh's own node_modules) must stay visible too, wherever they live.
    const toolDirs = (deps.binDirs ?? []).filter(existsSync).map((d) => dirname(d));
    const readOnlyPaths = [...(await linkInstalledDeps(task.repoPath, wt)), ...toolDirs];
    const plan = await detectRunner(wt, { binDirs: deps.binDirs });
    await prepareReport(plan, wt);
    const started = deps.now();
    const res =
      plan.kind === 'none'
        ? { exitCode: 0, timedOut: false, stdout: 'no test runner detected', stderr: '', durationMs: 0 }
        : await deps.sandbox.run({
            command: plan.command,
            workDir: wt,
            env: plan.env,
            readOnlyPaths,
            timeoutMs: deps.testTimeoutMs ?? 300_000,
            signal,
          });
    const parsed = await parseRunnerOutput(plan, wt, res.stdout, res.stderr, res.exitCode);
    const log = `${res.stdout}\n--- stderr ---\n${res.stderr}`.slice(-LOG_CAP);
    await writeFile(join(deps.dataDir, 'logs', `${input.stepId}.log`), log);
    const passed = res.exitCode === 0 && !res.timedOut && !parsed.error && parsed.counts.failed === 0;
    const run: TestRun = {
      id: `${task.id}-${attempt}`,
      taskId: task.id,
      attempt,
      patchId: pid,
      runner: plan.kind,
      command: plan.command,
      exitCode: res.exitCode,
      timedOut: res.timedOut,
      passed,
      counts: parsed.counts,
      tests: parsed.tests.map(({ name, status, durationMs, message }) => ({
        name,
        status,
        durationMs,
        message,
      })),
      log,
      durationMs: res.durationMs || deps.now() - started,
      createdAt: new Date(deps.now()).toISOString(),
    };
    const stored = (
      await mesh.board.putOnce(keys.testrun(task.id, attempt), TestRun, run, (a, b) => a.id === b.id)
    ).entry.value;
    const data = {
      testRunId: stored.id,
      passed: stored.passed,
      counts: stored.counts,
      runner: stored.runner,
    };
    await deps.emit({
      id: `${input.stepId}:test.completed`,
      taskId: task.id,
      type: 'test.completed',
      step: { kind: 'test', attempt },
      data,
    });
    return { ok: true, data };
  } finally {
    await removeWorktree(task.repoPath, wt);
  }
}

export const testerMachine = oneEffectMachine('tester', runTests);

export const tester: AgentDefinition = { capability: 'tester', machine: testerMachine };
