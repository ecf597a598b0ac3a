// Patches, test runs, reviews, approvals and costs: the results that steps leave on the blackboard.
import { z } from 'zod';

/** `patch.<patchId>`: written once by the code step that produced it. */
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
});
export type Patch = z.infer<typeof Patch>;

export const TestCase = z.object({
  name: z.string(),
  status: z.enum(['passed', 'failed', 'skipped']),
  durationMs: z.number().optional(),
  message: z.string().optional(),
});
export type TestCase = z.infer<typeof TestCase>;

/** `testrun.<taskId>-<attempt>`: written once by the test step. */
export const TestRun = z.object({
  id: z.string(),
  taskId: z.string(),
  attempt: z.number().int().min(1),
  patchId: z.string(),
  runner: z.enum(['vitest', 'jest', 'npm', 'pytest', 'django', 'sympy', 'go', 'custom', 'none']),
  command: z.array(z.string()),
  exitCode: z.number().int().nullable(),
  timedOut: z.boolean(),
  passed: z.boolean(),
  counts: z.object({ passed: z.number().int(), failed: z.number().int(), skipped: z.number().int() }),
  tests: z.array(TestCase),
  /** The full log (stdout then stderr), truncated to its last 256 KiB. */
  log: z.string(),
  durationMs: z.number(),
  createdAt: z.string(),
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
});
export type Review = z.infer<typeof Review>;

/** Body of `POST /v1/patches/:id/approve`. */
export const ApprovalRequest = z
  .object({
    decision: z.enum(['approve', 'request_changes']),
    comment: z.string().max(10_000).default(''),
  })
  .strict();
export type ApprovalRequest = z.infer<typeof ApprovalRequest>;

/** `approval.<patchId>`: written once; a second, different decision is refused. */
export const Approval = ApprovalRequest.extend({
  patchId: z.string(),
  taskId: z.string(),
  by: z.string(),
  at: z.string(),
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
