// Tearing the off-loop Curator down must never take its caller with it: closing it (end of `codemesh eval
// swe`, Ctrl-C of `codemesh run`) or exiting the process while an index build is deep in tree-sitter's native
// parser used to abort the whole process (a fatal `Napi::Error` when a worker thread was terminated mid-parse)
// before the caller wrote its output. The engine now runs in child processes: they are killed, never torn
// down inside the caller, die with their parent, and a crash of one is an error of the requests it held.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CODEMESH_ROOT } from '../../test/fixture-repo.ts';
import { makeRepo } from '../../test/temp-repo.ts';
import { CuratorError } from './errors.ts';
import { OffloopCurator } from './offloop.ts';

const dirs: string[] = [];
const tempDir = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};
let big: string;

/**
 * Python and TypeScript files of long functions (13 MB): a cold index of them spends tens of seconds, most
 * of it inside tree-sitter's native parser, which is where a torn-down worker thread aborted the process.
 */
function makeBigRepo(files = 30, functions = 40, statements = 60): string {
  const root = tempDir('cm-offloop-big-');
  for (let f = 0; f < files; f++) {
    const dir = join(root, `pkg${f % 10}`);
    mkdirSync(dir, { recursive: true });
    const py: string[] = [];
    const ts: string[] = [];
    for (let i = 0; i < functions; i++) {
      py.push(`def step_${i}(a, b, flag=None):`);
      ts.push(`export function step${i}(a: number, b: number, flag?: boolean): number {`, '  let x = 0;');
      for (let j = 0; j < statements; j++) {
        py.push(`    x${j} = [k * ${j} for k in range(a) if (k % 3 == b and flag) or not k] + [{"v": ${j}}]`);
        ts.push(`  x += [a, b, ${j}].map((k) => (flag ? k * ${j} : k % 3)).reduce((p, q) => p + q, 0);`);
      }
      py.push('    return a', '', '');
      ts.push('  return x;', '}', '');
    }
    writeFileSync(join(dir, `mod${f}.py`), py.join('\n'));
    writeFileSync(join(dir, `mod${f}.ts`), ts.join('\n'));
  }
  const git = (...args: string[]) => execFileSync('git', ['-C', root, ...args]);
  git('init', '-q');
  git('add', '-A');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'big');
  return root;
}

function makeSmallRepo(): string {
  const util = 'def parse(value):\n    if value is None:\n        raise ValueError("missing value")\n';
  return makeRepo({ 'app/util.py': util }, tempDir('cm-offloop-small-')).dir;
}

/** Pids of the Curator engine processes started with this cache directory (it is in their argv). */
function enginePids(cacheDir: string, engine?: 'full' | 'quick'): number[] {
  const ps = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return ps
    .split('\n')
    .filter(
      (l) => l.includes('worker-boot.mjs') && l.includes(cacheDir) && (!engine || l.includes(` ${engine} `)),
    )
    .map((l) => Number.parseInt(l.trim(), 10));
}

/** Waits (bounded) until no engine process of this cache directory is left; returns those still there. */
async function enginesGone(cacheDir: string): Promise<number[]> {
  for (let i = 0; i < 100; i++) {
    const left = enginePids(cacheDir);
    if (left.length === 0) return left;
    await sleep(200);
  }
  return enginePids(cacheDir);
}

/** Runs `test/curator-close-child.ts`; resolves with its exit, its stderr and the marker it wrote. */
async function runChild(
  mode: 'close' | 'exit' | 'die' | 'idle',
  repo: string,
  waitMs = 1500,
): Promise<{
  code: number | null;
  signal: string | null;
  stderr: string;
  marker?: string;
  cacheDir: string;
}> {
  const dir = tempDir('cm-offloop-close-');
  const cacheDir = join(dir, 'cache');
  const marker = join(dir, 'marker');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/curator-close-child.ts', mode, repo, cacheDir, marker, String(waitMs)],
    { cwd: CODEMESH_ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  // A child kept alive by an idle Curator would never end: bounded here, and seen as a signal below.
  const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
    child.once('close', (c, s) => resolve([c, s])),
  );
  clearTimeout(guard);
  const markerText = existsSync(marker) ? readFileSync(marker, 'utf8') : undefined;
  return { code, signal, stderr, marker: markerText, cacheDir };
}

beforeAll(() => {
  big = makeBigRepo();
}, 300_000);
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

it('closes a Curator busy parsing without aborting its process, and leaves no engine behind', async () => {
  // Two moments, each inside the native parser (before the fix each of them aborted the process, 4 runs in 4).
  for (const waitMs of [1500, 2500]) {
    const r = await runChild('close', big, waitMs);
    expect({ code: r.code, signal: r.signal, stderr: r.stderr }).toMatchObject({ code: 0, signal: null });
    expect(r.marker).toBe('closed: the Curator was closed');
    expect(await enginesGone(r.cacheDir)).toEqual([]);
  }
}, 300_000);

it('lets its process exit while the Curator is mid-parse, and the engine dies with it', async () => {
  const r = await runChild('exit', big, 2000);
  expect({ code: r.code, signal: r.signal, stderr: r.stderr }).toMatchObject({ code: 0, signal: null });
  expect(r.marker).toBe('exit');
  expect(await enginesGone(r.cacheDir)).toEqual([]);
}, 300_000);

it('ends a busy engine whose process was killed outright', async () => {
  const r = await runChild('die', big, 5000);
  expect(r.signal).toBe('SIGKILL');
  expect(r.marker).toBe('die');
  // 5 s in, the engine is deaf inside its build (one synchronous pass over all files): without its watchdog
  // it outlived its parent by 36-54 s here; with it, by under 1 s.
  expect(await enginesGone(r.cacheDir)).toEqual([]);
}, 300_000);

it('does not keep its process alive once idle', async () => {
  const dir = makeSmallRepo();
  const r = await runChild('idle', dir);
  expect({ code: r.code, signal: r.signal, stderr: r.stderr }).toMatchObject({ code: 0, signal: null });
  expect(r.marker).toBe('idle');
  expect(await enginesGone(r.cacheDir)).toEqual([]);
}, 300_000);

it('reports a crash of its engine as curator.worker_failed and starts it again on next use', async () => {
  const cacheDir = tempDir('cm-offloop-crash-');
  const curator = new OffloopCurator({ cacheDir, firstAnswerMs: 60_000 });
  try {
    const building = curator.index({ repoPath: big });
    let pids: number[] = [];
    for (let i = 0; i < 300 && pids.length === 0; i++) {
      await sleep(100);
      pids = enginePids(cacheDir, 'full');
    }
    expect(pids).toHaveLength(1);
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    const err = await building.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CuratorError);
    expect((err as CuratorError).code).toBe('curator.worker_failed');

    const dir = makeSmallRepo();
    const r = await curator.search({ repoPath: dir, query: 'parse raises missing value', topK: 3 });
    expect(r.index).toBe('full');
    expect(r.files[0]?.path).toBe('app/util.py');
  } finally {
    await curator.close();
  }
  expect(await enginesGone(cacheDir)).toEqual([]);
}, 300_000);
