// Benchmark of the Curator on a real repository (django in the figures): full index from a cold cache, one
// commit forward, and warm query latency over the dataset's issue texts for that repository.
//   BENCH=curator-repo CODEMESH_BENCH_REPO=/work/repos/django__django npm run bench
// CODEMESH_BENCH_DATASET (default ../shared/data/localization/swebench_verified_dev.jsonl) supplies the queries
// (instances whose repo matches the clone's `<owner>__<name>` directory name) and the commit: the newest base
// commit among them, or CODEMESH_BENCH_COMMIT. Without CODEMESH_BENCH_REPO it measures nothing and says so.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { Curator } from '../actors/curator/index.ts';
import { readDataset } from '../actors/curator/eval-localize.ts';
import { type BenchMetric, percentile } from './metric.ts';

export async function benchCuratorRepo(env = process.env): Promise<BenchMetric[]> {
  const repo = env.CODEMESH_BENCH_REPO;
  if (!repo) {
    process.stderr.write('bench curator-repo: set CODEMESH_BENCH_REPO to a full clone (e.g. of django)\n');
    return [];
  }
  const dataset =
    env.CODEMESH_BENCH_DATASET ?? resolve('../shared/data/localization/swebench_verified_dev.jsonl');
  const name = basename(resolve(repo)).replace('__', '/');
  const instances = existsSync(dataset) ? readDataset(dataset).filter((i) => i.repo === name) : [];
  const git = (...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim();
  const byTime = instances
    .map((i) => ({ i, t: Number(git('show', '-s', '--format=%ct', i.base_commit)) }))
    .sort((a, b) => a.t - b.t);
  const commit = env.CODEMESH_BENCH_COMMIT ?? byTime.at(-1)?.i.base_commit ?? 'HEAD';
  const parent = git('rev-parse', `${commit}~1`);
  const queries = instances.map((i) => i.problem_statement);
  if (queries.length === 0) queries.push('fix the crash when the configuration file is missing');

  const cacheDir = mkdtempSync(join(tmpdir(), 'curator-bench-cache-'));
  const curator = new Curator({ cacheDir, persist: false });
  try {
    const full = await curator.index({ repoPath: repo, commit: parent });
    const forward = await curator.index({ repoPath: repo, commit });
    for (const q of queries) await curator.search({ repoPath: repo, commit, query: q, topK: 20 });
    const ms: number[] = [];
    for (const q of queries) {
      const t0 = performance.now();
      await curator.search({ repoPath: repo, commit, query: q, topK: 20 });
      ms.push(performance.now() - t0);
    }
    const r = (x: number) => Math.round(x * 10) / 10;
    return [
      { name: `curator_repo_files`, value: full.files, unit: 'files' },
      { name: `curator_repo_full_index_ms`, value: r(full.ms), unit: 'ms' },
      { name: `curator_repo_one_commit_forward_ms`, value: r(forward.ms), unit: 'ms' },
      { name: `curator_repo_query_ms_p50`, value: r(percentile(ms, 50)), unit: 'ms' },
      { name: `curator_repo_query_ms_p95`, value: r(percentile(ms, 95)), unit: 'ms' },
      { name: `curator_repo_queries`, value: ms.length, unit: 'queries' },
    ];
  } finally {
    curator.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
}
