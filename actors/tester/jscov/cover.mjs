// codemesh's V8 coverage launcher, run by the Tester inside the sandbox in place of a JS test command:
//   node cover.mjs <report.json> <file,file,...> -- argv...
// Runs argv with NODE_V8_COVERAGE set (every Node process under it, npm's children too, writes its V8 block
// coverage on exit), then keeps only the entries of the named files (relative to the cwd) in <report.json>
// as {scripts: [{path, url, functions, sourceMap?}], loaded: <how many of the tree's files any process ran>}. The Tester turns them into lines on the host. The exit
// status is argv's.
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

// One process's coverage of a big test run is tens of MB; past this it is not read.
const MAX_FILE = 256 * 1024 * 1024;

const [report, list, sep, ...argv] = process.argv.slice(2);
if (!report || list === undefined || sep !== '--' || argv.length === 0) {
  console.error('codemesh cover.mjs: usage: cover.mjs <report.json> <files> -- argv...');
  process.exit(2);
}
const wanted = new Set(list.split(',').filter(Boolean));
const dir = mkdtempSync(join(tmpdir(), 'codemesh-v8-'));
const run = spawnSync(argv[0], argv.slice(1), {
  stdio: 'inherit',
  env: { ...process.env, NODE_V8_COVERAGE: dir },
});
if (run.error) console.error(`codemesh cover.mjs: ${run.error.message}`);

const scripts = [];
// Whether any Node process ran the repository's own code at all (tests run in a browser leave none).
const loaded = new Set();
for (const name of readdirSync(dir)) {
  const file = join(dir, name);
  const st = lstatSync(file);
  if (!st.isFile() || st.size > MAX_FILE) continue;
  let json;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    continue;
  }
  // Node keeps the source map of a module loaded through a transform (tsx, ts-node, a require hook).
  const maps = json?.['source-map-cache'] ?? {};
  for (const s of Array.isArray(json?.result) ? json.result : []) {
    if (typeof s?.url !== 'string' || !s.url.startsWith('file:')) continue;
    let path;
    try {
      path = relative(process.cwd(), fileURLToPath(s.url));
    } catch {
      continue;
    }
    if (!path.startsWith('..') && !path.split('/').includes('node_modules')) loaded.add(path);
    if (!wanted.has(path)) continue;
    const sourceMap = Object.hasOwn(maps, s.url) ? maps[s.url] : undefined;
    scripts.push({ path, url: s.url, functions: s.functions, ...(sourceMap ? { sourceMap } : {}) });
  }
}
mkdirSync(dirname(report), { recursive: true });
writeFileSync(report, JSON.stringify({ scripts, loaded: loaded.size }));
const signal = run.signal ? constants.signals[run.signal] : undefined;
process.exit(run.status ?? (signal ? 128 + signal : 1));
