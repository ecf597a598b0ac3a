// The Curator's commands, as `codemesh index|search|eval localize` runs them (and runnable alone):
//   npx tsx actors/curator/main.ts index --repo PATH [--commit REV] [--json] [--cache-dir DIR]
//   npx tsx actors/curator/main.ts search --repo PATH --query TEXT [--top-k N] [--commit REV] [--json]
// index and search keep snapshots in $CODEMESH_HOME/index (default ./.codemesh/index), where the mesh's
// Curator looks for them, unless --cache-dir says otherwise; eval-localize in ~/.cache/codemesh/index.
//   npx tsx actors/curator/main.ts eval-localize --dataset FILE --repos DIR [--limit N] [--only REGEX] [--json]
//     [--out FILE] [--weights weights.json] [--features features.jsonl]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { cmdEvalLocalize, cmdIndex, cmdSearch } from './cli.ts';
import { cliIndexDir } from './snapshot-store.ts';

const USAGE =
  'usage: main.ts <index|search|eval-localize> [options] (see the header of actors/curator/main.ts)';

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      repo: { type: 'string' },
      commit: { type: 'string' },
      query: { type: 'string' },
      'top-k': { type: 'string' },
      json: { type: 'boolean', default: false },
      dataset: { type: 'string' },
      repos: { type: 'string' },
      limit: { type: 'string' },
      only: { type: 'string' },
      out: { type: 'string' },
      'cache-dir': { type: 'string' },
      weights: { type: 'string' },
      features: { type: 'string' },
    },
  });
  const cacheDir = values['cache-dir'];
  // `index` warms, and `search` reads, the snapshots the mesh's Curator uses (`$CODEMESH_HOME/index`).
  if (command === 'index' && values.repo) {
    return cmdIndex({
      repo: values.repo,
      commit: values.commit,
      json: values.json,
      cacheDir: cacheDir ?? cliIndexDir(),
    });
  }
  if (command === 'search' && values.repo && values.query) {
    const topK = values['top-k'] ? Number(values['top-k']) : 10;
    return cmdSearch({
      repo: values.repo,
      query: values.query,
      topK,
      commit: values.commit,
      json: values.json,
      cacheDir: cacheDir ?? cliIndexDir(),
    });
  }
  if (command === 'eval-localize' && values.dataset && values.repos) {
    const limit = values.limit ? Number(values.limit) : undefined;
    return cmdEvalLocalize({
      dataset: values.dataset,
      repos: values.repos,
      limit,
      json: values.json,
      out: values.out,
      only: values.only,
      cacheDir,
      features: values.features,
      weights: values.weights ? JSON.parse(readFileSync(values.weights, 'utf8')) : undefined,
    });
  }
  const need: Record<string, string[]> = {
    index: ['repo'],
    search: ['repo', 'query'],
    'eval-localize': ['dataset', 'repos'],
  };
  const missing = (need[command ?? ''] ?? []).filter((k) => !values[k as keyof typeof values]);
  process.stderr.write(
    missing.length ? `codemesh ${command}: --${missing.join(' and --')} required\n${USAGE}\n` : `${USAGE}\n`,
  );
  return 2;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
