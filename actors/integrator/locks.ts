// Optimistic path locks: a lease per (repository, path) taken by compare-and-set, renewed while held.
// The lock also remembers the last codemesh commit that changed the path, so a later task rebases onto it.
import type { Blackboard } from '../../blackboard/index.ts';
import { hashKey, keys, PathLock } from '../../schemas/index.ts';

export const repoKey = (repoPath: string) => hashKey(repoPath);

export interface HeldLocks {
  locks: PathLock[];
  release(update?: { commit: string }): Promise<void>;
}

export class LockTimeoutError extends Error {
  override readonly name = 'LockTimeoutError';
  readonly code = 'LOCK_TIMEOUT';
}

/**
 * Takes every path's lock (in sorted order, so two tasks never wait on each other crosswise) or none.
 * Waits while another live holder has one; `onWait` is called once with the holder's task id.
 */
export async function acquirePathLocks(
  board: Blackboard,
  opts: {
    repoPath: string;
    paths: string[];
    holder: string;
    leaseMs: number;
    maxWaitMs: number;
    now: () => number;
    onWait?: (holder: string, path: string) => Promise<void>;
    signal?: AbortSignal;
  },
): Promise<HeldLocks> {
  const rk = repoKey(opts.repoPath);
  const paths = [...new Set(opts.paths)].sort();
  const deadline = opts.now() + opts.maxWaitMs;
  const held: PathLock[] = [];
  let warned = false;
  const releaseAll = async (commit?: string) => {
    for (const l of held) {
      await board.mutate(keys.lock(rk, l.path), PathLock, (cur) =>
        cur && cur.holder === opts.holder
          ? {
              ...cur,
              holder: null,
              leaseUntil: 0,
              ...(commit ? { lastCommit: commit, lastTask: opts.holder } : {}),
            }
          : undefined,
      );
    }
  };
  try {
    for (const path of paths) {
      for (let wait = 10; ; wait = Math.min(wait * 2, 250)) {
        opts.signal?.throwIfAborted();
        let blockedBy: string | null = null;
        const entry = await board.mutate(keys.lock(rk, path), PathLock, (cur) => {
          const free =
            !cur || cur.holder === null || cur.holder === opts.holder || cur.leaseUntil < opts.now();
          if (!free) {
            blockedBy = cur.holder;
            return undefined;
          }
          return {
            repoKey: rk,
            path,
            holder: opts.holder,
            leaseUntil: opts.now() + opts.leaseMs,
            lastCommit: cur?.lastCommit ?? null,
            lastTask: cur?.lastTask ?? null,
          };
        });
        if (!blockedBy && entry?.value.holder === opts.holder) {
          held.push(entry.value);
          break;
        }
        if (opts.now() > deadline) throw new LockTimeoutError(`${path} is held by ${blockedBy} for too long`);
        if (!warned && blockedBy) {
          warned = true;
          await opts.onWait?.(blockedBy, path);
        }
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  } catch (err) {
    await releaseAll();
    throw err;
  }
  const renew = setInterval(
    () => {
      for (const l of held)
        void board
          .mutate(keys.lock(rk, l.path), PathLock, (cur) =>
            cur?.holder === opts.holder ? { ...cur, leaseUntil: opts.now() + opts.leaseMs } : undefined,
          )
          .catch(() => undefined);
    },
    Math.max(50, opts.leaseMs / 3),
  );
  return {
    locks: held,
    async release(update) {
      clearInterval(renew);
      await releaseAll(update?.commit);
    },
  };
}
