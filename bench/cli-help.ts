// `codemesh --help` and `codemesh run --help` wall time (aim ≤ 1 s), beside a bare `node -e 0` start on the same
// machine at the same moment: the help is answered before any TypeScript loads, so node's own start is its floor.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchMetric, percentile } from './metric.ts';

const BIN = join(fileURLToPath(new URL('..', import.meta.url)), 'bin', 'codemesh.js');

function wallMs(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}`);
  return performance.now() - t0;
}

export async function benchCliHelp(runs = Number(process.env.BENCH_CLI_RUNS ?? 7)): Promise<BenchMetric[]> {
  const help: number[] = [];
  const runHelp: number[] = [];
  const bare: number[] = [];
  // Interleaved, so a change of the machine's load touches all three alike.
  for (let i = 0; i < runs; i++) {
    help.push(wallMs([BIN, '--help']));
    runHelp.push(wallMs([BIN, 'run', '--help']));
    bare.push(wallMs(['-e', '0']));
  }
  const round = (v: number) => Math.round(v);
  return [
    { name: 'cli_help_p50_ms', value: round(percentile(help, 50)), unit: 'ms' },
    { name: 'cli_run_help_p50_ms', value: round(percentile(runHelp, 50)), unit: 'ms' },
    { name: 'node_bare_start_p50_ms', value: round(percentile(bare, 50)), unit: 'ms' },
  ];
}
