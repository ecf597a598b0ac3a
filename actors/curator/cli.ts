// CLI commands of the Curator: each takes parsed arguments, prints to stdout and returns an exit code.
import { appendFileSync, writeFileSync } from 'node:fs';
import { Curator } from './curator.ts';
import { CuratorError } from './errors.ts';
import { evalLocalize } from './eval-localize.ts';
import { DEFAULT_WEIGHTS, type RankWeights } from './rank.ts';

export interface CliIO {
  out: (line: string) => void;
  err: (line: string) => void;
}

const stdio: CliIO = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
};

function fail(io: CliIO, e: unknown): number {
  if (e instanceof CuratorError) {
    io.err(`${e.code}: ${e.message}`);
    return 2;
  }
  io.err(e instanceof Error ? (e.stack ?? e.message) : String(e));
  return 1;
}

/** `codemesh index --repo PATH [--commit REV]` */
export async function cmdIndex(
  args: { repo: string; commit?: string; cacheDir?: string; json?: boolean },
  io: CliIO = stdio,
): Promise<number> {
  try {
    const s = await new Curator({ cacheDir: args.cacheDir }).index({
      repoPath: args.repo,
      commit: args.commit,
    });
    if (args.json) io.out(JSON.stringify(s));
    else {
      io.out(
        `indexed ${args.repo} @ ${s.commit.slice(0, 12)} (${s.source}, ${s.filesRead} files read) in ${(s.ms / 1000).toFixed(2)} s`,
      );
      io.out(`files ${s.files}  chunks ${s.chunks}  symbols ${s.symbols}`);
      if (args.cacheDir) io.out(`snapshot in ${args.cacheDir}`);
      const { ast, symbols, docs } = s.modes;
      io.out(`ast: ${ast.files} source files, ${ast.chunks} chunks`);
      io.out(
        `symbols: ${symbols.definitions} definitions of ${symbols.symbols} names, ${symbols.references} references, ${symbols.imports} imports`,
      );
      io.out(`docs: ${docs.files} text files, ${docs.chunks} line windows`);
      io.out(
        `skipped: binary ${s.skipped.binary}, too large ${s.skipped.tooLarge}; parse errors ${s.skipped.parseErrors}`,
      );
    }
    return 0;
  } catch (e) {
    return fail(io, e);
  }
}

/** `codemesh search --repo PATH --query TEXT [--top-k N] [--commit REV] [--json]` */
export async function cmdSearch(
  args: { repo: string; query: string; topK?: number; commit?: string; json?: boolean; cacheDir?: string },
  io: CliIO = stdio,
): Promise<number> {
  try {
    const curator = new Curator({ cacheDir: args.cacheDir });
    const r = await curator.search({
      repoPath: args.repo,
      commit: args.commit,
      query: args.query,
      topK: args.topK ?? 10,
    });
    if (args.json) {
      io.out(JSON.stringify({ commit: r.commit, files: r.files, chunks: r.chunks }));
      return 0;
    }
    io.out(`files (commit ${r.commit.slice(0, 12)}, ${r.ms.toFixed(1)} ms):`);
    r.files.forEach((f, i) => {
      io.out(`${String(i + 1).padStart(3)}. ${f.score.toFixed(3)}  ${f.path}`);
    });
    io.out('chunks:');
    for (const c of r.chunks)
      io.out(`  ${c.score.toFixed(3)}  ${c.path}:${c.startLine}-${c.endLine}  ${c.symbol || c.kind}`);
    return 0;
  } catch (e) {
    return fail(io, e);
  }
}

/**
 * `codemesh eval-localize --dataset FILE --repos DIR [--limit N] [--json] [--out FILE]`.
 * Acc@k are percentages (0–100); MRR is 0–1.
 */
export async function cmdEvalLocalize(
  args: {
    dataset: string;
    repos: string;
    limit?: number;
    json?: boolean;
    out?: string;
    only?: string;
    cacheDir?: string;
    quiet?: boolean;
    /** Overrides of the ranking weights (for tuning runs). */
    weights?: Partial<RankWeights>;
    /** JSONL file to write each instance's candidate features to (input of `fit-weights.ts`). */
    features?: string;
  },
  io: CliIO = stdio,
): Promise<number> {
  try {
    if (args.features) writeFileSync(args.features, '');
    const only = args.only ? new RegExp(args.only) : undefined;
    const report = await evalLocalize({
      dataset: args.dataset,
      repos: args.repos,
      limit: args.limit,
      filter: only ? (i) => only.test(i.instance_id) : undefined,
      curator: { cacheDir: args.cacheDir, weights: { ...DEFAULT_WEIGHTS, ...args.weights } },
      onWarning: (m) => io.err(`warning: ${m}`),
      onFeatures: args.features
        ? (row) => appendFileSync(args.features!, `${JSON.stringify(row)}\n`)
        : undefined,
      // Progress goes to stderr, so `--json` output on stdout stays one object.
      onInstance: args.quiet
        ? undefined
        : (r, done, total) => {
            const mark =
              r.all_gold_rank > 0 && r.all_gold_rank <= 5
                ? `@${r.all_gold_rank}`
                : r.first_gold_rank
                  ? 'partial'
                  : 'miss';
            io.err(
              `[${done}/${total}] ${r.instance_id} ${mark} index ${r.index_ms} ms (${r.index_source}) query ${r.query_ms} ms`,
            );
          },
    });
    const { instances, ...summary } = report;
    if (args.out) {
      const slim = instances.map((i) => ({
        instance_id: i.instance_id,
        ranked_files: i.ranked_files.slice(0, 20),
        query_ms: i.query_ms,
      }));
      writeFileSync(args.out, `${JSON.stringify({ ...summary, instances: slim }, null, 1)}\n`);
    }
    if (args.json) io.out(JSON.stringify(summary));
    else {
      io.out(
        `n=${summary.n}  Acc@1 ${summary.acc_at_1}%  Acc@3 ${summary.acc_at_3}%  Acc@5 ${summary.acc_at_5}%  MRR ${summary.mrr}`,
      );
      io.out(
        `index total ${summary.index_s_total} s  query p50 ${summary.query_ms_p50} ms  p95 ${summary.query_ms_p95} ms`,
      );
    }
    return 0;
  } catch (e) {
    return fail(io, e);
  }
}
