// Sandbox start-up cost: the full run() path (cgroup setup, bwrap, copy of the work tree, teardown) around
// `/bin/true` on an empty work tree; and, with CODEMESH_BENCH_SANDBOX_TREE set to a checkout (django's 6k
// files in the figures), the same run on that tree, whose difference is the cost of copying it in.
//   BENCH=sandbox CODEMESH_BENCH_SANDBOX_TREE=/work/repos/django__django npm run bench
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createSandbox, type Sandbox } from '../sandbox-agent/index.ts';

export interface BenchMetric {
  name: string;
  value: number;
  unit: string;
}

export async function benchSandbox(runs = 100, env = process.env): Promise<BenchMetric[]> {
  const workDir = await mkdtemp(join(tmpdir(), 'codemesh-bench-sbx-'));
  const sandbox = createSandbox();
  try {
    // The first run also probes bwrap once per process: keep it out of the figures.
    await sandbox.run({ command: ['/bin/true'], workDir, timeoutMs: 10_000 });
    const empty = await timeRuns(sandbox, workDir, runs);
    const metrics: BenchMetric[] = [
      { name: 'sandbox_start_ms_p50', value: round(quantile(empty.times, 0.5)), unit: 'ms' },
      { name: 'sandbox_start_ms_p95', value: round(quantile(empty.times, 0.95)), unit: 'ms' },
      // CPU of all processes of a run (bwrap, tar, the job), which a loaded machine does not inflate.
      { name: 'sandbox_start_cpu_ms_mean', value: round(empty.cpuMs / runs), unit: 'ms' },
      { name: 'sandbox_caps_enforced', value: empty.capsEnforced ? 1 : 0, unit: 'bool' },
    ];
    const tree = env.CODEMESH_BENCH_SANDBOX_TREE;
    if (!tree) {
      process.stderr.write('bench sandbox: set CODEMESH_BENCH_SANDBOX_TREE to a checkout to time its copy\n');
      return metrics;
    }
    const files = Number(
      execFileSync('sh', ['-c', 'find . -path ./.git -prune -o -type f -print | wc -l'], { cwd: tree }),
    );
    const big = await timeRuns(sandbox, tree, 10, 1024 * 4);
    const p50 = quantile(big.times, 0.5);
    metrics.push(
      { name: 'sandbox_tree_files', value: files, unit: 'files' },
      { name: 'sandbox_tree_run_ms_p50', value: round(p50), unit: 'ms' },
      { name: 'sandbox_tree_run_ms_p95', value: round(quantile(big.times, 0.95)), unit: 'ms' },
      { name: 'sandbox_tree_copy_ms_p50', value: round(p50 - quantile(empty.times, 0.5)), unit: 'ms' },
      { name: 'sandbox_tree_cpu_ms_mean', value: round(big.cpuMs / 10), unit: 'ms' },
    );
    return metrics;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

async function timeRuns(sandbox: Sandbox, workDir: string, runs: number, diskMb?: number) {
  const times: number[] = [];
  let capsEnforced = true;
  const cpu0 = childrenCpuMs();
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const res = await sandbox.run({ command: ['/bin/true'], workDir, timeoutMs: 60_000, diskMb });
    times.push(performance.now() - t0);
    if (res.exitCode !== 0) throw new Error(`sandbox run failed: ${res.stderr}`);
    capsEnforced &&= res.capsEnforced;
  }
  times.sort((a, b) => a - b);
  return { times, capsEnforced, cpuMs: childrenCpuMs() - cpu0 };
}

/** User + system CPU of this process's waited-for descendants (cutime + cstime of /proc/self/stat). */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 16 and 17 of the file, counted from after the command name (which may contain spaces).
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS;
}

const CLOCK_TICKS = 100;

function quantile(sorted: number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const metric of await benchSandbox()) console.log(JSON.stringify(metric));
}
