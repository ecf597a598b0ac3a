// The Curator off the caller's event loop: the same `index`/`search` as `Curator`, run in worker threads so
// that index builds (minutes of CPU on a large repository) and synchronous git calls never stall the actors
// that share the loop in `codemesh up`/`codemesh run`. Two threads: one holds the warm indexes and builds
// them; the other gives a bounded first answer from the tree alone (`quick.ts`) when the full index is not
// there within `firstAnswerMs`, so a cold repository costs a caller seconds, not minutes. The build goes on
// after such an answer; later searches get the full index as soon as it is ready.
import { Worker } from 'node:worker_threads';
import type { CuratorOptions } from './curator.ts';
import { CuratorError } from './errors.ts';
import type { IndexRepoOptions, IndexSummary, SearchRepoOptions, SearchResult } from './types.ts';
import type { WorkerData, WorkerRequest, WorkerResponse } from './worker-protocol.ts';

export interface OffloopCuratorOptions extends Omit<CuratorOptions, 'dense'> {
  /** The dense signal from `CODEMESH_EMBED_*` (`true`), none (`false`), or per `CODEMESH_CURATOR_DENSE`. */
  dense?: boolean;
  /** How long a search waits for the full index before answering from paths and mentions (default 3 s). */
  firstAnswerMs?: number;
  /**
   * The same wait when the index is built and the thread idle, so only ranking is left (default 15 s): a
   * ranking is never cut short by the first-answer wait, a thread stuck past this still is.
   */
  warmAnswerMs?: number;
}

type Request = WorkerRequest extends infer R
  ? R extends { id: number; opts: unknown }
    ? Omit<R, 'id'>
    : never
  : never;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

/** The promise's value if it settles within `ms`, else undefined (the promise goes on; its failure is thrown). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, ms, undefined);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Which repository at which commit a request is about (as asked: `HEAD` stays `HEAD`). */
const keyOf = (o: IndexRepoOptions) => `${o.repoPath}\0${o.commit ?? 'HEAD'}`;

/** One worker thread: started on first use, started again after it died. */
class WorkerThread {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Requests whose index is not built yet, by id: while there are any, the thread may be busy for long. */
  private readonly building = new Map<number, string>();
  /** The indexes the thread holds (one commit per repository). */
  private readonly warm = new Set<string>();

  constructor(
    private readonly data: WorkerData,
    private readonly onWarning?: (message: string) => void,
  ) {}

  start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./worker-boot.mjs', import.meta.url), { workerData: this.data });
    worker.on('message', (msg: WorkerResponse) => {
      if ('warning' in msg) return this.onWarning?.(msg.warning);
      if ('ready' in msg) return;
      if ('indexed' in msg) return this.indexed(msg.indexed);
      this.building.delete(msg.id);
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (this.pending.size === 0) worker.unref();
      if (msg.ok) p.resolve(msg.value);
      else {
        const { code, name, message } = msg.error;
        const err = code ? new CuratorError(code, message) : new Error(message);
        err.name = name;
        p.reject(err);
      }
    });
    const fail = (err: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.building.clear();
      this.warm.clear();
      const e = new CuratorError('curator.worker_failed', `the Curator's worker stopped: ${err.message}`);
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private indexed(id: number): void {
    const key = this.building.get(id);
    if (key === undefined) return;
    this.building.delete(id);
    const repo = key.slice(0, key.indexOf('\0') + 1);
    for (const k of this.warm) if (k.startsWith(repo)) this.warm.delete(k);
    this.warm.add(key);
  }

  /** True when the thread holds this index and builds nothing: a search then costs only its ranking. */
  ready(opts: IndexRepoOptions): boolean {
    return this.building.size === 0 && this.warm.has(keyOf(opts));
  }

  request<T>(req: Request): { id: number; promise: Promise<T> } {
    const worker = this.start();
    const id = this.nextId++;
    const promise = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
    if (req.op !== 'quick') this.building.set(id, keyOf(req.opts));
    worker.ref();
    worker.postMessage({ ...req, id } as WorkerRequest);
    return { id, promise };
  }

  /** The caller stops waiting: a cancelled search still builds its index but is not ranked. */
  cancel(id: number): void {
    if (!this.pending.has(id)) return;
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker?.unref();
    this.worker?.postMessage({ op: 'cancel', id } satisfies WorkerRequest);
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.building.clear();
    this.warm.clear();
    for (const p of this.pending.values())
      p.reject(new CuratorError('curator.closed', 'the Curator was closed'));
    this.pending.clear();
    if (!w) return;
    // Asked first, so the thread closes its git child; forced when it is busy in a long synchronous step.
    const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    w.postMessage({ op: 'close' } satisfies WorkerRequest);
    const timer = setTimeout(() => void w.terminate(), 1000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * @example
 * const curator = new OffloopCurator({ cacheDir });
 * const r = await curator.search({ repoPath, commit, query: issueText }); // r.index: 'full' | 'quick'
 * await curator.close();
 */
export class OffloopCurator {
  private readonly full: WorkerThread;
  private readonly quick: WorkerThread;
  private readonly firstAnswerMs: number;
  private readonly warmAnswerMs: number;
  /** Index builds asked of the index thread and not finished, by repository and commit. */
  private readonly indexing = new Map<string, Promise<IndexSummary>>();

  constructor(options: OffloopCuratorOptions = {}) {
    const { onWarning, firstAnswerMs, warmAnswerMs, ...rest } = options;
    const entry = new URL('./worker.ts', import.meta.url).href;
    this.full = new WorkerThread({ entry, options: rest }, onWarning);
    this.quick = new WorkerThread({ entry, options: { ...rest, persist: false, history: false } });
    this.firstAnswerMs = firstAnswerMs ?? 3000;
    this.warmAnswerMs = Math.max(this.firstAnswerMs, warmAnswerMs ?? 15_000);
  }

  /** Brings the repository's index to `commit` in the worker, however long that takes. */
  index(opts: IndexRepoOptions): Promise<IndexSummary> {
    const key = keyOf(opts);
    let building = this.indexing.get(key);
    if (!building) {
      building = this.full.request<IndexSummary>({ op: 'index', opts }).promise.finally(() => {
        this.indexing.delete(key);
      });
      // A search may stop waiting for the build; its failure must not go unobserved then.
      building.catch(() => undefined);
      this.indexing.set(key, building);
    }
    return building;
  }

  /**
   * The full index's answer if it comes within `firstAnswerMs`; otherwise the first answer from paths and
   * mentions (`index: 'quick'`) while the full index goes on building. One build per repository and commit,
   * however many searches wait for it; a search is sent to the index thread only once its index is built.
   */
  async search(opts: SearchRepoOptions): Promise<SearchResult> {
    // A cold index: the quick answer is worked out while the full one is awaited, so it is there at the
    // deadline (and thrown away when the full index answers in time).
    const quick = this.full.ready(opts)
      ? undefined
      : this.quick.request<SearchResult>({ op: 'quick', opts }).promise;
    quick?.catch(() => undefined);
    try {
      if (this.full.ready(opts) || (await within(this.index(opts), this.firstAnswerMs))) {
        const wait = this.full.ready(opts) ? this.warmAnswerMs : this.firstAnswerMs;
        const full = this.full.request<SearchResult | undefined>({ op: 'search', opts });
        const r = await within(full.promise, wait);
        if (r) return r;
        this.full.cancel(full.id);
      }
    } catch {
      // A failed full search (a bad commit, a dead worker) still gets the quick path's answer or its error.
    }
    return quick ?? this.quick.request<SearchResult>({ op: 'quick', opts }).promise;
  }

  /** Stops both worker threads; a later call starts them again (with cold indexes). */
  async close(): Promise<void> {
    await Promise.all([this.full.close(), this.quick.close()]);
  }
}
