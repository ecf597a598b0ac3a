// Patches, test runs, reviews, approvals and costs: the results that steps leave on the blackboard.
import { z } from 'zod';
import { CalibratedConfidence } from './calibration.ts';
import { PolicyReport, SecretFinding } from './policy.ts';

/** `patch.<patchId>`: written once by the code step that produced it. */
/**
 * `repro.<taskId>`: the test the test-writing step wrote and kept (it fails on the base commit). The first
 * code step starts with it in the working tree, so it is part of the patch; the Tester checks that the fix
 * makes it pass (`TestVerdict.reproduction`).
 */
export const ReproTest = z.object({
  taskId: z.string(),
  baseCommit: z.string(),
  /** The test changes as a unified diff against the base commit (test files only). */
  diff: z.string(),
  files: z.array(z.string()),
  /** The added test functions and their status on the base commit (failed / error: they reproduce). */
  tests: z.array(z.object({ name: z.string(), status: z.string(), message: z.string().optional() })),
  /** How many tries it took (a test that passed on the base was sent back once). */
  tries: z.number().int().min(1),
  createdAt: z.string(),
});
export type ReproTest = z.infer<typeof ReproTest>;

export const Patch = z.object({
  id: z.string(),
  taskId: z.string(),
  attempt: z.number().int().min(1),
  baseCommit: z.string(),
  /** A unified diff (`git diff` format) against baseCommit. Never whole files. */
  diff: z.string().min(1),
  files: z.array(z.string()).min(1),
  summary: z.string(),
  stats: z.object({ additions: z.number().int(), deletions: z.number().int() }),
  createdAt: z.string(),
  /**
   * Secrets the scanner found in the model's added lines. When present, `diff` is the redacted diff (each secret
   * replaced by `[REDACTED:<rule>]`), not what the model wrote: such a patch is never approved nor integrated.
   */
  secrets: z.array(SecretFinding).optional(),
  /**
   * The policy report (secrets, SAST, licenses, vulnerabilities) checked before review: a `block` finding makes
   * the Reviewer refuse the patch and the Integrator refuse to commit it, unless `override` is set.
   */
  policy: PolicyReport.optional(),
});
export type Patch = z.infer<typeof Patch>;

/**
 * A duration in whole milliseconds. Clocks and report parsers give fractions (`performance.now()`, `0.0123 s`
 * times 1000) whose float noise (`7613.290539000001`) reached the API and traces; rounded on every parse, so
 * entries written before are rounded when read.
 */
export const DurationMs = z.number().transform((ms) => Math.round(ms));
/** One test's duration: hundredths of a millisecond are kept (unit tests take less than one). */
const TestDurationMs = z.number().transform((ms) => Math.round(ms * 100) / 100);

export const TestCase = z.object({
  name: z.string(),
  status: z.enum(['passed', 'failed', 'skipped']),
  durationMs: TestDurationMs.optional(),
  message: z.string().optional(),
});
export type TestCase = z.infer<typeof TestCase>;

/**
 * What a test step concluded, comparing the patched run with the same tests on the base commit:
 * - `pass`: no regression (pre-existing failures and flaky tests do not block);
 * - `regression`: a test that passed on the base fails with the patch (confirmed by re-runs), a new test
 *   fails, or the run broke only with the patch;
 * - `timeout`: the patched run hit the time limit;
 * - `env_error`: the tests could not run, on the base commit as well (missing tool, no report, nothing
 *   collected): no patch can fix that;
 * - `no_tests`: the repository has no test runner.
 */
/**
 * `unreproduced`: the tests the patch adds pass without its fix too (on the base commit with the patch's test
 * changes): they do not reproduce the issue, and no other test shows the fix.
 */
export const TestOutcome = z.enum(['pass', 'regression', 'timeout', 'env_error', 'no_tests', 'unreproduced']);
export type TestOutcome = z.infer<typeof TestOutcome>;

/** A test whose failure comes from the environment (import/collection errors, missing tools). */
export const EnvError = z.object({
  /** The test (or collection unit) name; `(run)` for a problem of the whole run. */
  name: z.string(),
  message: z.string(),
  /** True when the base commit's run shows it too: not caused by the patch. */
  onBase: z.boolean(),
});
export type EnvError = z.infer<typeof EnvError>;

/**
 * The reproduction check: the base run has the patch's test changes applied (not its fix), so a test the
 * patch adds that passes there does not reproduce the issue. `confirmed`: some test fails without the fix and
 * passes with it; `rejected`: the added tests all pass without the fix and nothing else shows it; `none`: the
 * patch adds no test; `unchecked`: the added tests did not run on both sides.
 */
export const Reproduction = z.object({
  status: z.enum(['confirmed', 'rejected', 'none', 'unchecked']),
  /** Test functions the patch adds (from its diff). */
  added: z.array(z.string()),
  /** Fail (or cannot load) without the fix, pass with it. */
  reproduced: z.array(z.string()),
  /** Added tests that pass without the fix. */
  passOnBase: z.array(z.string()),
});
export type Reproduction = z.infer<typeof Reproduction>;

/** Per-test comparison of the patched run with the base run. Names are TestCase names. */
export const TestVerdict = z.object({
  /** Failed on the base, pass with the patch. */
  fixed: z.array(z.string()),
  /** Passed on the base (or absent from it) and fail with the patch on every re-run: these block. */
  regressions: z.array(z.string()),
  /** Failed on the base and still fail: pre-existing, never blocking. */
  stillFailing: z.array(z.string()),
  /** Absent from the base run (added or first collected with the patch), whatever their status. */
  newTests: z.array(z.string()),
  /** Ran on the base, absent with the patch (deleted, renamed, or no longer collected). */
  missing: z.array(z.string()),
  /** Outcome differed between runs of the same code: never counted as regressions. */
  flaky: z.array(z.string()),
  envErrors: z.array(EnvError),
  /** Passed on both. */
  passing: z.number().int(),
  /** Whether the tests the patch adds reproduce the issue (absent in runs from before this check). */
  reproduction: Reproduction.optional(),
});
export type TestVerdict = z.infer<typeof TestVerdict>;

/** What the base run (no patch applied) said, as the test run keeps it. */
export const BaselineSummary = z.object({
  /** Blackboard key of the cached baseline (`baseline.<hash>`); absent when it was not cached. */
  key: z.string().optional(),
  commit: z.string(),
  /** True when the baseline came from the cache and no base run happened for this step. */
  cached: z.boolean(),
  exitCode: z.number().int().nullable(),
  timedOut: z.boolean(),
  counts: z.object({ passed: z.number().int(), failed: z.number().int(), skipped: z.number().int() }),
  /** Set when the base run had no per-test results (tool missing, no report, timeout). */
  problem: z.string().optional(),
  durationMs: DurationMs,
});
export type BaselineSummary = z.infer<typeof BaselineSummary>;

/**
 * `baseline.<hash>`: per-test results of the base commit (no patch) for one test plan, so later attempts
 * and tasks on the same base skip that run. Only runs that produced per-test results are cached.
 */
export const Baseline = z.object({
  key: z.string(),
  repoPath: z.string(),
  commit: z.string(),
  runner: z.string(),
  /** The plan's command with its worktree path replaced by `$WORKDIR`. */
  command: z.array(z.string()),
  exitCode: z.number().int().nullable(),
  timedOut: z.boolean(),
  counts: z.object({ passed: z.number().int(), failed: z.number().int(), skipped: z.number().int() }),
  /** Failure messages are cut to their first 500 characters (kept to tell environment errors apart). */
  tests: z.array(TestCase.pick({ name: true, status: true, message: true })),
  durationMs: DurationMs,
  createdAt: z.string(),
  /** Per file: the executable lines run and not run, when the plan measured coverage. */
  coverage: z
    .record(z.string(), z.object({ executed: z.array(z.number().int()), missing: z.array(z.number().int()) }))
    .optional(),
});
export type Baseline = z.infer<typeof Baseline>;

/** A flaky test and the outcomes of its runs, first the suite run, then the re-runs alone. */
export const FlakyRecord = z.object({
  name: z.string(),
  runs: z.array(z.enum(['passed', 'failed', 'skipped', 'absent'])),
});
export type FlakyRecord = z.infer<typeof FlakyRecord>;

/** Line coverage of a change (each ecosystem's own measure): the added lines the tests run, and the changed
 * files' coverage with the patch against the base commit's (same tests). Percentages have one decimal. */
export const TestCoverage = z.object({
  /**
   * coverage.py (Python runners), v8 (`npm test` under NODE_V8_COVERAGE, converted by codemesh), the
   * repository's @vitest/coverage-v8, jest's v8 provider, or `go test -coverprofile`.
   */
  tool: z.enum(['coverage.py', 'v8', '@vitest/coverage-v8', 'jest', 'go cover']),
  /** False when the tool is missing or wrote no report, or no changed file could be measured: `reason` says
   * why, when known; the other fields are absent. */
  measured: z.boolean(),
  reason: z.string().optional(),
  files: z.array(
    z.object({
      path: z.string(),
      /** Executable lines the patch adds, and how many of them ran. */
      changedLines: z.number().int(),
      changedCovered: z.number().int(),
      covered: z.number().int(),
      statements: z.number().int(),
      pct: z.number().nullable(),
      /** The file's coverage on the base commit; null when the base has no such file or no figure. */
      basePct: z.number().nullable(),
      /** Why the file has no figure (e.g. V8 ran a transformed version of it). */
      note: z.string().optional(),
    }),
  ),
  changedLines: z.number().int().optional(),
  changedCovered: z.number().int().optional(),
  changedPct: z.number().nullable().optional(),
  pct: z.number().nullable().optional(),
  basePct: z.number().nullable().optional(),
  /** Coverage of the files the base has, with the patch minus on the base, in points. */
  deltaPct: z.number().nullable().optional(),
});
export type TestCoverage = z.infer<typeof TestCoverage>;

/** `testrun.<taskId>-<attempt>`: written once by the test step. */
export const TestRun = z.object({
  id: z.string(),
  taskId: z.string(),
  attempt: z.number().int().min(1),
  patchId: z.string(),
  /** vitest, jest, npm, pytest, go, django, sympy, unittest, custom, none, … (the runner kinds grow). */
  runner: z.string().min(1),
  command: z.array(z.string()),
  exitCode: z.number().int().nullable(),
  timedOut: z.boolean(),
  /** True when nothing blocks: outcome `pass` or `no_tests`. */
  passed: z.boolean(),
  counts: z.object({ passed: z.number().int(), failed: z.number().int(), skipped: z.number().int() }),
  tests: z.array(TestCase),
  /** The full log (stdout then stderr), truncated to its last 256 KiB. */
  log: z.string(),
  durationMs: DurationMs,
  createdAt: z.string(),
  // Absent on runs recorded before baselines existed.
  outcome: TestOutcome.optional(),
  /** One line for people: `timed out after 300s`, `2 regressions: a, b`, `tests never ran: …`. */
  reason: z.string().optional(),
  /** The outcome is the environment's (the base run shows the same problem): the patch cannot fix it. */
  envFault: z.boolean().optional(),
  timeoutMs: z.number().optional(),
  baseline: BaselineSummary.optional(),
  verdict: TestVerdict.optional(),
  /** Flaky tests suggested for quarantine, with the outcomes seen. */
  quarantine: z.array(FlakyRecord).optional(),
  coverage: TestCoverage.optional(),
});
export type TestRun = z.infer<typeof TestRun>;

export const RiskFlag = z.object({
  level: z.enum(['low', 'medium', 'high']),
  note: z.string().min(1),
});

/** What the Reviewer's model must return. */
export const ReviewVerdict = z.object({
  decision: z.enum(['approve', 'revise']),
  confidence: z.number().min(0).max(1),
  critique: z.string().min(1),
  risks: z.array(RiskFlag).default([]),
});
export type ReviewVerdict = z.infer<typeof ReviewVerdict>;

/** `review.<taskId>-<attempt>`: written once by the review step. */
export const Review = ReviewVerdict.extend({
  id: z.string(),
  taskId: z.string(),
  attempt: z.number().int().min(1),
  patchId: z.string(),
  createdAt: z.string(),
  /**
   * `confidence` stays the Reviewer model's own number; this is the calibrated one with the evidence it was
   * computed from (absent on reviews written before calibration existed).
   */
  calibration: CalibratedConfidence.optional(),
});
export type Review = z.infer<typeof Review>;

const ApprovalFields = z
  .object({
    decision: z.enum(['approve', 'request_changes']),
    comment: z.string().max(10_000).default(''),
    /**
     * Approving a patch the policy check blocks needs this (role approver; audited): the reason is recorded on
     * the patch's `policy.override` with who, when and the rule ids overridden.
     */
    override: z
      .object({ reason: z.string().trim().min(1, 'an override needs a reason').max(2_000) })
      .strict()
      .optional(),
  })
  .strict();

/**
 * Body of `POST /v1/patches/:id/approve`; every field is optional (no body at all is an approval). A change
 * request must say what should change: its comment goes to the Coder, and an empty one would send it back with
 * nothing to do.
 */
export const ApprovalRequest = ApprovalFields.extend({
  decision: ApprovalFields.shape.decision.default('approve'),
}).superRefine((b, ctx) => {
  if (b.override && b.decision !== 'approve')
    ctx.addIssue({
      code: 'custom',
      path: ['override'],
      message: 'an override of the policy check goes with an approval',
    });
  if (b.decision === 'request_changes' && b.comment.trim() === '')
    ctx.addIssue({
      code: 'custom',
      path: ['comment'],
      message: 'a change request needs a comment saying what should change',
    });
});
export type ApprovalRequest = z.infer<typeof ApprovalRequest>;

/** One human decision on a patch, at one arrival of the task at the gate (`gate`, counted from 1). */
export const ApprovalDecision = ApprovalFields.extend({
  /** The approver's user id; `byName` the name (or token subject) it is shown under. */
  by: z.string(),
  byName: z.string().max(300).optional(),
  at: z.string(),
  gate: z.number().int().min(1).default(1),
});
export type ApprovalDecision = z.infer<typeof ApprovalDecision>;

/**
 * `approval.<patchId>`: the latest decision on the patch, with the earlier ones. A change request may be
 * followed by an approval (the patch stays approvable, see actors/conductor/workflow.ts) or, at a later gate,
 * by another decision; an approval is final. Updated by compare-and-set.
 */
export const Approval = ApprovalDecision.extend({
  patchId: z.string(),
  taskId: z.string(),
  earlier: z.array(ApprovalDecision).max(50).default([]),
});
export type Approval = z.infer<typeof Approval>;

export const CostEntry = z.object({
  /** Unique per model call: makes recording idempotent. */
  callId: z.string(),
  role: z.string(),
  model: z.string(),
  promptTokens: z.number().int().min(0),
  completionTokens: z.number().int().min(0),
  costUsd: z.number().min(0),
  at: z.string(),
});
export type CostEntry = z.infer<typeof CostEntry>;

/** `cost.<taskId>`: append-only ledger (CAS on revision, entries de-duplicated by callId). */
export const CostLedger = z.object({
  taskId: z.string(),
  entries: z.array(CostEntry),
  totals: z.object({
    promptTokens: z.number(),
    completionTokens: z.number(),
    costUsd: z.number(),
    calls: z.number(),
  }),
});
export type CostLedger = z.infer<typeof CostLedger>;
