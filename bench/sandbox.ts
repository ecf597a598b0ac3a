// Sandbox start-up cost: the full run() path (cgroup setup, bwrap, copy of the work tree, teardown) around
// `/bin/true`, on an empty work tree and on a small one (20 files: the copy path); and, with
// CODEMESH_BENCH_SANDBOX_TREE set to a checkout (django's 6k files in the figures), the same run on that
// tree, whose difference is the cost of copying it in.
//   BENCH=sandbox CODEMESH_BENCH_SANDBOX_TREE=/work/repos/django__django npm run bench
// Comparisons run in the same process, interleaved run by run, so a loaded machine weighs on all alike:
//   CODEMESH_BENCH_SANDBOX_BASELINE=/tmp/base/sandbox-agent/index.ts  another version of sandbox-agent/
//     (e.g. `git archive <rev> sandbox-agent | tar -x -C /tmp/base`), printed as sandbox_baseline_*, and
//     the differences as sandbox_*_minus_baseline (negative: this tree is faster)
//   CODEMESH_BENCH_SRT=1  @anthropic-ai/sandbox-runtime as the engine (test/security/srt-engine.ts; needs
//     `npm i --no-save @anthropic-ai/sandbox-runtime@0.0.78` and ripgrep), printed as sandbox_srt_*
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createSandbox, type Sandbox } from '../sandbox-agent/index.ts';

export interface BenchMetric {
  name: string;
  value: number;
  unit: string;
}

interface Engine {
  /** Metric name prefix: `sandbox` for this tree's sandbox, `sandbox_<label>` for a comparison. */
  prefix: string;
  sandbox: Sandbox;
  close?: () => Promise<void>;
}

export async function benchSandbox(runs = 100, env = process.env): Promise<BenchMetric[]> {
  const root = await mkdtemp(join(tmpdir(), 'codemesh-bench-sbx-'));
  const empty = join(root, 'empty');
  const small = join(root, 'small');
  await mkdir(empty);
  await mkdir(join(small, 'pkg'), { recursive: true });
  for (let i = 0; i < 20; i++) await writeFile(join(small, 'pkg', `mod${i}.py`), `X = ${i}\n`.repeat(200));
  const engines = await loadEngines(env);
  try {
    for (const e of engines) {
      // The first run also probes bwrap once per process: keep it out of the figures.
      await e.sandbox.run({ command: ['/bin/true'], workDir: small, timeoutMs: 10_000 });
    }
    const stats = engines.map(() => ({ empty: new Timing(), small: new Timing(), caps: true }));
    for (let i = 0; i < runs; i++) {
      for (const [k, e] of engines.entries()) {
        const s = stats[k]!;
        s.caps &&= (await s.empty.time(e.sandbox, empty)).capsEnforced;
        await s.small.time(e.sandbox, small);
      }
    }
    const metrics: BenchMetric[] = [];
    for (const [k, e] of engines.entries()) {
      const s = stats[k]!;
      metrics.push(
        ...s.empty.metrics(`${e.prefix}_start`),
        ...s.small.metrics(`${e.prefix}_small_tree_start`),
        { name: `${e.prefix}_caps_enforced`, value: s.caps ? 1 : 0, unit: 'bool' },
      );
    }
    metrics.push(...versusBaseline(metrics));
    const tree = env.CODEMESH_BENCH_SANDBOX_TREE;
    if (!tree) {
      process.stderr.write('bench sandbox: set CODEMESH_BENCH_SANDBOX_TREE to a checkout to time its copy\n');
      return metrics;
    }
    const files = Number(
      execFileSync('sh', ['-c', 'find . -path ./.git -prune -o -type f -print | wc -l'], { cwd: tree }),
    );
    const big = new Timing();
    for (let i = 0; i < 10; i++) await big.time(engines[0]!.sandbox, tree, 1024 * 4);
    const p50 = quantile(big.sorted(), 0.5);
    metrics.push(
      { name: 'sandbox_tree_files', value: files, unit: 'files' },
      { name: 'sandbox_tree_run_ms_p50', value: round(p50), unit: 'ms' },
      { name: 'sandbox_tree_run_ms_p95', value: round(quantile(big.sorted(), 0.95)), unit: 'ms' },
      {
        name: 'sandbox_tree_copy_ms_p50',
        value: round(p50 - quantile(stats[0]!.empty.sorted(), 0.5)),
        unit: 'ms',
      },
      { name: 'sandbox_tree_cpu_ms_mean', value: round(big.cpuMs / 10), unit: 'ms' },
    );
    return metrics;
  } finally {
    for (const e of engines) await e.close?.();
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * With a baseline: this tree's figure minus the baseline's, per wall-time and CPU metric, named
 * `<metric>_minus_baseline` (negative: this tree is faster), so one line tells the difference.
 */
function versusBaseline(metrics: BenchMetric[]): BenchMetric[] {
  const base = new Map(
    metrics.filter((m) => m.name.startsWith('sandbox_baseline_')).map((m) => [m.name.slice(17), m.value]),
  );
  if (base.size === 0) return [];
  return metrics
    .filter((m) => m.unit === 'ms' && /^sandbox_(start|small_tree_start)_/.test(m.name))
    .flatMap((m) => {
      const b = base.get(m.name.slice(8));
      return b === undefined
        ? []
        : [{ name: `${m.name}_minus_baseline`, value: round(m.value - b), unit: 'ms' }];
    });
}

async function loadEngines(env: NodeJS.ProcessEnv): Promise<Engine[]> {
  const engines: Engine[] = [{ prefix: 'sandbox', sandbox: createSandbox() }];
  const baseline = env.CODEMESH_BENCH_SANDBOX_BASELINE;
  if (baseline) {
    const mod = (await import(pathToFileURL(baseline).href)) as { createSandbox(): Sandbox };
    engines.push({ prefix: 'sandbox_baseline', sandbox: mod.createSandbox() });
    process.stderr.write(
      `bench sandbox: sandbox_* = this tree (${new URL('../sandbox-agent/', import.meta.url).pathname}), ` +
        `sandbox_baseline_* = ${baseline}, interleaved run by run; *_minus_baseline = this tree - baseline\n`,
    );
  }
  if (env.CODEMESH_BENCH_SRT === '1') {
    const { createSrtSandbox, srtInstalled } = await import('../test/security/srt-engine.ts');
    if (!srtInstalled())
      throw new Error('CODEMESH_BENCH_SRT=1: @anthropic-ai/sandbox-runtime is not installed');
    const srt = await createSrtSandbox();
    engines.push({ prefix: 'sandbox_srt', sandbox: srt, close: () => srt.close() });
  }
  return engines;
}

/** Wall times of runs and the CPU they took, ours and our children's. */
class Timing {
  times: number[] = [];
  cpuMs = 0;
  nodeCpuMs = 0;

  async time(sandbox: Sandbox, workDir: string, diskMb?: number) {
    const cpu0 = cpuMs();
    const own0 = process.cpuUsage();
    const t0 = performance.now();
    const res = await sandbox.run({ command: ['/bin/true'], workDir, timeoutMs: 60_000, diskMb });
    this.times.push(performance.now() - t0);
    const own = process.cpuUsage(own0);
    this.nodeCpuMs += (own.user + own.system) / 1000;
    this.cpuMs += cpuMs() - cpu0;
    if (res.exitCode !== 0) throw new Error(`sandbox run failed: ${res.stderr}`);
    return res;
  }

  sorted(): number[] {
    return [...this.times].sort((a, b) => a - b);
  }

  metrics(name: string): BenchMetric[] {
    const sorted = this.sorted();
    const n = this.times.length;
    return [
      { name: `${name}_ms_p50`, value: round(quantile(sorted, 0.5)), unit: 'ms' },
      { name: `${name}_ms_p95`, value: round(quantile(sorted, 0.95)), unit: 'ms' },
      // CPU of everything a run takes: see cpuMs. And of this process alone (a spawn forks it).
      { name: `${name}_cpu_ms_mean`, value: round(this.cpuMs / n), unit: 'ms' },
      { name: `${name}_node_cpu_ms_mean`, value: round(this.nodeCpuMs / n), unit: 'ms' },
    ];
  }
}

/**
 * CPU used so far by this process and every process it started, read from a cpuacct cgroup holding this
 * process (descendants stay in it whoever reaps them: bwrap's init is reaped by the host's init, so
 * /proc/self/stat's cutime misses it and all it waited for). Without a writable cpuacct hierarchy: this
 * process plus its waited-for descendants.
 */
function cpuMs(): number {
  meter ??= cpuacctGroup();
  if (meter) return Number(readFileSync(join(meter, 'cpuacct.usage'), 'utf8')) / 1e6;
  const own = process.cpuUsage();
  return childrenCpuMs() + (own.user + own.system) / 1000;
}

let meter: string | false | undefined;

function cpuacctGroup(): string | false {
  try {
    const own = /^\d+:cpuacct(?:,[^:]*)?:(.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1];
    if (own === undefined) return false;
    const home = join('/sys/fs/cgroup/cpuacct', own);
    const dir = join(home, `codemesh-bench-${process.pid}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'cgroup.procs'), String(process.pid));
    process.once('exit', () => {
      try {
        writeFileSync(join(home, 'cgroup.procs'), String(process.pid));
        rmdirSync(dir);
      } catch {
        // left for the next boot; an empty group costs nothing
      }
    });
    return dir;
  } catch {
    return false;
  }
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
