// k candidate patches of one attempt (pass@k): each candidate's record on the blackboard, the test evidence a
// choice rests on, and the choice itself — test evidence first, then agreement between candidates (votes on
// normalized diffs), then the Reviewer's ranking; no candidate that earns it means the task abstains.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ReviewVerdict, RiskFlag, TestOutcome } from './work.ts';

/** Most candidates one task may ask for (each is a whole Coder pass and a whole test run). */
export const MAX_CANDIDATES = 8;

/** The model settings one candidate's Coder calls use, over the role's (`POST /v1/config/models`). */
export const CandidateVariant = z
  .object({
    model: z.string().min(1).max(200).optional(),
    /** Sampling temperature sent with each of the candidate's Coder calls. */
    temperature: z.number().min(0).max(2).optional(),
  })
  .strict();
export type CandidateVariant = z.infer<typeof CandidateVariant>;

/** Org defaults (`POST /v1/config/models` `candidates`): k for tasks that name none, and each candidate's settings. */
export const CandidateDefaults = z
  .object({
    k: z.number().int().min(1).max(MAX_CANDIDATES).optional(),
    /** Variant i-1 is candidate i's; a candidate with none gets the default temperature spread. */
    variants: z.array(CandidateVariant).max(MAX_CANDIDATES).optional(),
  })
  .strict();
export type CandidateDefaults = z.infer<typeof CandidateDefaults>;

/**
 * What a candidate's test step showed, as the workflow keeps it (from `test.completed`): enough to tell whether
 * it earns selection without reading the test run.
 */
export const CandidateEvidence = z.object({
  outcome: TestOutcome,
  /** Tests that failed on the base commit and pass with the patch. */
  fixed: z.number().int().min(0),
  regressions: z.number().int().min(0),
  /** Tests failing on the base commit (of those the test step selected). */
  baseFailed: z.number().int().min(0),
  envFault: z.boolean(),
  reason: z.string().optional(),
});
export type CandidateEvidence = z.infer<typeof CandidateEvidence>;

/**
 * `waiting` (no Coder yet), `coding`, `patched` (its patch is stored), `no_patch` (its Coder step failed),
 * `tested` (its test evidence is in), `test_failed` (its test step failed), then `chosen` or `not_chosen`.
 */
export const CandidateState = z.enum([
  'waiting',
  'coding',
  'patched',
  'no_patch',
  'tested',
  'test_failed',
  'chosen',
  'not_chosen',
]);
export type CandidateState = z.infer<typeof CandidateState>;

/** `candidate.<taskId>-<attempt>-c<i>`. */
export const CandidateRecord = z.object({
  taskId: z.string(),
  attempt: z.number().int().min(1),
  candidate: z.number().int().min(1).max(MAX_CANDIDATES),
  state: CandidateState,
  /** The Coder instance that made (or makes) it, and the settings its calls used. */
  owner: z.string().nullable(),
  variant: CandidateVariant.optional(),
  /** `patch.<taskId>-p<attempt>-c<i>` once stored, with its files and the hash of its normalized diff. */
  patchId: z.string().optional(),
  files: z.array(z.string()).optional(),
  diffHash: z.string().optional(),
  /** `testrun.<taskId>-<attempt>-c<i>` and what it showed. */
  testRunId: z.string().optional(),
  evidence: CandidateEvidence.optional(),
  reason: z.string().optional(),
  updatedAt: z.string(),
});
export type CandidateRecord = z.infer<typeof CandidateRecord>;

/** What the Reviewer's model returns when several candidates earned selection: best first. */
export const CandidateRanking = z.object({
  ranking: z
    .array(
      z.object({
        candidate: z.number().int().min(1).max(MAX_CANDIDATES),
        decision: z.enum(['approve', 'revise']),
        confidence: z.number().min(0).max(1),
        critique: z.string().min(1),
        risks: z.array(RiskFlag).default([]),
      }),
    )
    .min(1)
    .max(MAX_CANDIDATES),
});
export type CandidateRanking = z.infer<typeof CandidateRanking>;

/**
 * How strong a candidate's test evidence is:
 * - `fixes`: the tests pass with no regression and at least one test that failed on the base commit passes;
 * - `clean`: the tests pass with no regression and nothing failed on the base commit (no test can go from
 *   failing to passing, so "no regressions" is all the evidence there can be);
 * - `none`: anything else (no patch, a regression, a timeout, tests that never ran, or failing base tests that
 *   the patch leaves failing: it does not fix what the tests show broken).
 */
export type EvidenceTier = 'fixes' | 'clean' | 'none';

export function evidenceTier(e: CandidateEvidence | undefined): { tier: EvidenceTier; why: string } {
  if (!e) return { tier: 'none', why: 'no test evidence' };
  const passing = e.outcome === 'pass' || e.outcome === 'no_tests';
  if (!passing || e.regressions > 0)
    return {
      tier: 'none',
      why: `tests ${e.outcome}${e.regressions ? ` (${e.regressions} regression(s))` : ''}${e.reason ? `: ${e.reason}` : ''}`,
    };
  if (e.fixed > 0) return { tier: 'fixes', why: `${e.fixed} test(s) fixed, no regressions` };
  if (e.baseFailed === 0)
    return {
      tier: 'clean',
      why: e.outcome === 'no_tests' ? 'no tests to run' : 'no regressions; nothing failed on the base commit',
    };
  return {
    tier: 'none',
    why: `fixes none of the ${e.baseFailed} test(s) failing on the base commit`,
  };
}

/**
 * The changed lines of a diff, file by file, with whitespace collapsed and headers, line numbers and context
 * dropped: two candidates that make the same change agree even when their hunks or spacing differ.
 */
export function normalizeDiff(diff: string): string {
  const files = new Map<string, string[]>();
  let file = '';
  let inHunk = false;
  for (const line of diff.split('\n')) {
    if (line.startsWith('diff --git ')) {
      file = /^diff --git a\/.* b\/(.*)$/.exec(line)?.[1] ?? line;
      inHunk = false;
      continue;
    }
    if (line.startsWith('@@')) {
      inHunk = true;
      continue;
    }
    if (!inHunk) {
      // File headers come before the first hunk; inside a hunk a line `--- x` is a removed `-- x`.
      const header = /^(?:\+\+\+|---) (?:[ab]\/)?(.*)$/.exec(line);
      if (header && header[1] !== '/dev/null') file = header[1]!;
      continue;
    }
    if (!/^[+-]/.test(line)) continue;
    const text = line.slice(1).trim().replace(/\s+/g, ' ');
    if (!text) continue;
    const lines = files.get(file) ?? [];
    lines.push(`${line[0]}${text}`);
    files.set(file, lines);
  }
  return [...files.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([f, lines]) => `${f}\n${lines.join('\n')}`)
    .join('\n');
}

export const diffHash = (diff: string): string =>
  createHash('sha256').update(normalizeDiff(diff)).digest('hex').slice(0, 16);

/** One candidate as the choice sees it. */
export interface CandidateInput {
  candidate: number;
  /** Hash of its normalized diff (absent: no patch). */
  diffHash?: string;
  evidence?: CandidateEvidence;
  /** 1 = the Reviewer's first choice (absent: not ranked). */
  reviewRank?: number;
}

export const JudgedCandidate = z.object({
  candidate: z.number().int(),
  tier: z.enum(['fixes', 'clean', 'none']),
  why: z.string(),
  /** Candidates (itself included) whose normalized diff is the same. */
  votes: z.number().int().min(0),
  reviewRank: z.number().int().optional(),
  /** Place in the order of choice among the eligible (1 = chosen); absent: not eligible. */
  place: z.number().int().optional(),
});
export type JudgedCandidate = z.infer<typeof JudgedCandidate>;

/**
 * The choice among an attempt's candidates. The eligible are those of the strongest tier present (`fixes`, else
 * `clean`); among them: more tests fixed, then more votes (candidates with the same normalized diff, counted
 * over every candidate with a patch), then the Reviewer's rank, then the lower number. None eligible: abstain.
 */
export function judgeCandidates(inputs: readonly CandidateInput[]): {
  judged: JudgedCandidate[];
  chosen?: number;
} {
  const votes = new Map<string, number>();
  for (const c of inputs) if (c.diffHash) votes.set(c.diffHash, (votes.get(c.diffHash) ?? 0) + 1);
  const judged = inputs.map((c) => {
    const t = c.diffHash ? evidenceTier(c.evidence) : { tier: 'none' as const, why: 'no patch' };
    return {
      candidate: c.candidate,
      tier: t.tier,
      why: t.why,
      votes: c.diffHash ? (votes.get(c.diffHash) ?? 0) : 0,
      ...(c.reviewRank !== undefined ? { reviewRank: c.reviewRank } : {}),
      fixed: c.evidence?.fixed ?? 0,
    };
  });
  const best: EvidenceTier | undefined = judged.some((j) => j.tier === 'fixes')
    ? 'fixes'
    : judged.some((j) => j.tier === 'clean')
      ? 'clean'
      : undefined;
  const pool = judged
    .filter((j) => j.tier === best)
    .sort(
      (a, b) =>
        b.fixed - a.fixed ||
        b.votes - a.votes ||
        (a.reviewRank ?? Number.MAX_SAFE_INTEGER) - (b.reviewRank ?? Number.MAX_SAFE_INTEGER) ||
        a.candidate - b.candidate,
    );
  const place = new Map(pool.map((j, i) => [j.candidate, i + 1]));
  return {
    judged: judged.map(({ fixed: _, ...j }) => ({
      ...j,
      ...(place.has(j.candidate) ? { place: place.get(j.candidate) } : {}),
    })),
    ...(pool[0] ? { chosen: pool[0].candidate } : {}),
  };
}

/** The candidates that earn selection (the strongest tier present), in candidate order. */
export function eligibleCandidates(inputs: readonly CandidateInput[]): number[] {
  return judgeCandidates(inputs)
    .judged.filter((j) => j.place !== undefined)
    .map((j) => j.candidate);
}

/** `selection.<taskId>-<attempt>`: written once, by the review step (chosen) or the conductor (abstained). */
export const Selection = z.object({
  taskId: z.string(),
  attempt: z.number().int().min(1),
  k: z.number().int().min(1),
  candidates: z.array(
    JudgedCandidate.extend({
      patchId: z.string().optional(),
      testRunId: z.string().optional(),
      evidence: CandidateEvidence.optional(),
      variant: CandidateVariant.optional(),
      reason: z.string().optional(),
    }),
  ),
  /** The chosen candidate (its patch is copied to `patch.<taskId>-p<attempt>`); absent when the task abstained. */
  chosen: z.number().int().optional(),
  abstained: z.boolean(),
  /** One line for people: why this one, or why none. */
  reason: z.string(),
  /** The Reviewer's ranking, when it ranked two or more. */
  ranking: CandidateRanking.shape.ranking.optional(),
  /** The Reviewer's verdict on the chosen one (tests enforced): the attempt's review. */
  verdict: ReviewVerdict.optional(),
  at: z.string(),
});
export type Selection = z.infer<typeof Selection>;

/**
 * Progress of an attempt with candidates, kept in the task's workflow context (durable, applied by the
 * conductor): how each candidate's code step and test step ended.
 */
export interface CandidatesContext {
  k: number;
  /** Candidate number → its code step's end (`patched` with a patch id, or `failed` with the reason). */
  code: Record<string, { patchId: string; diffHash?: string } | { failed: string }>;
  /** Candidate number → its test evidence, or why its test step failed. */
  test: Record<string, CandidateEvidence | { failed: string }>;
}

export function candidatesOf(ctx: { candidates?: unknown }): CandidatesContext | undefined {
  const c = ctx.candidates as CandidatesContext | undefined;
  return c && c.k > 1 ? c : undefined;
}

/** The candidates' evidence as the workflow holds it, for `judgeCandidates`. */
export function candidateInputs(c: CandidatesContext): CandidateInput[] {
  return Array.from({ length: c.k }, (_, i) => {
    const n = i + 1;
    const code = c.code[n];
    const test = c.test[n];
    return {
      candidate: n,
      ...(code && 'patchId' in code ? { diffHash: code.diffHash ?? code.patchId } : {}),
      ...(test && !('failed' in test) ? { evidence: test } : {}),
    };
  });
}

/** One line per candidate: what it showed (the reason of an abstention). */
export function abstainReason(c: CandidatesContext): string {
  const { judged } = judgeCandidates(candidateInputs(c));
  const lines = judged.map((j) => {
    const code = c.code[j.candidate];
    const test = c.test[j.candidate];
    const why =
      code && 'failed' in code
        ? `no patch (${code.failed})`
        : test && 'failed' in test
          ? `test step failed (${test.failed})`
          : j.why;
    return `c${j.candidate}: ${why}`;
  });
  return `no candidate earned selection (${c.k} tried): ${lines.join('; ')}`;
}
