// Benchmark of what a cold repository costs the rest of a `codemesh up` process while the Curator indexes it:
// the longest event-loop stall seen by a timer on the main loop (where every other actor, the conductor's
// lease renewals and the NATS heartbeats run), the first answer's latency, and the time until the full
// index answers.
//   BENCH=curator-stall CODEMESH_BENCH_REPO=/work/repos/sympy__sympy npm run bench
// The query is the first issue of CODEMESH_BENCH_DATASET (default ../shared/data/localization/
// swebench_verified_dev.jsonl) for the clone's `<owner>__<name>`, at its base commit; else a fixed text at
// HEAD. CODEMESH_BENCH_INLOOP=1 measures the Curator on the caller's loop instead (the code before issue 9).
// Without CODEMESH_BENCH_REPO it measures nothing and says so.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Curator } from '../actors/curator/curator.ts';
import { readDataset } from '../actors/curator/eval-localize.ts';
import { OffloopCurator } from '../actors/curator/offloop.ts';
import type { BenchMetric } from './metric.ts';

export async function benchCuratorStall(env = process.env): Promise<BenchMetric[]> {
  const repo = env.CODEMESH_BENCH_REPO;
  if (!repo || !existsSync(repo)) {
    process.stderr.write(
      'bench curator-stall: set CODEMESH_BENCH_REPO to a clone (e.g. of sympy); skipped\n',
    );
    return [];
  }
  const dataset =
    env.CODEMESH_BENCH_DATASET ?? resolve('../shared/data/localization/swebench_verified_dev.jsonl');
  const name = basename(resolve(repo)).replace('__', '/');
  const instance = existsSync(dataset) ? readDataset(dataset).find((i) => i.repo === name) : undefined;
  const query =
    instance?.problem_statement ?? 'fix the crash when the configuration file is missing a section';
  const commit = instance?.base_commit ?? 'HEAD';
  const inLoop = env.CODEMESH_BENCH_INLOOP === '1';

  const cacheDir = mkdtempSync(join(tmpdir(), 'curator-stall-cache-'));
  const curator = inLoop ? new Curator({ cacheDir }) : new OffloopCurator({ cacheDir });
  const loop = monitorEventLoopDelay({ resolution: 10 });
  try {
    loop.enable();
    const t0 = performance.now();
    const first = await curator.search({ repoPath: repo, commit, query, topK: 10 });
    const firstMs = performance.now() - t0;
    await curator.index({ repoPath: repo, commit });
    const fullMs = performance.now() - t0;
    const t1 = performance.now();
    const full = await curator.search({ repoPath: repo, commit, query, topK: 10 });
    const queryMs = performance.now() - t1;
    loop.disable();
    const r = (x: number) => Math.round(x * 10) / 10;
    process.stderr.write(
      `bench curator-stall: ${name}${inLoop ? ' (in-loop)' : ''} first answer ${first.index ?? 'full'}: ` +
        `${first.files
          .slice(0, 3)
          .map((f) => f.path)
          .join(', ')}; full: ${full.files
          .slice(0, 3)
          .map((f) => f.path)
          .join(', ')}\n`,
    );
    return [
      { name: 'curator_stall_max_ms', value: r(loop.max / 1e6), unit: 'ms' },
      { name: 'curator_stall_p99_ms', value: r(loop.percentile(99) / 1e6), unit: 'ms' },
      { name: 'curator_stall_first_answer_ms', value: r(firstMs), unit: 'ms' },
      { name: 'curator_stall_full_index_ms', value: r(fullMs), unit: 'ms' },
      { name: 'curator_stall_full_query_ms', value: r(queryMs), unit: 'ms' },
    ];
  } finally {
    loop.disable();
    if (curator instanceof OffloopCurator) await curator.close();
    else curator.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const m of await benchCuratorStall()) process.stdout.write(`${JSON.stringify(m)}\n`);
}
