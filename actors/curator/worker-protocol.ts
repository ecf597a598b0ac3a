// Messages between `offloop.ts` (main thread) and `worker.ts` (a worker thread). Structured-clone only: no
// functions, no class instances.
import type { CuratorOptions } from './curator.ts';
import type { IndexRepoOptions, SearchRepoOptions } from './types.ts';

export interface WorkerData {
  /** URL of `worker.ts`, imported by `worker-boot.mjs`. */
  entry: string;
  options: Omit<CuratorOptions, 'onWarning' | 'dense'> & { dense?: boolean };
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
  | { ready: true };
