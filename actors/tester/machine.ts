// The Tester agent: runs the repository's tests with the patch applied and on the base commit (cached per
// base commit and test plan), re-runs tests that newly fail to tell regressions from flaky tests, and stores
// a structured result (per-test status, verdict, outcome) with the full log.
import { existsSync } from 'node:fs';
import { mkdir, realpath, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  Baseline,
  type BaselineSummary,
  candidateOf,
  hashKey,
  keys,
  Patch,
  patchId,
  RepoConfigError,
  TestRun,
} from '../../schemas/index.ts';
import { StepFailure } from '../runtime/ask-json.ts';
import { markCandidate } from '../runtime/candidate-record.ts';
import { applyPatch, diffSections } from '../runtime/git.ts';
import { oneEffectMachine } from '../runtime/step-machine.ts';
import type { AgentDefinition, StepInput, StepOutput } from '../runtime/types.ts';
import { addOwnedWorktree, removeOwnedWorktree } from '../runtime/worktrees.ts';
import {
  type CoverageMap,
  clearCoverage,
  coverageFromJson,
  coverageOfChange,
  coverageToJson,
  readCoverage,
  unionCoverage,
} from './coverage.ts';
import { relocatePlan, rerunPlan } from './rerun.ts';
import { isTestPath } from './detect.ts';
import { planTests as planSelectedTests } from './plan.ts';
import { addedTests } from './select.ts';

import { type ParsedRun, parseRunnerOutput, prepareReport } from './runners.ts';
import type { TestPlan } from './types.ts';
import {
  decide,
  formatSeconds,
  type RerunStatus,
  joinVerdicts,
  type RunSummary,
  rerunCandidates,
  runProblem,
  type Verdict,
} from './verdict.ts';

const LOG_CAP = 256 * 1024;
/** Re-runs of a test that failed with the patch but not on the base, before it counts as a regression. */
export const FLAKY_RERUNS = 3;
/** Beyond this many newly failing tests the patch is plainly broken: no re-runs. */
const MAX_RERUN_CANDIDATES = 20;
// A blackboard value must fit one NATS message (1 MiB by default); bigger baselines are not cached.
const MAX_BASELINE_BYTES = 900_000;

/**
 * The one place the step obtains its test plan: settings (.codemesh.yml < registered repo < task), runner
 * detection and the tests selected for this patch and issue. A bad setting fails the step with its message.
 */
async function planTests(wt: string, input: StepInput, patch: Patch): Promise<TestPlan> {
  const { task, deps } = input;
  try {
    return await planSelectedTests({
      workDir: wt,
      repoPath: task.repoPath,
      baseCommit: task.baseCommit,
      changedFiles: patch.files,
      patchDiff: patch.diff,
      issueText: `${task.request.title}\n\n${task.request.description}`,
      config: task.request.config,
      binDirs: deps.binDirs,
      ...(deps.testTimeoutMs ? { defaultTimeoutMs: deps.testTimeoutMs } : {}),
    });
  } catch (err) {
    if (err instanceof RepoConfigError) throw new StepFailure(err.message);
    throw err;
  }
}

/** The command with the plan's setup steps run first, in the same sandbox job (the job's tree is a copy). */
export function withSetup(plan: Pick<TestPlan, 'command' | 'setup'>): string[] {
  if (plan.setup.length === 0) return plan.command;
  const script = `${plan.setup.map((argv) => argv.map(shQuote).join(' ')).join(' && ')} && exec "$@"`;
  return ['/bin/sh', '-c', script, 'codemesh-setup', ...plan.command];
}

function shQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

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

export interface RunContext {
  input: StepInput;
  signal: AbortSignal;
  timeoutMs: number;
  /**
   * The patch's changes to tests (test files and files under test directories), applied to the base
   * commit's worktree: the base run is the base code with the patch's tests, as SWE-bench runs it.
   */
  testDiff: string;
}

export interface Executed {
  summary: RunSummary;
  parsed: ParsedRun;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** Line coverage of the plan's `coverage` files, when it measures them and a report came back. */
  coverage?: CoverageMap;
}

/** Runs a plan in a worktree (its installed dependencies linked in) and reads its per-test results. */
export async function execute(plan: TestPlan, wt: string, ctx: RunContext): Promise<Executed> {
  const { deps, task } = ctx.input;
  if (ctx.signal.aborted) throw new StepFailure('the test step was stopped');
  // Tools found through binDirs (codemesh's own node_modules) must stay visible too, wherever they live.
  // Their real paths: bwrap cannot always mount onto a path that is a symlink.
  const toolDirs = await Promise.all(
    (deps.binDirs ?? []).filter(existsSync).map((d) => realpath(dirname(d))),
  );
  const readOnlyPaths = [...(await linkInstalledDeps(task.repoPath, wt)), ...toolDirs, ...plan.readOnlyPaths];
  await prepareReport(plan, wt);
  if (plan.coverage) await clearCoverage(wt, plan);
  const nothing = plan.command.length === 0;
  const res = nothing
    ? { exitCode: 0, timedOut: false, stdout: 'no tests to run', stderr: '', durationMs: 0 }
    : await deps.sandbox.run({
        command: withSetup(plan),
        workDir: wt,
        env: plan.env,
        readOnlyPaths,
        timeoutMs: ctx.timeoutMs,
        signal: ctx.signal,
      });
  // A stopped step stores nothing: its next round runs the tests again.
  if (ctx.signal.aborted) throw new StepFailure('the test step was stopped');
  const parsed = await parseRunnerOutput(
    nothing ? { kind: 'none', command: [] } : plan,
    wt,
    res.stdout,
    res.stderr,
    res.exitCode,
  );
  const coverage = plan.coverage && !nothing ? await readCoverage(wt, plan) : undefined;
  return {
    summary: {
      tests: parsed.tests,
      exitCode: res.exitCode,
      timedOut: res.timedOut,
      ...(parsed.error ? { error: parsed.error } : {}),
      output: `${res.stdout.slice(-4096)}\n${res.stderr.slice(-4096)}`,
    },
    parsed,
    stdout: res.stdout,
    stderr: res.stderr,
    durationMs: res.durationMs,
    ...(coverage ? { coverage } : {}),
  };
}

interface BaseResult {
  run: RunSummary;
  summary: BaselineSummary;
  coverage?: CoverageMap;
}

/**
 * The base commit's results for this plan: from the blackboard when cached, else run and cached. Its output goes
 * to `<stepId>-<log>.log` (each base run of a step names its own, so none overwrites another's).
 */
async function baseline(plan: TestPlan, wt: string, ctx: RunContext, log = 'base'): Promise<BaseResult> {
  const { task, mesh, deps, stepId } = ctx.input;
  const portable = relocatePlan(plan, wt, '$WORKDIR');
  const key = keys.baseline(
    hashKey(
      JSON.stringify([
        task.repoPath,
        task.baseCommit,
        portable.kind,
        portable.command,
        portable.env ?? {},
        portable.setup,
        ...(ctx.testDiff ? [hashKey(ctx.testDiff)] : []),
      ]),
    ),
  );
  const hit = (await mesh.board.get(key, Baseline))?.value;
  if (hit) {
    const { exitCode, timedOut, counts, durationMs } = hit;
    return {
      run: { tests: hit.tests, exitCode, timedOut },
      summary: { key, commit: task.baseCommit, cached: true, exitCode, timedOut, counts, durationMs },
      ...(hit.coverage ? { coverage: coverageFromJson(hit.coverage) } : {}),
    };
  }
  const baseWt = `${wt}-base`;
  await addOwnedWorktree(deps.dataDir, task.repoPath, baseWt, task.baseCommit);
  try {
    if (ctx.testDiff) await applyPatch(baseWt, ctx.testDiff);
    const ex = await execute(relocatePlan(plan, wt, baseWt), baseWt, ctx);
    await writeFile(
      join(deps.dataDir, 'logs', `${stepId}-${log}.log`),
      `${ex.stdout}\n--- stderr ---\n${ex.stderr}`.slice(-LOG_CAP),
    );
    const problem = runProblem(ex.summary, ctx.timeoutMs);
    const entry: Baseline = {
      key,
      repoPath: task.repoPath,
      commit: task.baseCommit,
      runner: plan.kind,
      command: portable.command,
      exitCode: ex.summary.exitCode,
      timedOut: ex.summary.timedOut,
      counts: ex.parsed.counts,
      tests: ex.parsed.tests.map(({ name, status, message }) => ({
        name,
        status,
        ...(status === 'failed' && message ? { message: message.slice(0, 500) } : {}),
      })),
      durationMs: ex.durationMs,
      createdAt: new Date(deps.now()).toISOString(),
      ...(ex.coverage ? { coverage: coverageToJson(ex.coverage) } : {}),
    };
    // A broken base run is not cached: once the environment is fixed, the next step sees it.
    const cacheable = !problem && JSON.stringify(entry).length <= MAX_BASELINE_BYTES;
    if (cacheable) await mesh.board.putOnce(key, Baseline, entry, (a, b) => a.key === b.key);
    return {
      run: ex.summary,
      ...(ex.coverage ? { coverage: ex.coverage } : {}),
      summary: {
        ...(cacheable ? { key } : {}),
        commit: task.baseCommit,
        cached: false,
        exitCode: entry.exitCode,
        timedOut: entry.timedOut,
        counts: entry.counts,
        ...(problem ? { problem: problem.detail } : {}),
        durationMs: entry.durationMs,
      },
    };
  } finally {
    await removeOwnedWorktree(deps.dataDir, task.repoPath, baseWt);
  }
}

/**
 * Re-runs newly failing tests alone (on the patched worktree) up to FLAKY_RERUNS times; a test stops being
 * re-run once it passed (it is flaky). Returns each test's re-run outcomes and a log section.
 */
async function rerun(
  plan: TestPlan,
  wt: string,
  candidates: string[],
  ctx: RunContext,
): Promise<{ reruns: Map<string, RerunStatus[]>; log: string }> {
  const reruns = new Map<string, RerunStatus[]>(candidates.map((n) => [n, []]));
  const lines: string[] = [];
  let pending = candidates;
  for (let i = 1; i <= FLAKY_RERUNS && pending.length > 0; i++) {
    const only = rerunPlan(plan, wt, pending);
    const ex = await execute(only ?? plan, wt, ctx);
    const byName = new Map(ex.parsed.tests.map((t) => [t.name, t.status]));
    for (const n of pending) reruns.get(n)!.push(byName.get(n) ?? 'absent');
    lines.push(
      `re-run ${i}/${FLAKY_RERUNS} (${only ? only.command.slice(plan.command.length).join(' ') || 'selected' : 'whole plan'}): ` +
        pending.map((n) => `${n}=${byName.get(n) ?? 'absent'}`).join(', '),
    );
    pending = pending.filter((n) => byName.get(n) !== 'passed');
  }
  return { reruns, log: lines.join('\n') };
}

/** What one stage of a test step found: its runs on the base and the patched tree, re-runs and verdict. */
interface StageResult {
  plan: TestPlan;
  base?: BaseResult;
  patched: Executed;
  /** The flaky check's log section, when tests were re-run. */
  again?: string;
  /** What the added tests did when run alone on the base commit, when they were. */
  alone?: string;
  decided: Verdict;
}

/** The selection narrowed to one of its stages. */
function stagePlan(plan: TestPlan, stage: 'primary' | 'rest'): TestPlan {
  const { primary, rest, ...whole } = plan;
  const part = stage === 'primary' ? primary : rest;
  return part ? { ...whole, ...part } : plan;
}

/** Runs a plan on the base commit (when not cached) and the patched tree in parallel, re-runs, decides. */
async function runStage(
  plan: TestPlan,
  wt: string,
  ctx: RunContext,
  nothingToRun: boolean,
  added?: readonly string[],
): Promise<StageResult> {
  const [baseRes, patchedRes] = await Promise.allSettled([
    nothingToRun ? undefined : baseline(plan, wt, ctx),
    execute(plan, wt, ctx),
  ]);
  if (patchedRes.status === 'rejected') throw patchedRes.reason;
  if (baseRes.status === 'rejected') throw baseRes.reason;
  const base = baseRes.value;
  const patched = patchedRes.value;
  const { timeoutMs } = ctx;
  const candidates = runProblem(patched.summary, timeoutMs)
    ? []
    : rerunCandidates(base?.run, patched.summary, timeoutMs, added);
  const again =
    candidates.length > 0 && candidates.length <= MAX_RERUN_CANDIDATES
      ? await rerun(plan, wt, candidates, ctx)
      : undefined;
  const verdictOn = (b: BaseResult | undefined) =>
    decide({
      ...(b ? { base: b.run } : {}),
      patched: patched.summary,
      ...(again ? { reruns: again.reruns } : {}),
      timeoutMs,
      noRunner: nothingToRun,
      ...(added ? { added } : {}),
    });
  let decided = verdictOn(base);
  let alone: string | undefined;
  // An added test that passed on the base commit beside the other selected tests may have leaned on their
  // state (pytest-10081: a class-level skip test passed on base only after test_debugging.py had run). Before
  // it is called a test that does not reproduce the issue, it runs alone on the base commit, as SWE-bench runs
  // a test patch's tests; failing there, it reproduces the issue.
  const weak = decided.outcome === 'unreproduced' ? (decided.verdict.reproduction?.passOnBase ?? []) : [];
  const soloPlan = base && weak.length > 0 && !ctx.signal.aborted ? rerunPlan(plan, wt, weak) : undefined;
  if (base && soloPlan) {
    const solo = await baseline(soloPlan, wt, ctx, 'base-alone');
    const failedAlone = new Set(
      solo.run.tests.filter((t) => t.status === 'failed' && weak.includes(t.name)).map((t) => t.name),
    );
    if (!runProblem(solo.run, timeoutMs) && failedAlone.size > 0) {
      const amended: BaseResult = {
        ...base,
        run: {
          ...base.run,
          tests: base.run.tests.map((t) =>
            failedAlone.has(t.name) ? { ...t, status: 'failed' as const } : t,
          ),
        },
      };
      decided = verdictOn(amended);
      alone = `the added test(s) that passed on the base commit beside the other selected tests fail there alone: ${[...failedAlone].join(', ')}`;
    }
  }
  return {
    plan,
    ...(base ? { base } : {}),
    patched,
    ...(again ? { again: again.log } : {}),
    ...(alone ? { alone } : {}),
    decided,
  };
}

const withCoverageOf = (coverage: CoverageMap | undefined) => (coverage ? { coverage } : {});

/** Both stages as one test run: every test, both baselines, both logs, one verdict. */
function joinStages(whole: TestPlan, a: StageResult, b: StageResult): StageResult {
  const sum = (x: ParsedRun['counts'], y: ParsedRun['counts']) => ({
    passed: x.passed + y.passed,
    failed: x.failed + y.failed,
    skipped: x.skipped + y.skipped,
  });
  const pa = a.patched;
  const pb = b.patched;
  const patched: Executed = {
    summary: {
      tests: [...pa.summary.tests, ...pb.summary.tests],
      exitCode: pb.summary.exitCode || pa.summary.exitCode,
      timedOut: false,
    },
    parsed: {
      tests: [...pa.parsed.tests, ...pb.parsed.tests],
      counts: sum(pa.parsed.counts, pb.parsed.counts),
    },
    stdout: `${pa.stdout}\n--- codemesh: related test files ---\n${pb.stdout}`,
    stderr: `${pa.stderr}\n--- codemesh: related test files ---\n${pb.stderr}`,
    durationMs: pa.durationMs + pb.durationMs,
    ...withCoverageOf(unionCoverage(pa.coverage, pb.coverage)),
  };
  const ba = a.base?.summary;
  const bb = b.base?.summary;
  const base =
    a.base && ba && bb && b.base
      ? {
          run: {
            tests: [...a.base.run.tests, ...b.base.run.tests],
            exitCode: b.base.run.exitCode || a.base.run.exitCode,
            timedOut: false,
          },
          ...withCoverageOf(unionCoverage(a.base.coverage, b.base.coverage)),
          summary: {
            ...(ba.key ? { key: ba.key } : {}),
            commit: ba.commit,
            cached: ba.cached && bb.cached,
            exitCode: bb.exitCode || ba.exitCode,
            timedOut: ba.timedOut || bb.timedOut,
            counts: sum(ba.counts, bb.counts),
            ...(ba.problem || bb.problem ? { problem: ba.problem ?? bb.problem } : {}),
            durationMs: ba.durationMs + bb.durationMs,
          },
        }
      : undefined;
  const again = [a.again, b.again].filter(Boolean).join('\n');
  const alone = [a.alone, b.alone].filter(Boolean).join('\n');
  return {
    plan: whole,
    ...(base ? { base } : {}),
    patched,
    ...(again ? { again } : {}),
    ...(alone ? { alone } : {}),
    decided: joinVerdicts(a.decided, b.decided),
  };
}

async function runTests(input: StepInput, signal: AbortSignal): Promise<StepOutput> {
  const { task, mesh, deps, attempt } = input;
  // Candidate i of k: its own patch and test run (`c<i>`); the choice among them is the review step's.
  const candidate = candidateOf(input.part);
  const pid = patchId(task.id, attempt, candidate);
  const patch = (await mesh.board.get(keys.patch(pid), Patch))?.value;
  if (!patch) throw new StepFailure(`patch ${pid} is not on the blackboard`);
  const wt = join(deps.dataDir, 'work', `${input.stepId}-r${input.round}`);
  await mkdir(join(deps.dataDir, 'logs'), { recursive: true });
  await addOwnedWorktree(deps.dataDir, task.repoPath, wt, task.baseCommit);
  try {
    await applyPatch(wt, patch.diff);
    const selected = await planTests(wt, input, patch);
    const timeoutMs = selected.timeoutMs;
    const nothingToRun = selected.command.length === 0;
    const ctx: RunContext = { input, signal, timeoutMs, testDiff: diffSections(patch.diff, isTestPath) };
    // The reproduction check: the test functions the patch adds, judged in the first stage (they are there).
    const added = [...addedTests(patch.diff, undefined).values()].flat();
    const started = deps.now();
    // A candidate's events name its part (`c<i>`): the conductor and the feed tell candidates apart by it.
    const step = { kind: 'test' as const, attempt, ...(input.part ? { part: input.part } : {}) };
    const judge = (p: TestPlan, withAdded?: readonly string[]) =>
      runStage(p, wt, ctx, nothingToRun, withAdded);
    const staged = selected.primary && selected.rest ? selected : undefined;
    const first = await judge(staged ? stagePlan(selected, 'primary') : selected, added);
    let result: StageResult = first;
    // Two stages: the tests the issue names and the patch touches decide first; the related regression
    // files run only when those pass, and their verdict joins the first one.
    let note: string | undefined;
    if (staged?.primary && staged.rest && !signal.aborted) {
      const nRest = staged.rest.selected.length;
      const nPrimary = staged.primary.selected.length;
      if (!first.decided.passed) {
        note = `the ${nRest} related test file(s) did not run: the ${nPrimary} the issue names or the patch touches already decide`;
      } else {
        await deps.emit({
          id: `${input.stepId}:test.primary`,
          taskId: task.id,
          type: 'test.primary',
          step,
          data: {
            passed: first.decided.passed,
            outcome: first.decided.outcome,
            reason: first.decided.reason,
            counts: first.patched.parsed.counts,
            files: nPrimary,
            pending: nRest,
          },
        });
        const second = await judge(stagePlan(selected, 'rest'));
        const v2 = second.decided;
        if (v2.outcome === 'timeout' || (v2.outcome === 'env_error' && v2.envFault)) {
          note =
            `the ${nRest} related test file(s) ${v2.outcome === 'timeout' ? `did not finish within ${formatSeconds(timeoutMs)}` : `could not run (${v2.reason})`}; ` +
            `the verdict rests on the ${nPrimary} the issue names or the patch touches`;
        } else result = joinStages(selected, first, second);
      }
    }
    const { plan, base, patched, again, alone } = result;
    const v = note ? { ...result.decided, reason: `${result.decided.reason} (${note})` } : result.decided;
    const log = [
      ...(note ? [`--- codemesh: ${note} ---`] : []),
      `${patched.stdout}\n--- stderr ---\n${patched.stderr}`,
      ...(again ? [`--- codemesh: flaky check ---\n${again}`] : []),
      ...(alone ? [`--- codemesh: reproduction check ---\n${alone}`] : []),
    ]
      .join('\n')
      .slice(-LOG_CAP);
    await writeFile(join(deps.dataDir, 'logs', `${input.stepId}.log`), log);
    const run: TestRun = {
      id: candidate ? `${task.id}-${attempt}-c${candidate}` : `${task.id}-${attempt}`,
      taskId: task.id,
      attempt,
      patchId: pid,
      runner: plan.kind,
      command: plan.command,
      exitCode: patched.summary.exitCode,
      timedOut: patched.summary.timedOut,
      passed: v.passed,
      counts: patched.parsed.counts,
      tests: patched.parsed.tests.map(({ name, status, durationMs, message }) => ({
        name,
        status,
        durationMs,
        message,
      })),
      log,
      durationMs: deps.now() - started,
      createdAt: new Date(deps.now()).toISOString(),
      outcome: v.outcome,
      reason: v.reason,
      envFault: v.envFault,
      timeoutMs,
      ...(base ? { baseline: base.summary } : {}),
      verdict: v.verdict,
      quarantine: v.quarantine,
      ...(plan.coverage
        ? { coverage: coverageOfChange(patch.diff, plan.coverage, patched.coverage, base?.coverage, plan) }
        : {}),
    };
    const stored = (
      await mesh.board.putOnce(
        keys.testrun(task.id, attempt, candidate),
        TestRun,
        run,
        (a, b) => a.id === b.id,
      )
    ).entry.value;
    if (stored.quarantine?.length) {
      await deps.emit({
        id: `${input.stepId}:test.flaky`,
        taskId: task.id,
        type: 'test.flaky',
        step,
        data: {
          testRunId: stored.id,
          tests: stored.quarantine.map((q) => q.name),
          quarantine: stored.quarantine,
        },
      });
    }
    const data = { ...testCompletedData(stored), ...(candidate ? { candidate, patchId: pid } : {}) };
    if (candidate)
      await markCandidate(
        mesh.board,
        { taskId: task.id, attempt, candidate },
        {
          state: 'tested',
          testRunId: stored.id,
          evidence: {
            outcome: stored.outcome ?? (stored.passed ? 'pass' : 'regression'),
            fixed: stored.verdict?.fixed.length ?? 0,
            regressions: stored.verdict?.regressions.length ?? 0,
            baseFailed: stored.baseline?.counts.failed ?? 0,
            envFault: stored.envFault ?? false,
            ...(stored.reason ? { reason: stored.reason.slice(0, 500) } : {}),
          },
        },
        new Date(deps.now()).toISOString(),
      );
    await deps.emit({
      id: `${input.stepId}:test.completed`,
      taskId: task.id,
      type: 'test.completed',
      step,
      data,
    });
    return { ok: true, data };
  } finally {
    await removeOwnedWorktree(deps.dataDir, task.repoPath, wt);
  }
}

/** The small summary that `test.completed` and `step.completed` carry (the conductor's flow reads it). */
export function testCompletedData(run: TestRun): Record<string, unknown> {
  const v = run.verdict;
  const few = (xs: string[] | undefined) => (xs ?? []).slice(0, 10);
  return {
    testRunId: run.id,
    passed: run.passed,
    counts: run.counts,
    runner: run.runner,
    outcome: run.outcome,
    reason: run.reason,
    envFault: run.envFault ?? false,
    timeoutMs: run.timeoutMs,
    /** Tests failing on the base commit: a candidate that fixes none of them does not earn selection. */
    baseFailed: run.baseline?.counts.failed ?? 0,
    baselineCached: run.baseline?.cached ?? false,
    ...(run.coverage?.measured
      ? {
          coverage: {
            changedPct: run.coverage.changedPct ?? null,
            pct: run.coverage.pct ?? null,
            deltaPct: run.coverage.deltaPct ?? null,
          },
        }
      : {}),
    ...(v
      ? {
          verdict: {
            fixed: v.fixed.length,
            regressions: v.regressions.length,
            stillFailing: v.stillFailing.length,
            newTests: v.newTests.length,
            missing: v.missing.length,
            flaky: v.flaky.length,
            envErrors: v.envErrors.length,
          },
          ...(v.reproduction ? { reproduction: v.reproduction.status } : {}),
          regressions: few(v.regressions),
          flaky: few(v.flaky),
        }
      : {}),
  };
}

export const testerMachine = oneEffectMachine('tester', runTests);

export const tester: AgentDefinition = { capability: 'tester', machine: testerMachine };
