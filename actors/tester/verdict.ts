// The verdict of a test step: the patched run compared test by test with the same tests on the base commit
// (fixed, regressions, pre-existing failures, new and missing tests, flaky tests, environment errors), and
// the outcome that decides whether the patch is blocked. Pure: the tester's machine does the running.
import type { FlakyRecord, Reproduction, TestOutcome, TestVerdict } from '../../schemas/index.ts';

export type TestStatus = 'passed' | 'failed' | 'skipped';
/** What one re-run said about one test; `absent` when the re-run did not report it. */
export type RerunStatus = TestStatus | 'absent';

export interface RunSummary {
  tests: ReadonlyArray<{ name: string; status: TestStatus; message?: string }>;
  exitCode: number | null;
  timedOut: boolean;
  /** parseRunnerOutput's `error`: no per-test results could be read (report missing or unreadable). */
  error?: string;
  /** The end of stdout + stderr, to recognise a tool that is not installed. */
  output?: string;
}

/** A problem of a whole run: it yielded no usable per-test results. */
export interface RunProblem {
  kind: 'timeout' | 'env_error';
  detail: string;
}

export interface VerdictInput {
  /** The base commit's run; undefined when no baseline could be had (every failure then counts). */
  base?: RunSummary;
  patched: RunSummary;
  /** Outcomes of the re-runs (alone, on the patched code) of the candidates from `rerunCandidates`. */
  reruns?: ReadonlyMap<string, readonly RerunStatus[]>;
  timeoutMs: number;
  /** The repository has no test runner. */
  noRunner?: boolean;
  /**
   * Test functions the patch adds. The base run then had the patch's test changes applied: these must fail
   * (or not load) there and pass with the fix, and failing with the fix they block.
   */
  added?: readonly string[];
}

export interface Verdict {
  outcome: TestOutcome;
  /** True when nothing blocks the patch. */
  passed: boolean;
  /** The outcome is the environment's: the base run shows the same problem. */
  envFault: boolean;
  reason: string;
  verdict: TestVerdict;
  quarantine: FlakyRecord[];
}

// A missing tool as a shell, execvp (bwrap) or node's spawn reports it.
const MISSING_TOOL = /command not found|execvp[^\n]*No such file|spawn \S+ ENOENT|not found in PATH/i;
// Failures that come from the environment rather than from an assertion.
const ENV_MESSAGE =
  /ModuleNotFoundError|ImportError|No module named|cannot import name|error collecting|collection failure|Cannot find module|ERR_MODULE_NOT_FOUND|command not found|Temporary failure in name resolution|Name or service not known|nodename nor servname|getaddrinfo (?:ENOTFOUND|EAI_AGAIN)|Network is unreachable/i;

/** A failure for want of the network: the sandbox has none, so the test could not have passed there. */
const NO_NETWORK =
  /Temporary failure in name resolution|Name or service not known|nodename nor servname|getaddrinfo (?:ENOTFOUND|EAI_AGAIN)|Network is unreachable/i;

/**
 * The problem of a run that produced no usable per-test results, or undefined.
 *
 * @example runProblem({ tests: [], exitCode: 127, timedOut: false, output: 'bwrap: execvp pytest: No such file or directory' }, 1000)
 * // { kind: 'env_error', detail: 'command not found: bwrap: execvp pytest: No such file or directory' }
 */
export function runProblem(run: RunSummary, timeoutMs: number): RunProblem | undefined {
  if (run.timedOut) return { kind: 'timeout', detail: `timed out after ${formatSeconds(timeoutMs)}` };
  // Every result is a collection or import error (pytest stops at collection errors): no test ran.
  const env = run.tests.filter((t) => t.status === 'failed' && t.message && ENV_MESSAGE.test(t.message));
  if (env.length > 0 && env.length === run.tests.filter((t) => t.status !== 'skipped').length)
    return {
      kind: 'env_error',
      detail: `no test ran, ${env.length === 1 ? 'a collection error' : `${env.length} collection errors`}: ${env[0]!.name}: ${envLine(env[0]!.message!)}`,
    };
  if (run.tests.length > 0) return undefined;
  const output = run.output ?? '';
  const missing = output.split('\n').find((l) => MISSING_TOOL.test(l));
  if (run.exitCode === 127 || missing)
    return { kind: 'env_error', detail: `command not found: ${(missing ?? output).trim().slice(0, 300)}` };
  if (run.error) return { kind: 'env_error', detail: firstLines(run.error, 3) };
  if (run.exitCode !== 0 && run.exitCode !== null)
    return {
      kind: 'env_error',
      detail: `the runner exited ${run.exitCode} without reporting a test: ${lastLine(output)}`,
    };
  return undefined;
}

/**
 * Tests worth re-running to tell a regression from a flaky test: failing with the patch while they passed
 * (or did not exist) on the base. With no usable baseline, every failing test.
 */
export function rerunCandidates(
  base: RunSummary | undefined,
  patched: RunSummary,
  timeoutMs = 0,
  added: readonly string[] = [],
): string[] {
  const baseTests = usableBase(base, timeoutMs);
  return patched.tests
    .filter(
      (t) => t.status === 'failed' && (baseTests?.get(t.name)?.status !== 'failed' || isAdded(t.name, added)),
    )
    .map((t) => t.name);
}

/**
 * Whether a test (a runner's TestCase name) is one of these test functions: `mod::test_x`,
 * `mod::test_x[param]`, `pkg::TestX/sub`, `file > describe > title`.
 */
export function isAdded(name: string, added: readonly string[]): boolean {
  return added.some(
    (fn) =>
      name.endsWith(`::${fn}`) ||
      name.includes(`::${fn}[`) ||
      name.includes(`::${fn}/`) ||
      name.endsWith(` > ${fn}`),
  );
}

/** Compares the runs and decides. */
export function decide(input: VerdictInput): Verdict {
  const { patched, timeoutMs } = input;
  const reruns = input.reruns ?? new Map<string, readonly RerunStatus[]>();
  const added = input.added ?? [];
  const baseTests = usableBase(input.base, timeoutMs);
  const verdict: TestVerdict = {
    fixed: [],
    regressions: [],
    stillFailing: [],
    newTests: [],
    missing: [],
    flaky: [],
    envErrors: [],
    passing: 0,
  };
  const quarantine: FlakyRecord[] = [];
  const seen = new Set<string>();
  for (const t of patched.tests) {
    seen.add(t.name);
    const b = baseTests?.get(t.name);
    if (baseTests && !b) verdict.newTests.push(t.name);
    if (t.status === 'skipped') continue;
    if (t.status === 'passed') {
      if (b?.status === 'failed') verdict.fixed.push(t.name);
      else if (b) verdict.passing++;
      continue;
    }
    if (t.message && ENV_MESSAGE.test(t.message))
      verdict.envErrors.push({
        name: t.name,
        message: envLine(t.message),
        onBase: b?.status === 'failed',
      });
    // A test the patch adds fails with its own fix: never a pre-existing failure.
    if (b?.status === 'failed' && !isAdded(t.name, added)) {
      verdict.stillFailing.push(t.name);
      continue;
    }
    // A new test that needs the internet (the sandbox has none) says nothing about the patch: an
    // environment error, reported, not a regression — also when the base run had it (the patch's test
    // changes run there too: requests-1766's digest test failed on base and with the fix for want of
    // httpbin.org). A test that passed before and now wants the network still is one: the patch made it
    // reach out.
    const newOrAdded = !b || (b.status === 'failed' && isAdded(t.name, added));
    if (newOrAdded && baseTests && t.message && NO_NETWORK.test(t.message)) continue;
    const runs = reruns.get(t.name) ?? [];
    if (runs.includes('passed')) {
      verdict.flaky.push(t.name);
      quarantine.push({ name: t.name, runs: ['failed', ...runs] });
    } else verdict.regressions.push(t.name);
  }
  if (baseTests)
    for (const [name, b] of baseTests)
      if (!seen.has(name) && b.status !== 'skipped') verdict.missing.push(name);

  const pProblem = input.noRunner ? undefined : runProblem(patched, timeoutMs);
  const bProblem = input.base ? runProblem(input.base, timeoutMs) : undefined;
  if (input.added) verdict.reproduction = reproductionOf(input.added, patched, baseTests, bProblem, verdict);
  if (pProblem?.kind === 'env_error')
    verdict.envErrors.push({ name: '(run)', message: pProblem.detail, onBase: bProblem !== undefined });

  const done = (outcome: TestOutcome, envFault: boolean, reason: string): Verdict => ({
    outcome,
    passed: outcome === 'pass' || outcome === 'no_tests',
    envFault,
    reason,
    verdict,
    quarantine,
  });
  if (input.noRunner) return done('no_tests', false, 'no test runner detected');
  if (pProblem?.kind === 'timeout') {
    const both = bProblem?.kind === 'timeout';
    return done('timeout', both, `${pProblem.detail}${both ? ' (on the base commit too)' : ''}`);
  }
  if (pProblem) {
    if (bProblem || !input.base) return done('env_error', true, `tests never ran: ${pProblem.detail}`);
    return done('regression', false, `the test run broke with the patch: ${pProblem.detail}`);
  }
  if (verdict.regressions.length > 0) {
    const noBase = baseTests ? '' : ' (no baseline to compare with)';
    return done(
      'regression',
      false,
      `${plural(verdict.regressions.length, 'regression')}${noBase}: ${names(verdict.regressions)}`,
    );
  }
  if (verdict.reproduction?.status === 'rejected') {
    const weak = verdict.reproduction.passOnBase;
    return done(
      'unreproduced',
      false,
      `the ${plural(weak.length, 'test')} the patch adds pass without its fix too: ${weak.length === 1 ? 'it does' : 'they do'} not reproduce the issue (${names(weak)})`,
    );
  }
  return done('pass', false, summarize(verdict));
}

/**
 * Do the tests the patch adds reproduce the issue? The base run had the patch's test changes (not its fix):
 * a test that fails there, or cannot even load there (its file fails to import without the fix), and passes
 * with the fix reproduces it; any fixed test shows the fix too.
 */
function reproductionOf(
  added: readonly string[],
  patched: RunSummary,
  baseTests: Map<string, RunSummary['tests'][number]> | undefined,
  bProblem: RunProblem | undefined,
  verdict: TestVerdict,
): Reproduction {
  const mine = patched.tests.filter((t) => isAdded(t.name, added));
  // Without the fix: failed, or absent (its file did not load); with no usable base run, only a run that
  // broke on an import or collection error counts (a timed-out base says nothing).
  const failsWithoutFix = (name: string) => {
    if (!baseTests) return bProblem?.kind === 'env_error';
    const status = baseTests.get(name)?.status;
    return status === undefined || status === 'failed';
  };
  const reproduced = [
    ...new Set([
      ...verdict.fixed,
      ...mine.filter((t) => t.status === 'passed' && failsWithoutFix(t.name)).map((t) => t.name),
    ]),
  ];
  const passOnBase = mine.filter((t) => baseTests?.get(t.name)?.status === 'passed').map((t) => t.name);
  const status: Reproduction['status'] =
    added.length === 0
      ? 'none'
      : reproduced.length > 0
        ? 'confirmed'
        : passOnBase.length > 0
          ? 'rejected'
          : 'unchecked';
  return { status, added: [...added], reproduced, passOnBase };
}

/**
 * The verdict of a selection run in two stages, from the first stage's (which passed: the second runs only
 * then) and the second's: every list joined; the second decides whether anything blocks.
 */
export function joinVerdicts(first: Verdict, second: Verdict): Verdict {
  const a = first.verdict;
  const b = second.verdict;
  const verdict: TestVerdict = {
    fixed: [...a.fixed, ...b.fixed],
    regressions: [...a.regressions, ...b.regressions],
    stillFailing: [...a.stillFailing, ...b.stillFailing],
    newTests: [...a.newTests, ...b.newTests],
    missing: [...a.missing, ...b.missing],
    flaky: [...a.flaky, ...b.flaky],
    envErrors: [...a.envErrors, ...b.envErrors],
    passing: a.passing + b.passing,
    ...(a.reproduction ? { reproduction: a.reproduction } : {}),
  };
  const quarantine = [...first.quarantine, ...second.quarantine];
  if (!first.passed || !second.passed) {
    const blocking = first.passed ? second : first;
    return {
      ...blocking,
      reason: `${first.passed ? 'related tests: ' : ''}${blocking.reason}`,
      verdict,
      quarantine,
    };
  }
  const outcome = first.outcome === 'pass' || second.outcome === 'pass' ? 'pass' : 'no_tests';
  return { outcome, passed: true, envFault: false, reason: summarize(verdict), verdict, quarantine };
}

/** `3 fixed, 0 regressions, 2 pre-existing failures (not blocking), 1 flaky` — the parts that apply. */
export function summarize(
  v: Pick<TestVerdict, 'fixed' | 'regressions' | 'stillFailing' | 'flaky' | 'newTests' | 'envErrors'>,
): string {
  const parts = [`${v.fixed.length} fixed`, plural(v.regressions.length, 'regression')];
  if (v.stillFailing.length)
    parts.push(`${plural(v.stillFailing.length, 'pre-existing failure')} (not blocking)`);
  if (v.flaky.length) parts.push(`${v.flaky.length} flaky`);
  if (v.newTests.length) parts.push(plural(v.newTests.length, 'new test'));
  const env = v.envErrors.length;
  if (env) parts.push(plural(env, 'environment error'));
  return parts.join(', ');
}

/** The base run's tests by name, or undefined when it has no usable per-test results. */
function usableBase(base: RunSummary | undefined, timeoutMs: number) {
  if (!base || runProblem(base, timeoutMs)) return undefined;
  return new Map(base.tests.map((t) => [t.name, t]));
}

export function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)}s`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function names(list: string[], max = 5): string {
  return list.length <= max
    ? list.join(', ')
    : `${list.slice(0, max).join(', ')} and ${list.length - max} more`;
}

/** The line of a failure message that names the environment problem. */
function envLine(message: string): string {
  const lines = message.split('\n');
  return (lines.find((l) => /Error:|No module named|not found/.test(l)) ?? lines[0] ?? '')
    .trim()
    .slice(0, 300);
}

function firstLines(text: string, n: number): string {
  return text.trim().split('\n').slice(0, n).join(' | ');
}

function lastLine(text: string): string {
  const lines = text
    .trim()
    .split('\n')
    .filter((l) => l.trim());
  return (lines.at(-1) ?? '').trim().slice(0, 300);
}
