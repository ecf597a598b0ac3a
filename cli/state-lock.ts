// One process owns a state dir: a lock file with its pid (checked for liveness), its command and, for `up`, the
// NATS and gateway URLs, so a second command can say who holds the dir and `codemesh run` can join an `up`.
import { readFileSync, renameSync, unlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export interface StateLockInfo {
  pid: number;
  /** `actor recorder`: a recorder on the state dir's embedded PGlite (one process may open it). */
  command: 'up' | 'run' | 'deadletters' | 'actor recorder' | 'calibrate';
  startedAt: string;
  natsUrl?: string;
  gatewayUrl?: string;
}

export class StateDirBusyError extends Error {
  override readonly name = 'StateDirBusyError';
  readonly code = 'STATE_DIR_BUSY';
  constructor(
    message: string,
    readonly holder: StateLockInfo,
  ) {
    super(message);
  }
}

export interface StateLock {
  readonly path: string;
  /** Records more about the holder (the NATS and gateway URLs once they are known). */
  update(patch: Partial<Pick<StateLockInfo, 'natsUrl' | 'gatewayUrl'>>): void;
  release(): void;
}

export const lockFile = (dataDir: string) => join(dataDir, 'codemesh.lock');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(path: string): { raw: string; info?: StateLockInfo } | undefined {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const info = JSON.parse(raw) as StateLockInfo;
    return Number.isInteger(info.pid) && info.pid > 0 ? { raw, info } : { raw };
  } catch {
    return { raw };
  }
}

/** The live holder of the state dir's lock, if any. */
export function stateDirHolder(dataDir: string): StateLockInfo | undefined {
  const h = readHolder(lockFile(dataDir));
  return h?.info && alive(h.info.pid) ? h.info : undefined;
}

export function describeHolder(dataDir: string, h: StateLockInfo): string {
  const where = [h.natsUrl && `NATS ${h.natsUrl}`, h.gatewayUrl && `gateway ${h.gatewayUrl}`]
    .filter(Boolean)
    .join(', ');
  const head = `the state dir ${dataDir} is in use by \`codemesh ${h.command}\` (pid ${h.pid}${where ? `, ${where}` : ''})`;
  if (h.command === 'up')
    return `${head}; \`codemesh run\` with the same CODEMESH_HOME joins it, \`NATS_URL=${h.natsUrl ?? '<its NATS URL>'} codemesh actor <role>\` adds actors to it; for a second mesh set CODEMESH_HOME to another dir`;
  if (h.command === 'actor recorder')
    return `${head}, which holds the embedded database under ${dataDir}/pg; run one recorder per state dir, or give every recorder the same Postgres with DATABASE_URL`;
  return `${head}; wait for it to finish, or set CODEMESH_HOME to another dir`;
}

/**
 * Takes the state dir for this process or throws StateDirBusyError naming the live holder. A lock left by a
 * dead process is taken over. Released on `release()` and at process exit.
 * @example const lock = acquireStateLock('.codemesh', 'up'); lock.update({ natsUrl }); ...; lock.release();
 */
export function acquireStateLock(dataDir: string, command: StateLockInfo['command']): StateLock {
  mkdirSync(dataDir, { recursive: true });
  const path = lockFile(dataDir);
  let info: StateLockInfo = { pid: process.pid, command, startedAt: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(path, JSON.stringify(info), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) throw err;
    }
    const h = readHolder(path);
    if (!h) continue;
    if (h.info && h.info.pid !== process.pid && alive(h.info.pid))
      throw new StateDirBusyError(describeHolder(dataDir, h.info), h.info);
    // A dead holder's lock (or an unreadable one): removed only if it is still the same file content, so two
    // processes that both found it stale do not remove each other's fresh lock.
    if (readHolder(path)?.raw === h.raw) {
      try {
        unlinkSync(path);
      } catch {}
    }
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    if (readHolder(path)?.info?.pid === process.pid) {
      try {
        unlinkSync(path);
      } catch {}
    }
  };
  process.on('exit', release);
  return {
    path,
    update(patch) {
      info = { ...info, ...patch };
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(info));
      renameSync(tmp, path);
    },
    release,
  };
}
