// The sandbox's /etc as ONE directory: a private copy, made once per process under /dev/shm, of the host
// /etc entries the profile allows (profile.ts ETC_ALLOWED) plus the made-up passwd, group and hosts. bwrap
// then binds it with a single --ro-bind instead of one bind (and one remount, each re-reading the mount
// table) per entry and three --ro-bind-data: most of bwrap's own set-up time.
//
// The copy is root's (or this process's user's), mode 0755, in a directory only its owner may write; it
// holds nothing the per-entry binds did not show (no shadow, no service config). It is compared with the
// host (mode, owner, size, mtime and ctime of every entry copied: ~6 ms for ~800 entries, so not at every
// job) when inotify reports a change in the source or any directory copied, and at least once per
// CHECK_INTERVAL_MS; it is remade when the host changed. An old copy is deleted once no job started with it
// is still running, and every copy at exit.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  type Dirent,
  type FSWatcher,
  lstatSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { etcNames, syntheticEtc } from './profile.ts';
import { isAlive } from './cgroup.ts';

/** A job start compares the copy with the host when inotify said something changed, or this long after the last look. */
export const CHECK_INTERVAL_MS = 60_000;
const PREFIX = 'codemesh-etc-';

export interface EtcCopyOptions {
  /** The host /etc (tests point it elsewhere). */
  source?: string;
  /** Where copies are made; must be a local filesystem bwrap can bind from. */
  parent?: string;
  /** Entries of `source` to copy, relative; default: what the profile allows (profile.ts). */
  names?: () => string[];
  checkIntervalMs?: number;
}

/** A copy in use by one job: `release()` when the job has ended. */
export interface EtcLease {
  readonly dir: string;
  release(): void;
}

interface Copy {
  dir: string;
  /** path relative to the source → fingerprint, for every entry copied (recursively). */
  stamps: Map<string, string>;
  users: number;
  stale: boolean;
}

/**
 * Prepared /etc copies of one process. `lease()` returns a current copy, or undefined when none can be made
 * here (the caller then binds the host entries one by one, as before).
 *
 * @example
 * const lease = etcCopies().lease();
 * try { args.push('--ro-bind', lease.dir, '/etc'); ... } finally { lease.release(); }
 */
export class EtcCopies {
  private current: Copy | undefined;
  private readonly old: Copy[] = [];
  private checkedAt = 0;
  /** Set by the watches: something under the copied entries changed since the last look. */
  private dirty = false;
  private watchers: FSWatcher[] = [];
  private failed = false;
  private readonly source: string;
  private readonly parent: string;
  private readonly names: () => string[];
  private readonly interval: number;

  constructor(options: EtcCopyOptions = {}) {
    this.source = options.source ?? '/etc';
    this.parent = options.parent ?? '/dev/shm';
    this.names = options.names ?? (() => etcNames(this.source));
    this.interval = options.checkIntervalMs ?? CHECK_INTERVAL_MS;
  }

  lease(): EtcLease | undefined {
    if (this.failed) return undefined;
    const now = Date.now();
    if (this.current && (this.dirty || now - this.checkedAt >= this.interval)) {
      this.checkedAt = now;
      this.dirty = false;
      if (!sameStamps(this.current.stamps, fingerprint(this.source, this.names()))) this.retire();
    }
    if (!this.current) {
      try {
        this.current = this.make();
        this.checkedAt = now;
      } catch (err) {
        this.failed = true;
        process.emitWarning(`sandbox binds /etc entries one by one: ${(err as Error).message}`, {
          code: 'CODEMESH_SANDBOX_ETC',
        });
        return undefined;
      }
    }
    const copy = this.current;
    copy.users++;
    let released = false;
    return {
      dir: copy.dir,
      release: () => {
        if (released) return;
        released = true;
        copy.users--;
        if (copy.stale && copy.users === 0) this.drop(copy);
      },
    };
  }

  /** Delete every copy (at exit): jobs still running lose their /etc, which only happens as we exit. */
  removeAll(): void {
    this.unwatch();
    for (const c of [...this.old, ...(this.current ? [this.current] : [])]) removeDir(c.dir);
    this.old.length = 0;
    this.current = undefined;
  }

  private retire(): void {
    const c = this.current;
    if (!c) return;
    this.current = undefined;
    this.unwatch();
    c.stale = true;
    if (c.users === 0) removeDir(c.dir);
    else this.old.push(c);
  }

  private drop(c: Copy): void {
    removeDir(c.dir);
    const i = this.old.indexOf(c);
    if (i >= 0) this.old.splice(i, 1);
  }

  private make(): Copy {
    sweepStale(this.parent);
    const names = this.names();
    // Stamps first: a host change during the copy shows as a difference at the next check.
    const stamps = fingerprint(this.source, names);
    // mkdtemp: a fresh name, made 0700 and ours, so nobody else can put anything in it while we fill it.
    const dir = mkdtempSync(join(this.parent, `${PREFIX}${process.pid}-`));
    try {
      if (names.length > 0) {
        // cp -a: symlinks stay symlinks (never followed), modes and owners as on the host; --parents keeps
        // nested entries (ssl/certs) at their place.
        execFileSync('cp', ['-a', '--parents', '--', ...names, dir], {
          cwd: this.source,
          stdio: ['ignore', 'ignore', 'pipe'],
        });
      }
      const made = syntheticEtc();
      for (const [name, text] of Object.entries(made)) writeFileSync(join(dir, name), text, { mode: 0o644 });
      chmodSync(dir, 0o755);
    } catch (err) {
      removeDir(dir);
      const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
      throw new Error(`cannot copy ${this.source} to ${this.parent}${stderr ? `: ${stderr}` : ''}`, {
        cause: err,
      });
    }
    this.watch(stamps);
    return { dir, stamps, users: 0, stale: false };
  }

  /** inotify on the source and every directory copied (each reports changes to its own entries). */
  private watch(stamps: Map<string, string>): void {
    this.unwatch();
    const dirs = ['', ...[...stamps].filter(([, v]) => v.startsWith('dir:')).map(([k]) => k)];
    const changed = () => {
      this.dirty = true;
    };
    for (const rel of dirs) {
      try {
        const w = watch(join(this.source, rel), { persistent: false }, changed);
        w.on('error', changed);
        this.watchers.push(w);
      } catch {
        // no inotify here (or out of watches): the periodic look still applies
      }
    }
  }

  private unwatch(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }
}

let shared: EtcCopies | undefined;

/** This process's copies of the host /etc, removed when it exits. */
export function etcCopies(): EtcCopies {
  if (!shared) {
    const copies = new EtcCopies();
    shared = copies;
    process.once('exit', () => copies.removeAll());
  }
  return shared;
}

/** mtime, ctime, size and type of every entry under `names` (recursively, symlinks not followed). */
function fingerprint(source: string, names: readonly string[]): Map<string, string> {
  const stamps = new Map<string, string>();
  const visit = (rel: string) => {
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(join(source, rel));
    } catch {
      stamps.set(rel, 'absent');
      return;
    }
    const kind = st.isDirectory() ? 'dir' : 'other';
    stamps.set(rel, `${kind}:${st.mode}:${st.uid}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`);
    if (!st.isDirectory()) return;
    let entries: Dirent[];
    try {
      entries = readdirSync(join(source, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) visit(join(rel, e.name));
  };
  for (const n of names) visit(n);
  return stamps;
}

function sameStamps(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

/** Remove copies left by processes that died without cleaning up. */
function sweepStale(parent: string): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(PREFIX)) continue;
    const pid = Number(name.slice(PREFIX.length).split('-')[0]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || isAlive(pid)) continue;
    // Only our own kind: a directory owned by us (someone else's file of that name is left alone).
    const st = lstatSync(join(parent, name), { throwIfNoEntry: false });
    if (st?.isDirectory() && st.uid === process.getuid?.()) removeDir(join(parent, name));
  }
}

function removeDir(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    // left for the next sweep
  }
}
