// The checks of the test-writing step (its part `r1` runs in a Coder, actors/coder/reproduce.ts): does a test the
// issue selects already fail on the base commit, and does the test the model wrote fail there (it reproduces the
// issue) or pass (it does not)? Both run the repository's tests in the sandbox, as the test step does.
import { RepoConfigError } from '../../schemas/index.ts';
import { StepFailure } from '../runtime/ask-json.ts';
import type { StepInput } from '../runtime/types.ts';
import { execute, type RunContext } from './machine.ts';
import { filesOfDiff, planTests } from './plan.ts';
import { addedTests } from './select.ts';
import type { TestPlan } from './types.ts';
import { isAdded } from './verdict.ts';

export interface WrittenTestCheck {
  /** `kept`: an added test fails on the base commit; `rejected`: they pass there, or did not run. */
  verdict: 'kept' | 'rejected';
  tests: Array<{ name: string; status: string; message?: string }>;
  /** One line of evidence, sent back to the model when rejected. */
  reason: string;
  /** The end of the run's output (evidence for the model when the test did not run). */
  output: string;
}

/** The test plan for a base-commit work tree (`changedFiles` pick the tests; nothing is measured). */
async function plan(input: StepInput, wt: string, changedFiles: string[]): Promise<TestPlan> {
  const { task, deps } = input;
  try {
    const p = await planTests({
      workDir: wt,
      repoPath: task.repoPath,
      baseCommit: task.baseCommit,
      changedFiles,
      issueText: `${task.request.title}\n\n${task.request.description}`,
      config: task.request.config,
      binDirs: deps.binDirs,
      ...(deps.testTimeoutMs ? { defaultTimeoutMs: deps.testTimeoutMs } : {}),
    });
    // Two stages: the first holds the tests the issue names and the change touches.
    return p.primary ? { ...p, ...p.primary } : p;
  } catch (err) {
    if (err instanceof RepoConfigError) throw new StepFailure(err.message);
    throw err;
  }
}

const ctxOf = (input: StepInput, p: TestPlan, signal: AbortSignal): RunContext => ({
  input,
  signal,
  timeoutMs: p.timeoutMs,
  testDiff: '',
});

/**
 * The tests selected for the issue alone, run on the base commit (`wt` is a clean work tree of it): the ones
 * that fail already show the issue, and no test needs writing.
 */
export async function failingOnBase(
  input: StepInput,
  wt: string,
  signal: AbortSignal,
): Promise<{ failing: string[]; ran: number }> {
  const p = await plan(input, wt, []);
  if (p.command.length === 0) return { failing: [], ran: 0 };
  const ex = await execute(p, wt, ctxOf(input, p, signal));
  return {
    failing: ex.parsed.tests.filter((t) => t.status === 'failed').map((t) => t.name),
    ran: ex.parsed.tests.length,
  };
}

/** Runs the test functions `diff` adds in `wt` (the base commit with `diff` applied, no fix). */
export async function checkWrittenTest(
  input: StepInput,
  wt: string,
  diff: string,
  signal: AbortSignal,
): Promise<WrittenTestCheck> {
  const added = [...addedTests(diff, undefined).values()].flat();
  if (added.length === 0)
    return {
      verdict: 'rejected',
      tests: [],
      reason: 'the edits add no test function (a def test_…, it(…) or func Test… in a test file)',
      output: '',
    };
  const p = await plan(input, wt, filesOfDiff(diff));
  if (p.command.length === 0)
    return { verdict: 'rejected', tests: [], reason: 'no test runner selects the written test', output: '' };
  const ex = await execute(p, wt, ctxOf(input, p, signal));
  const tests = ex.parsed.tests
    .filter((t) => isAdded(t.name, added))
    .map(({ name, status, message }) => ({
      name,
      status,
      ...(message ? { message: message.slice(0, 500) } : {}),
    }));
  const output = `${ex.stdout.slice(-2000)}\n${ex.stderr.slice(-1000)}`.trim();
  const failed = tests.filter((t) => t.status === 'failed');
  if (failed.length > 0)
    return {
      verdict: 'kept',
      tests,
      reason: `fails on the base commit: ${failed.map((t) => t.name).join(', ')}`,
      output,
    };
  if (tests.length === 0)
    return {
      verdict: 'rejected',
      tests,
      reason: `the written test did not run on the base commit (${added.join(', ')} not in the results; exit code ${ex.summary.exitCode})`,
      output,
    };
  return {
    verdict: 'rejected',
    tests,
    reason: `passes on the base commit, without any fix: ${tests.map((t) => `${t.name} ${t.status}`).join(', ')}`,
    output,
  };
}
