// planTests: settings (.codemesh.yml < registered repo < task) + runner detection + test selection → one plain
// TestPlan the sandbox can run, with the reasons for every choice.
import { coverageTargets, runnerLanguage, withCoverage } from './cover-plan.ts';
import { detectRunner, isTestFile, listFiles, pytestIni } from './detect.ts';
import { resolveRepoConfig } from './repo-config.ts';
import { defaultMaxFiles, selectTests } from './select.ts';
import type { TestPlan } from './types.ts';

export const DEFAULT_TIMEOUT_MS = 300_000;

export interface PlanTestsInput {
  /** The work tree to test (patch applied); cwd of every command. */
  workDir: string;
  /** The repository the work tree came from: `.codemesh.yml` is read from its objects at `baseCommit`. */
  repoPath: string;
  baseCommit: string;
  /** Files the patch touches (repository-relative); read from `patchDiff` when absent. */
  changedFiles?: string[];
  patchDiff?: string;
  /** The task's title and description: tests, files and names it mentions are selected first. */
  issueText?: string;
  /** The task's own settings (TaskRequest.config). */
  config?: unknown;
  /** The registered repository's settings, when the gateway has them. */
  registeredConfig?: unknown;
  /** Extra directories searched for vitest/jest. */
  binDirs?: string[];
  /** Used when no setting names a timeout. */
  defaultTimeoutMs?: number;
}

/**
 * @example
 * const plan = await planTests({ workDir: wt, repoPath: task.repoPath, baseCommit: task.baseCommit,
 *   patchDiff: patch.diff, issueText: `${task.request.title}\n${task.request.description}`,
 *   config: task.request.config, binDirs: deps.binDirs });
 * for (const argv of plan.setup) await sandbox.run({ command: argv, workDir: wt, env: plan.env, ... });
 * if (plan.command.length) await sandbox.run({ command: plan.command, env: plan.env, timeoutMs: plan.timeoutMs, ... });
 */
export async function planTests(input: PlanTestsInput): Promise<TestPlan> {
  const { plan, coverage } = await planRun(input);
  // Coverage of the changed files in the runner's language, unless `test.coverage: false`; nothing to
  // measure without a diff.
  const lang = runnerLanguage(plan.kind);
  return coverage && input.patchDiff && lang
    ? withCoverage(plan, coverageTargets(input.patchDiff, lang), input.workDir, { repoPath: input.repoPath })
    : plan;
}

async function planRun(input: PlanTestsInput): Promise<{ plan: TestPlan; coverage: boolean }> {
  const { config, sources } = await resolveRepoConfig({
    repoPath: input.repoPath,
    commit: input.baseCommit,
    registered: input.registeredConfig,
    task: input.config,
  });
  const test = config.test ?? {};
  const done = (plan: TestPlan) => ({ plan, coverage: test.coverage !== false });
  const changedFiles = input.changedFiles ?? filesOfDiff(input.patchDiff ?? '');
  const files = await listFiles(input.workDir);
  const runner = await detectRunner(input.workDir, {
    config: test,
    changedFiles,
    repoPath: input.repoPath,
    baseCommit: input.baseCommit,
    files,
    binDirs: input.binDirs,
  });
  const why = [...(sources.length ? [`settings from ${sources.join(' < ')}`] : []), ...runner.why];
  const scope = test.scope ?? 'selected';
  const timeoutMs = test.timeout ? test.timeout * 1000 : (input.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS);
  const plan: TestPlan = {
    kind: runner.kind,
    command: runner.command,
    ...(runner.reportFile ? { reportFile: runner.reportFile } : {}),
    ...(runner.python ? { python: runner.python } : {}),
    env: runner.env,
    setup: runner.setup,
    timeoutMs,
    scope,
    selected: [],
    labels: [],
    why,
    readOnlyPaths: runner.readOnlyPaths ?? [],
    push: config.push ?? false,
    configSources: sources,
  };
  if (runner.kind === 'none' || runner.command.length === 0) return done(plan);
  if (scope === 'all') {
    why.push('test.scope: all: the whole suite runs');
    return done(plan);
  }
  if (runner.kind === 'npm' || runner.kind === 'custom') {
    why.push(
      `${runner.kind === 'npm' ? 'npm test' : 'test.command'} takes no test selection: it runs as it is`,
    );
    return done(plan);
  }
  const maxFiles = test.max_files ?? defaultMaxFiles(runner.kind);
  const ini = runner.kind === 'pytest' ? await pytestIni(input.workDir) : undefined;
  const sel = await selectTests({
    workDir: input.workDir,
    kind: runner.kind,
    language: runner.language,
    files,
    changedFiles,
    patchDiff: input.patchDiff,
    issueText: input.issueText,
    maxFiles,
    packageDir: runner.packageDir,
    ...(ini ? { norecursedirs: ini.norecursedirs, testpaths: ini.testpaths } : {}),
  });
  why.push(...sel.why);
  if (sel.labels.length > 0) {
    // `go test ./...` means every package: the selected packages replace it.
    const base = runner.kind === 'go' ? runner.command.filter((a) => a !== './...') : runner.command;
    return done({
      ...plan,
      selected: sel.files,
      labels: sel.labels,
      command: [...base, ...sel.labels],
      ...(sel.primaryLabels && sel.restLabels
        ? {
            primary: {
              selected: sel.files.slice(0, sel.primary),
              labels: sel.primaryLabels,
              command: [...base, ...sel.primaryLabels],
            },
            rest: {
              selected: sel.files.slice(sel.primary),
              labels: sel.restLabels,
              command: [...base, ...sel.restLabels],
            },
          }
        : {}),
    });
  }
  const suiteSize = runner.language ? files.filter((f) => isTestFile(f, runner.language)).length : 0;
  if (suiteSize <= maxFiles) {
    why.push(
      `no test relates to the change; the suite has ${suiteSize} test file(s) (≤ ${maxFiles}): all run`,
    );
    return done(plan);
  }
  why.push(
    `no test relates to the change and the suite has ${suiteSize} test files: nothing runs (set test.scope: all to run them)`,
  );
  return done({ ...plan, command: [] });
}

/** Paths a unified diff touches (new side; the old side for deletions). */
export function filesOfDiff(diff: string): string[] {
  const out = new Set<string>();
  for (const m of diff.matchAll(/^diff --git a\/(\S+) b\/(\S+)$/gm)) out.add(m[2]!);
  for (const m of diff.matchAll(/^\+\+\+ b\/(\S+)$/gm)) out.add(m[1]!);
  return [...out];
}
