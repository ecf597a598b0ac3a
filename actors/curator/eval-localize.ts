// The localization benchmark: for each issue, index its repository at the base commit and check whether
// the files the fix edited rank first. One worktree per repository is moved commit to commit, instances
// sorted by commit date, so every index after the first is an incremental one.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Curator, type CuratorOptions } from './curator.ts';
import { type FileFeatures, rank } from './rank.ts';
import { gitEnv, gitSpawnSync } from '../runtime/git.ts';

export interface LocalizeInstance {
  instance_id: string;
  repo: string;
  base_commit: string;
  problem_statement: string;
  gold_files: string[];
}

export interface EvalLocalizeOptions {
  dataset: string;
  /** Directory holding full clones named `<owner>__<name>`. */
  repos: string;
  limit?: number;
  /** Only instances whose id matches. */
  filter?: (inst: LocalizeInstance) => boolean;
  /** Where the per-repository worktrees go (default: `$TMPDIR/codemesh-eval-worktrees`). */
  worktrees?: string;
  /** Check out each base commit in the worktree (default true); the index itself reads git objects. */
  checkout?: boolean;
  curator?: CuratorOptions;
  onInstance?: (r: InstanceResult, done: number, total: number) => void;
  onWarning?: (message: string) => void;
  /** Called per instance with the features of its best `FEATURE_CANDIDATES` files (for fitting weights). */
  onFeatures?: (row: FeatureRow) => void;
}

/** Candidates per instance whose features are recorded for fitting. */
export const FEATURE_CANDIDATES = 200;

export interface FeatureRow {
  instance_id: string;
  gold_files: string[];
  candidates: Array<{ path: string; features: FileFeatures }>;
}

export interface InstanceResult {
  instance_id: string;
  gold_files: string[];
  ranked_files: string[];
  query_ms: number;
  index_ms: number;
  index_source: string;
  /** 1-based rank at which all gold files are in, or 0 if not within the ranked list. */
  all_gold_rank: number;
  /** 1-based rank of the first gold file, or 0. */
  first_gold_rank: number;
}

export interface EvalReport {
  n: number;
  /** Percentages, 0–100. */
  acc_at_1: number;
  acc_at_3: number;
  acc_at_5: number;
  /** Mean reciprocal rank of the first gold file (0–1; 0 when none is in the top 20). */
  mrr: number;
  index_s_total: number;
  query_ms_p50: number;
  query_ms_p95: number;
  instances: InstanceResult[];
}

export function readDataset(path: string): LocalizeInstance[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as LocalizeInstance);
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function commitTime(repoPath: string, commit: string): number {
  return Number(
    execFileSync('git', ['-C', repoPath, '--no-pager', 'show', '-s', '--format=%ct', commit], {
      encoding: 'utf8',
      env: gitEnv(),
    }).trim(),
  );
}

function ensureWorktree(clone: string, dir: string): void {
  if (existsSync(join(dir, '.git'))) return;
  mkdirSync(join(dir, '..'), { recursive: true });
  const safe = gitSpawnSync(clone);
  execFileSync('git', [...safe.args, 'worktree', 'prune'], { stdio: 'ignore', env: safe.env });
  execFileSync('git', [...safe.args, 'worktree', 'add', '--detach', '--no-checkout', dir, 'HEAD'], {
    stdio: 'ignore',
    env: safe.env,
  });
}

export function scoreInstance(gold: string[], ranked: string[]): { all: number; first: number } {
  const pos = gold.map((g) => ranked.indexOf(g));
  const all = pos.some((p) => p < 0) ? 0 : Math.max(...pos) + 1;
  const found = pos.filter((p) => p >= 0);
  return { all, first: found.length ? Math.min(...found) + 1 : 0 };
}

export function summarise(results: InstanceResult[], indexMs: number): EvalReport {
  const n = results.length;
  const acc = (k: number) =>
    n ? (100 * results.filter((r) => r.all_gold_rank > 0 && r.all_gold_rank <= k).length) / n : 0;
  const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
  const q = results.map((r) => r.query_ms);
  return {
    n,
    acc_at_1: round(acc(1)),
    acc_at_3: round(acc(3)),
    acc_at_5: round(acc(5)),
    mrr: round(
      n ? results.reduce((s, r) => s + (r.first_gold_rank ? 1 / r.first_gold_rank : 0), 0) / n : 0,
      4,
    ),
    index_s_total: round(indexMs / 1000, 1),
    query_ms_p50: round(percentile(q, 50), 1),
    query_ms_p95: round(percentile(q, 95), 1),
    instances: results,
  };
}

export async function evalLocalize(opts: EvalLocalizeOptions): Promise<EvalReport> {
  let instances = readDataset(opts.dataset);
  if (opts.filter) instances = instances.filter(opts.filter);
  if (opts.limit) instances = instances.slice(0, opts.limit);
  const byRepo = new Map<string, LocalizeInstance[]>();
  for (const inst of instances) byRepo.set(inst.repo, [...(byRepo.get(inst.repo) ?? []), inst]);
  const curator = new Curator({ onWarning: opts.onWarning, ...opts.curator });
  const worktrees = opts.worktrees ?? join(tmpdir(), 'codemesh-eval-worktrees');
  const results: InstanceResult[] = [];
  let indexMs = 0;
  for (const [repo, list] of byRepo) {
    const name = repo.replace('/', '__');
    const clone = join(opts.repos, name);
    const wt = join(worktrees, name);
    ensureWorktree(clone, wt);
    const times = new Map(list.map((i) => [i.base_commit, commitTime(clone, i.base_commit)]));
    list.sort((a, b) => times.get(a.base_commit)! - times.get(b.base_commit)!);
    for (const inst of list) {
      if (opts.checkout !== false) {
        try {
          const safe = gitSpawnSync(wt);
          execFileSync('git', [...safe.args, 'checkout', '--detach', '-f', '-q', inst.base_commit], {
            stdio: 'ignore',
            env: safe.env,
          });
        } catch {
          // A mirror may lack some large blobs, which fails the checkout; the index reads the commit's git
          // objects and skips missing blobs, so the instance is still evaluated.
          opts.onWarning?.(
            `${inst.instance_id}: checkout of ${inst.base_commit} failed; indexing from git objects`,
          );
        }
      }
      const summary = await curator.index({ repoPath: wt, commit: inst.base_commit });
      indexMs += summary.ms;
      const t0 = performance.now();
      const res = await curator.search({
        repoPath: wt,
        commit: inst.base_commit,
        query: inst.problem_statement,
        topK: 20,
      });
      const queryMs = performance.now() - t0;
      const ranked = res.files.map((f) => f.path);
      if (opts.onFeatures) {
        const index = curator.indexAt(wt, inst.base_commit);
        const { files } = rank(index, inst.problem_statement, FEATURE_CANDIDATES, curator.weights, {
          explain: true,
        });
        opts.onFeatures({
          instance_id: inst.instance_id,
          gold_files: inst.gold_files,
          candidates: files.map((f) => ({ path: f.path, features: f.features! })),
        });
      }
      const { all, first } = scoreInstance(inst.gold_files, ranked);
      const r: InstanceResult = {
        instance_id: inst.instance_id,
        gold_files: inst.gold_files,
        ranked_files: ranked,
        query_ms: Math.round(queryMs * 10) / 10,
        index_ms: Math.round(summary.ms),
        index_source: summary.source,
        all_gold_rank: all,
        first_gold_rank: first,
      };
      results.push(r);
      opts.onInstance?.(r, results.length, instances.length);
    }
  }
  return summarise(results, indexMs);
}
