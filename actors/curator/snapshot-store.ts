// Persists the file records of an index, one snapshot file per commit, under a cache directory.
// Derived structures (BM25 postings, symbol index, graph) are rebuilt on load: cheaper than storing them.
import { createHash } from 'node:crypto';
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import type { FileRecord } from './extract-file.ts';
import type { HistoryLog } from './history.ts';

/** Bump when `FileRecord` or extraction changes: older snapshots are then ignored. */
export const SNAPSHOT_VERSION = 6;

const HISTORY_FILE = 'history-log.json';

/** A repository's git log up to `commit`, newest first, as `readLog` returns it. */
interface HistoryLogFile {
  version: number;
  commit: string;
  commits: HistoryLog['commits'];
}

interface Snapshot {
  version: number;
  commit: string;
  records: FileRecord[];
}

export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'codemesh', 'index');
}

/**
 * The snapshot directory of a codemesh data dir: where the mesh's Curator keeps and finds its indexes, so an
 * index warmed by `codemesh index` (same `CODEMESH_HOME`) is the one the mesh then uses.
 */
export function meshIndexDir(dataDir: string): string {
  return join(resolve(dataDir), 'index');
}

/** `meshIndexDir` of the data dir the CLI uses: `CODEMESH_HOME`, default `./.codemesh` (see `cli/settings.ts`). */
export function cliIndexDir(env: Record<string, string | undefined> = process.env): string {
  return meshIndexDir(env.CODEMESH_HOME ?? '.codemesh');
}

export class SnapshotStore {
  readonly dir: string;
  private readonly maxSnapshots: number;

  /** `commonDir` identifies the repository (all its worktrees share snapshots). */
  constructor(cacheDir: string, commonDir: string, maxSnapshots = 8) {
    const name = basename(commonDir === '.git' ? dirname(commonDir) : commonDir.replace(/\/\.git$/, ''));
    const key = createHash('sha1').update(commonDir).digest('hex').slice(0, 12);
    this.dir = join(cacheDir, `${name.replace(/[^\w.-]/g, '_')}-${key}`);
    this.maxSnapshots = maxSnapshots;
  }

  private file(commit: string): string {
    return join(this.dir, `${commit}.v${SNAPSHOT_VERSION}.bin`);
  }

  has(commit: string): boolean {
    try {
      return statSync(this.file(commit)).isFile();
    } catch {
      return false;
    }
  }

  load(commit: string): FileRecord[] | undefined {
    try {
      const snap = deserialize(readFileSync(this.file(commit))) as Snapshot;
      return snap.version === SNAPSHOT_VERSION && snap.commit === commit ? snap.records : undefined;
    } catch {
      return undefined;
    }
  }

  /** Commits with a snapshot, most recently written first. */
  list(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const suffix = `.v${SNAPSHOT_VERSION}.bin`;
    return names
      .filter((n) => n.endsWith(suffix))
      .map((n) => ({ commit: n.slice(0, -suffix.length), mtime: statSync(join(this.dir, n)).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime)
      .map((s) => s.commit);
  }

  /** The saved git log (see `CommitHistory.read`): one per repository, the last one written. */
  loadHistoryLog(): HistoryLogFile | undefined {
    try {
      const f = JSON.parse(readFileSync(join(this.dir, HISTORY_FILE), 'utf8')) as HistoryLogFile;
      return f.version === SNAPSHOT_VERSION && Array.isArray(f.commits) ? f : undefined;
    } catch {
      return undefined;
    }
  }

  saveHistoryLog(commit: string, commits: HistoryLogFile['commits']): void {
    mkdirSync(this.dir, { recursive: true });
    const file = join(this.dir, HISTORY_FILE);
    const tmp = `${file}.${process.pid}.tmp`;
    // JSON: about half the size of v8 serialization for this (mostly ASCII) text, and as fast to read.
    writeFileSync(
      tmp,
      JSON.stringify({ version: SNAPSHOT_VERSION, commit, commits } satisfies HistoryLogFile),
    );
    renameSync(tmp, file);
  }

  /** Writes atomically (temp file + rename), then keeps only the newest `maxSnapshots`. */
  save(commit: string, records: Iterable<FileRecord>): void {
    mkdirSync(this.dir, { recursive: true });
    const snap: Snapshot = { version: SNAPSHOT_VERSION, commit, records: [...records] };
    const tmp = `${this.file(commit)}.${process.pid}.tmp`;
    writeFileSync(tmp, serialize(snap));
    renameSync(tmp, this.file(commit));
    for (const old of this.list().slice(this.maxSnapshots)) {
      try {
        unlinkSync(this.file(old));
      } catch {
        // another process may have pruned it first
      }
    }
  }
}
