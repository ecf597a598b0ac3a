// Calibration figures of the confidence model (FR-016), as JSON lines: the Brier score of the Reviewer's own
// confidence against the calibrated one, on a held-out part (md5(id) % 3 = 0; fitted on the rest).
//   npx tsx bench/calibration.ts [--rows a.jsonl,b.jsonl] [--n 3000] [--write-defaults]
// Two sources, reported apart, because neither shows what a real model's confidence is worth:
// - `replay`: the `eval swe --provider replay` rows in bench/results/. The replayed Reviewer always says 0.95
//   (actors/llm/replay.ts) about the gold patch, so nearly every labelled row is resolved; the rows were written
//   before they carried the review's features (only coverage, on one session), so the fit sees coverage and
//   the base rate. What this can show: how wrong a constant 0.95 is on this label mix. Not more.
// - `synthetic`: patches drawn from an assumed world (below): whether a patch is good depends on its test
//   evidence, size, retrieval, policy and memory, and the Reviewer's own number is overconfident and weakly
//   informative, with the Reviewer's real overrides (regression → at most 0.2, policy block → 0). It shows the
//   fitter recovers what the evidence carries and that held-out scoring works; the figures are those of the
//   assumption, not of any model. `--write-defaults` prints the weights fitted on it (DEFAULT_CALIBRATION).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type LabelledExample, refit } from '../actors/reviewer/calibration.ts';
import { DEFAULT_CALIBRATION, sigmoid } from '../actors/reviewer/confidence.ts';
import type { ConfidenceFeatures } from '../schemas/index.ts';
import { seededRandom as rng } from '../test/seeded-random.ts';

const DEFAULT_ROWS = [
  'bench/results/eval-swe-replay-2026-12-02.jsonl',
  'bench/results/eval-swe-replay-2026-12-02-s3.jsonl',
  'bench/results/eval-swe-replay-2026-12-02-s4.jsonl',
];
/** What the replayed Reviewer answers for every instance (actors/llm/replay.ts). */
const REPLAY_CONFIDENCE = 0.95;

interface ReplayRow {
  instance_id: string;
  resolved: boolean;
  status?: string;
  coverage?: { changedPct?: number | null };
}

/** The latest row per instance (later files re-ran earlier misses); only completed tasks had a patch reviewed last. */
export function replayExamples(files: readonly string[]): { examples: LabelledExample[]; failed: number } {
  const latest = new Map<string, ReplayRow>();
  for (const f of files)
    for (const line of readFileSync(f, 'utf8').split('\n'))
      if (line.trim()) {
        const r = JSON.parse(line) as ReplayRow;
        latest.set(r.instance_id, r);
      }
  const rows = [...latest.values()];
  const examples = rows
    .filter((r) => r.status === 'completed')
    .map((r) => ({
      id: r.instance_id,
      good: r.resolved,
      features: {
        raw: REPLAY_CONFIDENCE,
        approve: true,
        outcome: 'pass',
        fixed: 0,
        regressions: 0,
        reproduction: 'unchecked',
        addedCovered:
          typeof r.coverage?.changedPct === 'number'
            ? Math.min(1, Math.max(0, r.coverage.changedPct / 100))
            : null,
        files: 0,
        lines: 0,
        retrievalMargin: null,
        policyBlock: 0,
        policyWarn: 0,
        memoryIntegrated: 0,
        memoryFailed: 0,
      } satisfies ConfidenceFeatures,
    }));
  return { examples, failed: rows.length - examples.length };
}

/** The assumed world: see the file's header. */
export function syntheticExamples(n: number, seed = 42): LabelledExample[] {
  const r = rng(seed);
  const pick = <T>(xs: Array<[T, number]>): T => {
    let u = r();
    for (const [v, p] of xs) {
      u -= p;
      if (u < 0) return v;
    }
    return xs[xs.length - 1]![0];
  };
  const out: LabelledExample[] = [];
  for (let i = 0; i < n; i++) {
    const files = 1 + Math.floor(-Math.log(1 - r()) * 1.2);
    const lines = Math.round(files * (3 + r() * 60));
    const fixed = pick<number>([
      [0, 0.35],
      [1, 0.4],
      [2, 0.15],
      [4, 0.1],
    ]);
    const regressions = r() < 0.15 ? 1 + Math.floor(r() * 3) : 0;
    const reproduction = pick<ConfidenceFeatures['reproduction']>([
      ['confirmed', 0.3],
      ['rejected', 0.1],
      ['none', 0.5],
      ['unchecked', 0.1],
    ]);
    const addedCovered = r() < 0.6 ? Math.sqrt(r()) : null;
    const retrievalMargin = r() < 0.7 ? r() : null;
    const policyBlock = r() < 0.03 ? 1 : 0;
    const policyWarn = r() < 0.15 ? 1 + Math.floor(r() * 2) : 0;
    const memoryIntegrated = r() < 0.2 ? 1 + Math.floor(r() * 2) : 0;
    const memoryFailed = r() < 0.1 ? 1 : 0;
    const z =
      -0.8 +
      1.4 * Math.log1p(fixed) -
      2.2 * Math.log1p(regressions) +
      (reproduction === 'confirmed' ? 0.9 : reproduction === 'rejected' ? -0.7 : 0) +
      (addedCovered === null ? 0 : 1.0 * (addedCovered - 0.5)) -
      0.35 * Math.log1p(files) -
      0.15 * Math.log1p(lines) +
      (retrievalMargin === null ? 0 : 0.8 * (retrievalMargin - 0.5)) -
      1.8 * policyBlock +
      0.3 * Math.log1p(memoryIntegrated) -
      0.4 * memoryFailed;
    const good = r() < sigmoid(z + 0.6);
    // The Reviewer: mostly sure, a little surer when the patch is good; the real overrides on top.
    let raw = Math.min(1, 0.72 + 0.2 * r() + (good ? 0.05 : 0));
    let approve = r() < 0.9;
    if (regressions > 0) {
      raw = Math.min(raw, 0.2);
      approve = false;
    }
    if (policyBlock) {
      raw = 0;
      approve = false;
    }
    out.push({
      id: `syn-${i}`,
      good,
      features: {
        raw: Math.round(raw * 100) / 100,
        approve,
        outcome: regressions ? 'regression' : 'pass',
        fixed,
        regressions,
        reproduction,
        addedCovered,
        files,
        lines,
        retrievalMargin,
        policyBlock,
        policyWarn,
        memoryIntegrated,
        memoryFailed,
      },
    });
  }
  return out;
}

function report(source: string, examples: LabelledExample[], extra: Record<string, unknown> = {}) {
  const r = refit(examples, {
    mod: 3,
    given: DEFAULT_CALIBRATION,
    version: `bench-${source}`,
    source,
    at: new Date().toISOString(),
  });
  const h = r.holdout;
  const line = {
    name: `calibration_${source}`,
    n: r.n,
    good: r.good,
    ...extra,
    ...(h
      ? {
          test: h.test,
          test_good: h.raw.good,
          brier_raw: h.raw.brier,
          brier_default: h.given.brier,
          brier_fitted: h.fitted.brier,
          ece_raw: h.raw.ece,
          ece_fitted: h.fitted.ece,
          bins_fitted: h.fitted.bins.filter((b) => b.count),
        }
      : {}),
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
  return r;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string' },
      n: { type: 'string', default: '3000' },
      'write-defaults': { type: 'boolean', default: false },
    },
  });
  const files = values.rows ? values.rows.split(',') : DEFAULT_ROWS;
  const replay = replayExamples(files);
  report('replay', replay.examples, {
    failed_tasks_left_out: replay.failed,
    raw_constant: REPLAY_CONFIDENCE,
  });
  const syn = report('synthetic', syntheticExamples(Number(values.n)));
  if (values['write-defaults']) process.stdout.write(`${JSON.stringify(syn.weights)}\n`);
}
