// Sandbox start-up cost: the full run() path (cgroup setup, bwrap, teardown) around `/bin/true`.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createSandbox } from '../sandbox-agent/index.ts';

export interface BenchMetric {
  name: string;
  value: number;
  unit: string;
}

export async function benchSandbox(runs = 100): Promise<BenchMetric[]> {
  const workDir = await mkdtemp(join(tmpdir(), 'codemesh-bench-sbx-'));
  const sandbox = createSandbox();
  try {
    // The first run also probes bwrap once per process: keep it out of the figures.
    await sandbox.run({ command: ['/bin/true'], workDir, timeoutMs: 10_000 });
    const times: number[] = [];
    let capsEnforced = true;
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const res = await sandbox.run({ command: ['/bin/true'], workDir, timeoutMs: 10_000 });
      times.push(performance.now() - t0);
      if (res.exitCode !== 0) throw new Error(`sandbox run failed: ${res.stderr}`);
      capsEnforced &&= res.capsEnforced;
    }
    times.sort((a, b) => a - b);
    return [
      { name: 'sandbox_start_ms_p50', value: round(quantile(times, 0.5)), unit: 'ms' },
      { name: 'sandbox_start_ms_p95', value: round(quantile(times, 0.95)), unit: 'ms' },
      { name: 'sandbox_caps_enforced', value: capsEnforced ? 1 : 0, unit: 'bool' },
    ];
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

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
