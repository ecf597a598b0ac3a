// Benchmark of the Curator on a deterministic synthetic Python repository (300 files in 30 packages):
// full index time and warm query latency. Run alone: `npx tsx bench/curator.ts` prints JSON lines.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Curator } from '../actors/curator/index.ts';
import { type BenchMetric, percentile } from './metric.ts';
import { seededRandom as rng } from '../test/seeded-random.ts';

const WORDS = (
  'account order invoice payment customer cart product price tax discount coupon shipping address user ' +
  'session token cache queue worker report export import schema field model query filter index backup ' +
  'retry limit budget audit event message channel route handler parser render template config'
).split(' ');

function pythonFile(rand: () => number, pkg: string, mod: string, mods: string[]): string {
  const pick = () => WORDS[Math.floor(rand() * WORDS.length)]!;
  const lines = [`"""${pkg}.${mod}: ${pick()} ${pick()} handling."""`];
  const other = mods[Math.floor(rand() * mods.length)]!;
  lines.push(`from .${other} import ${other}_helper`, '', '');
  lines.push(
    `def ${mod}_helper(value):`,
    `    """Normalise a ${pick()} value."""`,
    '    return value',
    '',
    '',
  );
  for (let c = 0; c < 3; c++) {
    const cls = `${pick()[0]!.toUpperCase()}${pick().slice(1)}${pick()[0]!.toUpperCase()}${pick().slice(1)}${c}`;
    lines.push(`class ${cls}:`, `    """Keeps ${pick()} and ${pick()} records."""`, '');
    for (let m = 0; m < 4; m++) {
      const a = pick();
      const b = pick();
      lines.push(`    def ${a}_${b}(self, ${pick()}, ${pick()}=None):`);
      lines.push(`        # ${pick()} ${pick()} ${pick()}`);
      lines.push(`        result = ${other}_helper(${a})`);
      lines.push(
        `        if result is None:`,
        `            raise ValueError("missing ${b}")`,
        '        return result',
        '',
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Writes and commits the synthetic repository; returns its path. */
export function makeSyntheticRepo(files = 300, seed = 42): string {
  const root = mkdtempSync(join(tmpdir(), 'curator-bench-'));
  const rand = rng(seed);
  const perPkg = 10;
  for (let p = 0; p < files / perPkg; p++) {
    const pkg = `pkg${p}`;
    const mods = Array.from({ length: perPkg }, (_, i) => `mod${i}`);
    mkdirSync(join(root, 'app', pkg), { recursive: true });
    writeFileSync(join(root, 'app', pkg, '__init__.py'), '');
    for (const mod of mods) {
      const path = join(root, 'app', pkg, `${mod}.py`);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, pythonFile(rand, pkg, mod, mods));
    }
  }
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'b',
    GIT_AUTHOR_EMAIL: 'b@x',
    GIT_COMMITTER_NAME: 'b',
    GIT_COMMITTER_EMAIL: 'b@x',
  };
  execFileSync('git', ['init', '-q', root], { env });
  execFileSync('git', ['-C', root, 'add', '-A'], { env });
  execFileSync('git', ['-C', root, 'commit', '-q', '-m', 'synthetic'], { env });
  return root;
}

export async function benchCurator(): Promise<BenchMetric[]> {
  const repo = makeSyntheticRepo();
  const cacheDir = mkdtempSync(join(tmpdir(), 'curator-bench-cache-'));
  const curator = new Curator({ cacheDir, persist: false });
  try {
    const summary = await curator.index({ repoPath: repo });
    const rand = rng(7);
    const times: number[] = [];
    for (let i = 0; i < 60; i++) {
      const w = () => WORDS[Math.floor(rand() * WORDS.length)]!;
      const query = `${w()}_${w()} raises ValueError "missing ${w()}" when the ${w()} ${w()} is empty in pkg${i % 30}`;
      const t0 = performance.now();
      await curator.search({ repoPath: repo, query, topK: 10 });
      if (i >= 10) times.push(performance.now() - t0);
    }
    const round = (x: number) => Math.round(x * 100) / 100;
    return [
      { name: 'curator_index_ms', value: round(summary.ms), unit: 'ms' },
      { name: 'curator_query_ms_p50', value: round(percentile(times, 50)), unit: 'ms' },
      { name: 'curator_query_ms_p95', value: round(percentile(times, 95)), unit: 'ms' },
    ];
  } finally {
    curator.close();
    rmSync(repo, { recursive: true, force: true });
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const m of await benchCurator()) process.stdout.write(`${JSON.stringify(m)}\n`);
}
