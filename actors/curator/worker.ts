// The Curator inside a worker thread (started by `offloop.ts`): index builds, history reads and ranking run
// here, on this thread's own event loop, so they never stall the actors sharing the main one. One message in,
// one message out per request; a `quick` request answers from the tree alone (`quick.ts`).
import { parentPort, workerData } from 'node:worker_threads';
import type { Curator } from './curator.ts';
import { CuratorError } from './errors.ts';
import { quickSearch } from './quick.ts';
import type { WorkerData, WorkerRequest, WorkerResponse } from './worker-protocol.ts';

const port = parentPort!;
const data = workerData as WorkerData;
// Loaded on first use: the thread that only gives quick answers never loads the indexing code.
let curator: Promise<Curator> | undefined;
const theCurator = (): Promise<Curator> =>
  (curator ??= import('./curator.ts').then(
    ({ Curator }) =>
      new Curator({
        ...data.options,
        onWarning: (message) => port.postMessage({ warning: message } satisfies WorkerResponse),
      }),
  ));
/** Searches the main thread gave up waiting for: their index still gets built, their ranking is skipped. */
const cancelled = new Set<number>();

async function handle(req: Extract<WorkerRequest, { opts: unknown }>): Promise<unknown> {
  if (req.op === 'quick') return quickSearch(req.opts);
  const c = await theCurator();
  const summary = await c.index(req.opts);
  port.postMessage({ indexed: req.id } satisfies WorkerResponse);
  if (req.op === 'index') return summary;
  // Lets a cancel that came during the indexing be seen before the ranking.
  await new Promise((resolve) => setImmediate(resolve));
  if (cancelled.delete(req.id)) return undefined;
  return { ...(await c.search(req.opts)), index: 'full' };
}

port.on('message', (req: WorkerRequest) => {
  if (req.op === 'cancel') {
    cancelled.add(req.id);
    return;
  }
  if (req.op === 'close') {
    // Ends this thread's `git cat-file` child before the thread goes.
    void curator?.then((c) => c.close()).finally(() => process.exit(0));
    if (!curator) process.exit(0);
    return;
  }
  handle(req).then(
    (value) => {
      cancelled.delete(req.id);
      port.postMessage({ id: req.id, ok: true, value } satisfies WorkerResponse);
    },
    (err: unknown) => {
      cancelled.delete(req.id);
      const e = err instanceof Error ? err : new Error(String(err));
      port.postMessage({
        id: req.id,
        ok: false,
        error: { code: e instanceof CuratorError ? e.code : undefined, name: e.name, message: e.message },
      } satisfies WorkerResponse);
    },
  );
});
port.postMessage({ ready: true } satisfies WorkerResponse);
