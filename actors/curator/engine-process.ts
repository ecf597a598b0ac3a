// One Curator engine in a child process of its own (`worker-boot.mjs` → `worker.ts`), for `offloop.ts`.
// A process, not a worker thread: tearing down a thread that is inside tree-sitter's native parser aborts the
// whole process (an uncatchable `Napi::Error`), so `codemesh eval swe` lost its report and Ctrl-C of `codemesh
// run` its clean-up. A child is SIGKILLed instead, which cannot touch the caller; its crash fails only the
// requests it held. The child gets the caller's environment unchanged (it needs `CODEMESH_EMBED_*` for the
// dense signal and git's variables), stdin closed, and its stdout and stderr on the caller's stderr, so the
// caller's stdout (a report, JSON lines) stays its own.
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CuratorOptions } from './curator.ts';
import { CuratorError } from './errors.ts';
import type { IndexRepoOptions } from './types.ts';
import type { EngineName, WorkerOptions, WorkerRequest, WorkerResponse } from './worker-protocol.ts';

/** A request as the caller makes it; the engine gives it its id. */
export type EngineRequest = WorkerRequest extends infer R
  ? R extends { id: number; opts: unknown }
    ? Omit<R, 'id'>
    : never
  : never;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

/** How long a child asked to close may take (it ends its `git cat-file` children) before it is killed. */
const CLOSE_GRACE_MS = 1000;

const BOOT = fileURLToPath(new URL('./worker-boot.mjs', import.meta.url));
const ENTRY = new URL('./worker.ts', import.meta.url).href;

/** Which repository at which commit a request is about (as asked: `HEAD` stays `HEAD`). */
export const keyOf = (o: IndexRepoOptions) => `${o.repoPath}\0${o.commit ?? 'HEAD'}`;

/**
 * The caller's node flags minus the inspector's: a second process cannot listen on the caller's debug port.
 * The rest (heap size, conditions, a `--import tsx`) the engine needs as much as the caller.
 */
function childExecArgv(argv: readonly string[]): string[] {
  return argv.filter((a) => !/^--(inspect|debug)(-brk|-port|-wait)?(=|$)/.test(a));
}

/** One engine process: started on first use, started again after it died. */
export class EngineProcess {
  private child: ChildProcess | undefined;
  /** Messages for a child that has not said `ready` yet: before that its listener may not be there. */
  private queue: WorkerRequest[] | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Requests whose index is not built yet, by id: while there are any, the engine may be busy for long. */
  private readonly building = new Map<number, string>();
  /** The indexes the engine holds (one commit per repository). */
  private readonly warm = new Set<string>();

  constructor(
    private readonly engine: EngineName,
    private readonly options: WorkerOptions,
    private readonly onWarning?: CuratorOptions['onWarning'],
  ) {}

  private start(): ChildProcess {
    if (this.child) return this.child;
    // argv, not a first message: the options (paths, weights; never a secret) are there before any request,
    // and `ps` shows which engine a process is and for which cache.
    const child = fork(BOOT, [ENTRY, this.engine, JSON.stringify(this.options)], {
      serialization: 'advanced',
      stdio: ['ignore', 2, 'inherit', 'ipc'],
      execArgv: childExecArgv(process.execArgv),
    });
    this.child = child;
    this.queue = [];
    child.on('message', (msg: WorkerResponse) => this.receive(child, msg));
    const fail = (err: Error) => {
      if (this.child !== child) return;
      this.child = undefined;
      this.queue = undefined;
      process.off('exit', killOnExit);
      child.kill('SIGKILL');
      this.building.clear();
      this.warm.clear();
      const message = `the Curator's ${this.engine} engine stopped: ${err.message}`;
      const e = new CuratorError('curator.worker_failed', message, { cause: err });
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    // The caller exiting without `close()` (process.exit, an uncaught error) takes its engines along at once;
    // a caller that dies harder is noticed by the child itself (`worker.ts`).
    const killOnExit = () => child.kill('SIGKILL');
    process.on('exit', killOnExit);
    child.on('error', fail);
    child.on('exit', (code, signal) => {
      process.off('exit', killOnExit);
      fail(new Error(signal ? `killed by ${signal}` : `exit code ${code}`));
    });
    this.idle(child);
    return child;
  }

  private receive(child: ChildProcess, msg: WorkerResponse): void {
    if (this.child !== child) return;
    if ('warning' in msg) {
      this.onWarning?.(msg.warning);
      return;
    }
    if ('ready' in msg) {
      const queued = this.queue ?? [];
      this.queue = undefined;
      for (const m of queued) this.send(child, m);
      return;
    }
    if ('indexed' in msg) {
      this.indexed(msg.indexed);
      return;
    }
    this.building.delete(msg.id);
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (this.pending.size === 0) this.idle(child);
    if (msg.ok) p.resolve(msg.value);
    else {
      const { code, name, message } = msg.error;
      const err = code ? new CuratorError(code, message) : new Error(message);
      err.name = name;
      p.reject(err);
    }
  }

  private send(child: ChildProcess, msg: WorkerRequest): void {
    if (this.queue) {
      this.queue.push(msg);
      return;
    }
    // A channel that closed under the message: the child is gone, and its 'exit' fails what it held.
    child.send(msg, (err) => {
      if (err) child.kill('SIGKILL');
    });
  }

  /** Nothing pending: the engine must not keep the caller's process alive (neither it nor its channel). */
  private idle(child: ChildProcess): void {
    child.unref();
    child.channel?.unref();
  }

  private busy(child: ChildProcess): void {
    child.ref();
    child.channel?.ref();
  }

  private indexed(id: number): void {
    const key = this.building.get(id);
    if (key === undefined) return;
    this.building.delete(id);
    const repo = key.slice(0, key.indexOf('\0') + 1);
    for (const k of this.warm) if (k.startsWith(repo)) this.warm.delete(k);
    this.warm.add(key);
  }

  /** True when the engine holds this index and builds nothing: a search then costs only its ranking. */
  ready(opts: IndexRepoOptions): boolean {
    return this.building.size === 0 && this.warm.has(keyOf(opts));
  }

  request<T>(req: EngineRequest): { id: number; promise: Promise<T> } {
    const child = this.start();
    const id = this.nextId++;
    const promise = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
    if (req.op !== 'quick') this.building.set(id, keyOf(req.opts));
    this.busy(child);
    this.send(child, { ...req, id } as WorkerRequest);
    return { id, promise };
  }

  /** The caller stops waiting: a cancelled search still builds its index but is not ranked. */
  cancel(id: number): void {
    if (!this.pending.has(id)) return;
    this.pending.delete(id);
    const child = this.child;
    if (!child) return;
    if (this.pending.size === 0) this.idle(child);
    this.send(child, { op: 'cancel', id });
  }

  async close(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    this.queue = undefined;
    this.building.clear();
    this.warm.clear();
    for (const p of this.pending.values())
      p.reject(new CuratorError('curator.closed', 'the Curator was closed'));
    this.pending.clear();
    if (!child) return;
    if (child.exitCode !== null || child.signalCode !== null) return;
    // Asked first, so the child ends its git helpers; killed when a long synchronous step keeps it deaf.
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // An idle child is unref'd: without this the caller's loop could end before the exit it awaits here.
    child.ref();
    if (child.connected) child.send({ op: 'close' } satisfies WorkerRequest, () => undefined);
    const timer = setTimeout(() => child.kill('SIGKILL'), CLOSE_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
}
