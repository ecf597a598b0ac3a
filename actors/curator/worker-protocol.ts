// Messages between `engine-process.ts` (the caller) and `worker.ts` (a Curator engine in a child process),
// over the child's IPC channel with `serialization: 'advanced'` (structured clone): no functions, no class
// instances.
import type { CuratorOptions } from './curator.ts';
import type { IndexRepoOptions, SearchRepoOptions } from './types.ts';

/** The engine that holds and builds the full indexes, and the one that gives quick first answers. */
export type EngineName = 'full' | 'quick';

/** The Curator's options as the child gets them (JSON in its argv): plain data only. */
export type WorkerOptions = Omit<CuratorOptions, 'onWarning' | 'dense'> & { dense?: boolean };

/** The child's argv after `worker-boot.mjs`: `<entry URL> <engine> <options JSON>`. */
export interface WorkerArgs {
  /** URL of `worker.ts`, imported by `worker-boot.mjs`. */
  entry: string;
  engine: EngineName;
  options: WorkerOptions;
}

export type WorkerRequest =
  | { id: number; op: 'index'; opts: IndexRepoOptions }
  | { id: number; op: 'search'; opts: SearchRepoOptions }
  | { id: number; op: 'quick'; opts: SearchRepoOptions }
  | { id: number; op: 'cancel' }
  | { op: 'close' };

export type WorkerResponse =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { code?: string; name: string; message: string } }
  | { warning: string }
  /** The index a request needs is built (sent before its ranking, also for a cancelled search). */
  | { indexed: number }
  /** The child listens: messages sent before this could be lost, so the caller holds them until then. */
  | { ready: true };
