// Per-job cgroup v1 (memory + pids) so a sandboxed job cannot exhaust the machine. Job groups are nested
// under this process's own cgroup, so any limit already placed on us still applies to our jobs.
import { chown, mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A live per-job cgroup pair. Pass `procsFiles` to the launcher, which writes its own pid into each. */
export interface JobCgroup {
  /** `cgroup.procs` files the job's first process must join, memory first. */
  readonly procsFiles: readonly [string, string];
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
 * Create the cgroups of one job, or return why caps cannot be enforced on this machine. With `owner`, the
 * groups' `cgroup.procs` files are handed to that host user, so a launcher running as it can join them.
 *
 * @example
 * const cg = await createJobCgroup({ memoryMb: 512, maxProcs: 64 });
 * if (typeof cg === 'string') console.warn(`no caps: ${cg}`);
 */
export async function createJobCgroup(
  limits: CgroupLimits,
  owner?: { uid: number; gid: number },
): Promise<JobCgroup | string> {
  rootsPromise ??= findRoots();
  const roots = await rootsPromise;
  if (typeof roots === 'string') return roots;
  const name = `${process.pid}-${++seq}`;
  const memDir = join(roots.memory, name);
  const pidsDir = join(roots.pids, name);
  const created: string[] = [];
  try {
    await mkdir(memDir);
    created.push(memDir);
    await mkdir(pidsDir);
    created.push(pidsDir);
    const bytes = String(Math.max(1, Math.floor(limits.memoryMb)) * 1024 * 1024);
    await writeFile(join(memDir, 'memory.limit_in_bytes'), bytes);
    // Without the memsw limit a job could spill into swap instead of being killed; absent when the kernel
    // has no swap accounting, which is fine.
    await writeFile(join(memDir, 'memory.memsw.limit_in_bytes'), bytes).catch(() => {});
    await writeFile(join(pidsDir, 'pids.max'), String(Math.max(1, Math.floor(limits.maxProcs))));
    if (owner) {
      // cgroup v1 lets a process move itself in when it may write the file: only cgroup.procs, not limits.
      await chown(join(memDir, 'cgroup.procs'), owner.uid, owner.gid);
      await chown(join(pidsDir, 'cgroup.procs'), owner.uid, owner.gid);
    }
  } catch (err) {
    await Promise.all(created.map((dir) => rmdir(dir).catch(() => {})));
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

function isAlive(pid: number): boolean {
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
