// Per-job cgroup v1 (memory + pids) so a sandboxed job cannot exhaust the machine. Job groups are nested
// under this process's own cgroup, so any limit already placed on us still applies to our jobs.
import { writeFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A live per-job cgroup pair. The job's first process joins it (`adopt`) before it forks anything. */
export interface JobCgroup {
  /** `cgroup.procs` files of the pair, memory first. */
  readonly procsFiles: readonly [string, string];
  /** Move process `pid` into both groups (its children, forked later, are born there). Throws on failure. */
  adopt(pid: number): void;
  /** True when the OOM killer fired inside the job's memory group. */
  oomKilled(): Promise<boolean>;
  /** SIGKILL every process still in the job's groups. */
  killAll(): Promise<void>;
  /** Kill leftovers and delete both groups; never throws. */
  remove(): Promise<void>;
}

export interface CgroupLimits {
  memoryMb: number;
  maxProcs: number;
}

interface Roots {
  memory: string;
  pids: string;
}

const GROUP_DIR = 'codemesh';
let rootsPromise: Promise<Roots | string> | undefined;
let seq = 0;

/**
 * Create the cgroups of one job, or return why caps cannot be enforced on this machine.
 *
 * @example
 * const cg = await createJobCgroup({ memoryMb: 512, maxProcs: 64 });
 * if (typeof cg === 'string') console.warn(`no caps: ${cg}`);
 */
export async function createJobCgroup(limits: CgroupLimits): Promise<JobCgroup | string> {
  rootsPromise ??= findRoots();
  const roots = await rootsPromise;
  if (typeof roots === 'string') return roots;
  const name = `${process.pid}-${++seq}`;
  const memDir = join(roots.memory, name);
  const pidsDir = join(roots.pids, name);
  const made = await Promise.allSettled([mkdir(memDir), mkdir(pidsDir)]);
  try {
    for (const m of made) if (m.status === 'rejected') throw m.reason;
    const bytes = String(Math.max(1, Math.floor(limits.memoryMb)) * 1024 * 1024);
    await Promise.all([
      (async () => {
        await writeFile(join(memDir, 'memory.limit_in_bytes'), bytes);
        // Without the memsw limit a job could spill into swap instead of being killed; absent when the
        // kernel has no swap accounting, which is fine. Set after the memory limit: it may not be below it.
        await writeFile(join(memDir, 'memory.memsw.limit_in_bytes'), bytes).catch(() => {});
      })(),
      writeFile(join(pidsDir, 'pids.max'), String(Math.max(1, Math.floor(limits.maxProcs)))),
    ]);
  } catch (err) {
    const dirs = [memDir, pidsDir].filter((_, i) => made[i]?.status === 'fulfilled');
    await Promise.all(dirs.map((dir) => rmdir(dir).catch(() => {})));
    return `cannot create job cgroup: ${(err as Error).message}`;
  }
  return new V1JobCgroup(memDir, pidsDir);
}

class V1JobCgroup implements JobCgroup {
  readonly procsFiles: readonly [string, string];
  constructor(
    private readonly memDir: string,
    private readonly pidsDir: string,
  ) {
    this.procsFiles = [join(memDir, 'cgroup.procs'), join(pidsDir, 'cgroup.procs')];
  }

  adopt(pid: number): void {
    // Synchronous: two writes of a few bytes to cgroupfs, while the job's first process waits on them (two
    // thread-pool round trips cost ~10 ms on a loaded machine). One pid per write; memory first.
    for (const file of this.procsFiles) writeFileSync(file, String(pid));
  }

  async oomKilled(): Promise<boolean> {
    const text = await readFile(join(this.memDir, 'memory.oom_control'), 'utf8').catch(() => '');
    const m = /^oom_kill (\d+)$/m.exec(text);
    return m !== null && Number(m[1]) > 0;
  }

  async killAll(): Promise<void> {
    // cgroup v1 has no cgroup.kill: kill what is listed, repeatedly, since a fork can race the read.
    // The pids cap bounds how many rounds a fork loop can survive.
    for (let round = 0; round < 20; round++) {
      const pids = await listPids(this.procsFiles);
      if (pids.length === 0) return;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await sleep(5);
    }
  }

  async remove(): Promise<void> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const results = await Promise.allSettled([rmdir(this.memDir), rmdir(this.pidsDir)]);
      const busy = results.some(
        (r) => r.status === 'rejected' && (r.reason as NodeJS.ErrnoException).code !== 'ENOENT',
      );
      if (!busy) return;
      // Exiting processes leave the group asynchronously after the sandbox's init dies.
      await this.killAll();
      await sleep(attempt < 10 ? 2 : 20);
    }
  }
}

async function listPids(files: readonly string[]): Promise<number[]> {
  const pids = new Set<number>();
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n')) if (line) pids.add(Number(line));
  }
  return [...pids].filter((p) => Number.isInteger(p) && p > 0);
}

/** Locate writable memory and pids v1 hierarchies and our own place in each. */
async function findRoots(): Promise<Roots | string> {
  let mounts: string;
  let own: string;
  try {
    mounts = await readFile('/proc/self/mounts', 'utf8');
    own = await readFile('/proc/self/cgroup', 'utf8');
  } catch (err) {
    return `cannot read cgroup info: ${(err as Error).message}`;
  }
  const roots: Partial<Roots> = {};
  for (const controller of ['memory', 'pids'] as const) {
    const mount = mounts
      .split('\n')
      .map((line) => line.split(' '))
      .find((f) => f[2] === 'cgroup' && (f[3] ?? '').split(',').includes(controller));
    if (!mount?.[1]) return `no cgroup v1 ${controller} hierarchy mounted`;
    const ownLine = own
      .split('\n')
      .map((line) => line.split(':'))
      .find((f) => (f[1] ?? '').split(',').includes(controller));
    const base = join(mount[1], ownLine?.[2] ?? '/', GROUP_DIR);
    try {
      await mkdir(base, { recursive: true });
    } catch (err) {
      return `cgroup ${controller} hierarchy not writable: ${(err as Error).message}`;
    }
    await sweepStale(base);
    roots[controller] = base;
  }
  return roots as Roots;
}

/** Remove job groups left behind by processes that died without cleaning up. */
async function sweepStale(base: string): Promise<void> {
  const names = await readdir(base).catch(() => [] as string[]);
  for (const name of names) {
    const pid = Number(name.split('-')[0]);
    if (!Number.isInteger(pid) || pid <= 0 || isAlive(pid)) continue;
    await rmdir(join(base, name)).catch(() => {});
  }
}

/** Whether a process of that pid exists (one of another user's counts: EPERM). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
