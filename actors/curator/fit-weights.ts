// Fits the ranking's linear weights to recorded candidate features (`eval localize --features`): a softmax
// over each instance's candidate files, maximising the probability of the files the fix edited.
//   npx tsx actors/curator/fit-weights.ts --features f.jsonl [--train-mod 3] [--l2 0.001] [--out w.json]
//   npx tsx actors/curator/fit-weights.ts --split-report eval-out.json --dataset dev.jsonl   (an `eval --out` file
//   scored on the same split: what the end-to-end ranking gets on the training and held-out instances)
// Training instances are those with md5(instance_id) % mod == 0; the rest are held out and reported apart.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  type FeatureRow,
  type InstanceResult,
  readDataset,
  scoreInstance,
  summarise,
} from './eval-localize.ts';
import { DEFAULT_WEIGHTS, type FileFeatures, type RankWeights } from './rank.ts';
import { FILE_SIGNALS } from './signals.ts';

export const FEATURES = [...FILE_SIGNALS, 'pagerank', 'cochange', 'size', 'test', 'doc', 'text'] as const;

interface Example {
  id: string;
  x: Float64Array[];
  gold: number[];
  /** Gold files not among the candidates: the instance can reach Acc@k only if this is 0. */
  missing: number;
}

export function toExample(row: FeatureRow): Example {
  const x = row.candidates.map((c) =>
    Float64Array.from(FEATURES, (f) => c.features[f as keyof FileFeatures] ?? 0),
  );
  const gold = row.gold_files.map((g) => row.candidates.findIndex((c) => c.path === g)).filter((i) => i >= 0);
  return { id: row.instance_id, x, gold, missing: row.gold_files.length - gold.length };
}

export const isTraining = (id: string, mod: number): boolean =>
  BigInt(`0x${createHash('md5').update(id).digest('hex')}`) % BigInt(mod) === 0n;

function scores(ex: Example, w: Float64Array): Float64Array {
  return Float64Array.from(ex.x, (row) => {
    let s = 0;
    for (let j = 0; j < row.length; j++) s += w[j]! * row[j]!;
    return s;
  });
}

/** Mean loss and its gradient (listwise softmax, gold files averaged, L2 on every weight). */
function lossAndGrad(data: Example[], w: Float64Array, l2: number): { loss: number; grad: Float64Array } {
  const grad = new Float64Array(w.length);
  let loss = 0;
  let n = 0;
  for (const ex of data) {
    if (ex.gold.length === 0) continue;
    n++;
    const s = scores(ex, w);
    let max = -Infinity;
    for (const v of s) if (v > max) max = v;
    let z = 0;
    const p = s.map((v) => Math.exp(v - max));
    for (const v of p) z += v;
    for (let i = 0; i < p.length; i++) p[i] = p[i]! / z;
    for (const g of ex.gold) loss -= Math.log(p[g]! + 1e-12) / ex.gold.length;
    // d/dw of -mean_g log p_g = E_p[x] - mean_g x_g
    for (let i = 0; i < ex.x.length; i++) {
      const row = ex.x[i]!;
      for (let j = 0; j < row.length; j++) grad[j]! += p[i]! * row[j]!;
    }
    for (const g of ex.gold) {
      const row = ex.x[g]!;
      for (let j = 0; j < row.length; j++) grad[j]! -= row[j]! / ex.gold.length;
    }
  }
  for (let j = 0; j < w.length; j++) {
    grad[j] = grad[j]! / Math.max(n, 1) + 2 * l2 * w[j]!;
    loss += l2 * w[j]! * w[j]!;
  }
  return { loss: loss / Math.max(n, 1), grad };
}

/** Adam on the full batch. */
export function fitWeights(
  data: Example[],
  opts: { l2?: number; steps?: number; init?: Float64Array } = {},
): Float64Array {
  const l2 = opts.l2 ?? 0.001;
  const dims = data.find((e) => e.x.length > 0)?.x[0]?.length ?? FEATURES.length;
  const w = opts.init ? Float64Array.from(opts.init) : new Float64Array(dims);
  const m = new Float64Array(w.length);
  const v = new Float64Array(w.length);
  const lr = 0.05;
  for (let t = 1; t <= (opts.steps ?? 1500); t++) {
    const { grad } = lossAndGrad(data, w, l2);
    for (let j = 0; j < w.length; j++) {
      m[j] = 0.9 * m[j]! + 0.1 * grad[j]!;
      v[j] = 0.999 * v[j]! + 0.001 * grad[j]! ** 2;
      w[j] = w[j]! - (lr * (m[j]! / (1 - 0.9 ** t))) / (Math.sqrt(v[j]! / (1 - 0.999 ** t)) + 1e-8);
    }
    // PageRank only enters the ranking with a positive weight.
    const pr = FEATURES.indexOf('pagerank');
    if (w[pr]! < 0) w[pr] = 0;
  }
  return w;
}

/** Acc@1/3/5 (all gold files within the first k) and MRR, re-ranking the recorded candidates. */
export function evaluate(data: Example[], w: Float64Array): { n: number; acc: number[]; mrr: number } {
  const hits = [0, 0, 0];
  let mrr = 0;
  for (const ex of data) {
    const s = scores(ex, w);
    const order = [...s.keys()].sort((a, b) => s[b]! - s[a]!);
    const pos = ex.gold.map((g) => order.indexOf(g));
    if (pos.length) mrr += 1 / (Math.min(...pos) + 1);
    if (ex.missing || pos.length === 0) continue;
    const all = Math.max(...pos) + 1;
    [1, 3, 5].forEach((k, i) => {
      if (all <= k) hits[i]!++;
    });
  }
  const n = data.length;
  return {
    n,
    acc: hits.map((h) => Math.round((10000 * h) / Math.max(n, 1)) / 100),
    mrr: mrr / Math.max(n, 1),
  };
}

export function toRankWeights(w: Float64Array, base: RankWeights = DEFAULT_WEIGHTS): RankWeights {
  const out: RankWeights = { ...base, testPrior: 1, docPrior: 1, textPrior: 1 };
  const round = (x: number) => Math.round(x * 1000) / 1000;
  FEATURES.forEach((f, j) => {
    const v = round(w[j]!);
    if (f === 'test') out.testPenalty = v;
    else if (f === 'doc') out.docPenalty = v;
    else if (f === 'text') out.textPenalty = v;
    else out[f] = v;
  });
  return out;
}

function fromRankWeights(r: RankWeights): Float64Array {
  return Float64Array.from(FEATURES, (f) =>
    f === 'test' ? r.testPenalty : f === 'doc' ? r.docPenalty : f === 'text' ? r.textPenalty : r[f],
  );
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      features: { type: 'string' },
      'train-mod': { type: 'string', default: '3' },
      l2: { type: 'string', default: '0.001' },
      out: { type: 'string' },
      drop: { type: 'string' },
      'split-report': { type: 'string' },
      dataset: { type: 'string' },
    },
  });
  if (values['split-report'] && values.dataset) {
    const gold = new Map(readDataset(values.dataset).map((i) => [i.instance_id, i.gold_files]));
    const out = JSON.parse(readFileSync(values['split-report'], 'utf8')) as {
      instances: Array<{ instance_id: string; ranked_files: string[] }>;
    };
    const mod = Number(values['train-mod']);
    const results = out.instances.map((i): InstanceResult => {
      const gold_files = gold.get(i.instance_id) ?? [];
      const { all, first } = scoreInstance(gold_files, i.ranked_files);
      const base = { query_ms: 0, index_ms: 0, index_source: '' };
      return {
        ...base,
        instance_id: i.instance_id,
        gold_files,
        ranked_files: i.ranked_files,
        all_gold_rank: all,
        first_gold_rank: first,
      };
    });
    for (const [name, keep] of [
      ['train', (id: string) => isTraining(id, mod)],
      ['held-out', (id: string) => !isTraining(id, mod)],
      ['all', () => true],
    ] as const) {
      const r = summarise(
        results.filter((x) => keep(x.instance_id)),
        0,
      );
      process.stdout.write(
        `${name}(${r.n}) Acc@1/3/5 ${[r.acc_at_1, r.acc_at_3, r.acc_at_5].join(' / ')}  MRR ${r.mrr.toFixed(3)}\n`,
      );
    }
    return 0;
  }
  if (!values.features) {
    process.stderr.write(
      'fit-weights: --features FILE required (written by `eval localize --features FILE`)\n',
    );
    return 2;
  }
  const rows = readFileSync(values.features, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as FeatureRow);
  const mod = Number(values['train-mod']);
  const examples = rows.map(toExample);
  // Features to hold at zero (ablation): comma-separated names.
  const dropped = new Set((values.drop ?? '').split(',').filter(Boolean));
  const droppedAt = FEATURES.flatMap((f, j) => (dropped.has(f) ? [j] : []));
  for (const ex of examples) for (const row of ex.x) for (const j of droppedAt) row[j] = 0;
  const train = examples.filter((e) => isTraining(e.id, mod));
  const held = examples.filter((e) => !isTraining(e.id, mod));
  const report = (name: string, w: Float64Array) => {
    const r = (d: Example[]) => evaluate(d, w);
    const [a, b, c] = [r(train), r(held), r(examples)];
    process.stdout.write(
      `${name.padEnd(8)} train(${a.n}) ${a.acc.join(' / ')}  held-out(${b.n}) ${b.acc.join(' / ')}  all(${c.n}) ${c.acc.join(' / ')} mrr ${c.mrr.toFixed(3)}\n`,
    );
  };
  report('current', fromRankWeights(DEFAULT_WEIGHTS));
  const w = fitWeights(train, { l2: Number(values.l2) });
  report('fitted', w);
  const weights = toRankWeights(w);
  process.stdout.write(`${JSON.stringify(weights)}\n`);
  if (values.out) writeFileSync(values.out, `${JSON.stringify(weights, null, 1)}\n`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      // A missing or unreadable input file is the usual cause: one line, not a stack.
      const err = e as NodeJS.ErrnoException;
      process.stderr.write(
        err.code === 'ENOENT'
          ? `fit-weights: no such file: ${err.path} (write it with \`eval localize --features\` or \`--out\`)\n`
          : `fit-weights: ${err.message ?? String(e)}\n`,
      );
      process.exitCode = 2;
    },
  );
}
