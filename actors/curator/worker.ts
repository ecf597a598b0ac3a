// A Curator engine in a child process (started by `engine-process.ts`): index builds, history reads and
// ranking run here, on this process's own event loop, so they never stall the actors of the caller. One
// message in, one message out per request; a `quick` request answers from the tree alone (`quick.ts`).
import { Worker } from 'node:worker_threads';
import type { Curator } from './curator.ts';
import { CuratorError } from './errors.ts';
import { quickSearch } from './quick.ts';
import type { WorkerArgs, WorkerRequest, WorkerResponse } from './worker-protocol.ts';

const args: WorkerArgs = {
  entry: process.argv[2] ?? '',
  engine: process.argv[3] === 'quick' ? 'quick' : 'full',
  options: JSON.parse(process.argv[4] ?? '{}') as WorkerArgs['options'],
};

/** Sends to the caller; a caller already gone is noticed by 'disconnect' below, not here. */
const post = (msg: WorkerResponse) => {
  if (process.connected) process.send?.(msg, undefined, undefined, () => undefined);
};

// Loaded on first use: the engine that only gives quick answers never loads the indexing code.
let curator: Promise<Curator> | undefined;
const theCurator = (): Promise<Curator> =>
  (curator ??= import('./curator.ts').then(
    ({ Curator }) => new Curator({ ...args.options, onWarning: (message) => post({ warning: message }) }),
  ));
/** Searches the caller gave up waiting for: their index still gets built, their ranking is skipped. */
const cancelled = new Set<number>();

/** Ends this engine's `git cat-file` children, then the process. */
let closing = false;
function close(): void {
  if (closing) return;
  closing = true;
  if (!curator) process.exit(0);
  void curator.then((c) => c.close()).finally(() => process.exit(0));
}

async function handle(req: Extract<WorkerRequest, { opts: unknown }>): Promise<unknown> {
  if (req.op === 'quick') return quickSearch(req.opts);
  const c = await theCurator();
  const summary = await c.index(req.opts);
  post({ indexed: req.id });
  if (req.op === 'index') return summary;
  // Lets a cancel that came during the indexing be seen before the ranking.
  await new Promise((resolve) => setImmediate(resolve));
  if (cancelled.delete(req.id)) return undefined;
  return { ...(await c.search(req.opts)), index: 'full' };
}

process.on('message', (req: WorkerRequest) => {
  if (req.op === 'cancel') {
    cancelled.add(req.id);
    return;
  }
  if (req.op === 'close') return close();
  handle(req).then(
    (value) => {
      cancelled.delete(req.id);
      post({ id: req.id, ok: true, value });
    },
    (err: unknown) => {
      cancelled.delete(req.id);
      const e = err instanceof Error ? err : new Error(String(err));
      post({
        id: req.id,
        ok: false,
        error: { code: e instanceof CuratorError ? e.code : undefined, name: e.name, message: e.message },
      });
    },
  );
});
// The caller's lifetime is this engine's: its channel closing (the caller exited or died) ends it as soon as
// this loop is free.
process.on('disconnect', close);
// Ctrl-C in a terminal reaches the whole process group: the caller decides when its engines stop (it may be
// shutting down cleanly and still need an answer), so the signal is not this process's to act on.
process.on('SIGINT', () => undefined);
// A build can keep this loop busy for minutes, deaf to 'disconnect': a watchdog thread polls the parent's
// pid and kills this process (a signal, never a teardown inside the parser) once the caller is gone.
const watchdog = new Worker(
  `const { workerData: parent } = require('node:worker_threads');
   setInterval(() => { if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL'); }, 500);`,
  { eval: true, workerData: process.ppid },
);
watchdog.unref();
post({ ready: true });
