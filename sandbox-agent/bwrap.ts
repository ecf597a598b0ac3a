// BwrapSandbox: runs a job under bubblewrap as an unprivileged user without capabilities, behind a seccomp
// filter, with no network, on a size-capped copy of its work tree and (when cgroups allow) memory and process
// caps. When this process is root, bwrap itself runs as an unprivileged host user too.
import { type ChildProcess, spawn } from 'node:child_process';
import { constants, createWriteStream, type WriteStream } from 'node:fs';
import { access, readdir, realpath, stat } from 'node:fs/promises';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { type CgroupLimits, createJobCgroup, type JobCgroup } from './cgroup.ts';
import { type EtcLease, etcCopies } from './etc.ts';
import { isCleanRelative, parseOutputs, writeOutput } from './outputs.ts';
import { Launcher, type SpareShape } from './launcher.ts';
import {
  bwrapArgs,
  hostLayout,
  LAUNCH_WRAPPER,
  OUTPUTS_FD,
  syntheticEtc,
  TREE_FD,
  WRAPPER,
} from './profile.ts';
import { seccompProgram } from './seccomp.ts';
import { type Sandbox, type SandboxJob, type SandboxResult, SandboxUnavailableError } from './types.ts';

const DEFAULT_MEMORY_MB = 2048;
const DEFAULT_MAX_PROCS = 512;
const DEFAULT_DISK_MB = 1024;
const SHM_BYTES = 64 * 1024 * 1024;
const OUTPUT_CAP_BYTES = 256 * 1024;
const OUTPUTS_CAP_BYTES = 32 * 1024 * 1024;
const MAX_OUTPUT_FILES = 64;
export const DEFAULT_OUTPUTS: readonly string[] = ['.codemesh-report'];
/** Host user bwrap runs as when this process is root: "nobody", which owns no file the job could reach. */
const DEFAULT_HOST_USER = { uid: 65534, gid: 65534 };

// File descriptors of the bwrap process: data it reads at setup, the wrapper's two streams, and (with a
// cgroup) bwrap's --info-fd and --block-fd, through which the job's first process is moved into its cgroup
// before it runs anything.
const FD = {
  seccomp: 3,
  passwd: 4,
  group: 5,
  hosts: 6,
  tree: TREE_FD,
  outputs: OUTPUTS_FD,
  info: 9,
  block: 10,
};

/** Host credentials to start bwrap with; `undefined` keeps this process's own. */
type HostUser = { uid: number; gid: number } | undefined;

export interface BwrapSandboxOptions {
  /** Path of the bwrap binary; default: found on PATH. */
  bwrapPath?: string;
  /** Set false to skip cgroups entirely (results then say `capsEnforced: false`). */
  useCgroups?: boolean;
  /**
   * Host uid/gid bwrap runs as when this process is root (default 65534:65534, "nobody"); `'self'` keeps
   * root. Either way the job inside is uid 1000 with no capabilities; a non-root host uid also means no host
   * file owned by root is the job's, should one ever be visible. Ignored when not root.
   */
  hostUser?: { uid: number; gid: number } | 'self';
  /**
   * Bind a prepared copy of the allowed /etc entries as /etc in one mount (etc.ts; default), or, with false,
   * each host entry on its own (slower: one bind and remount per entry).
   */
  etcCopy?: boolean;
  /**
   * Keep one bwrap started ahead of time for the next job (launcher.ts; default true): the job then does
   * not wait for its fork, exec and early set-up. false starts each job's bwrap when the job comes.
   */
  prestart?: boolean;
}

interface Ready {
  bwrap: string;
  user: HostUser;
}

let warnedNoCaps = false;

export class BwrapSandbox implements Sandbox {
  private ready: Promise<Ready> | undefined;
  private readonly launcher: Launcher | undefined;

  constructor(private readonly options: BwrapSandboxOptions = {}) {
    if (options.prestart !== false) {
      this.launcher = new Launcher(spawnBwrap, ['/bin/sh', '-c', LAUNCH_WRAPPER, 'codemesh-sandbox']);
    }
  }

  /** Kill the pre-started bwrap, if any (also done when this process exits); later jobs still run. */
  close(): void {
    this.launcher?.close();
  }

  /** For tests: pid of the pre-started bwrap waiting for the next job, if any. */
  sparePid(): number | undefined {
    return this.launcher?.sparePid();
  }

  async run(job: SandboxJob): Promise<SandboxResult> {
    const checked = await checkJob(job);
    const ready = await this.ensureReady();
    const started = performance.now();
    if (job.signal?.aborted) return emptyResult({ aborted: true, started });

    // Independent set-up steps run side by side: each is a few file-system calls.
    const [userSet, cgroupSet, logSet] = await Promise.allSettled([
      jobUser(ready.user, checked.readOnlyPaths),
      this.jobCgroup({
        memoryMb: job.memoryMb ?? DEFAULT_MEMORY_MB,
        maxProcs: job.maxProcs ?? DEFAULT_MAX_PROCS,
      }),
      job.logFile ? openLog(job.logFile) : Promise.resolve(undefined),
    ]);
    const cgroup = cgroupSet.status === 'fulfilled' ? cgroupSet.value : undefined;
    const log = logSet.status === 'fulfilled' ? logSet.value : undefined;
    let etc: EtcLease | undefined;
    try {
      if (userSet.status === 'rejected') throw userSet.reason;
      if (cgroupSet.status === 'rejected') throw cgroupSet.reason;
      if (logSet.status === 'rejected') throw logSet.reason;
      etc = this.options.etcCopy === false ? undefined : etcCopies().lease();
      const args = bwrapArgs({
        workDir: checked.workDir,
        readOnlyPaths: checked.readOnlyPaths,
        diskBytes: (job.diskMb ?? DEFAULT_DISK_MB) * 1024 * 1024,
        shmBytes: SHM_BYTES,
        fds: FD,
        ...(etc ? { etcDir: etc.dir } : {}),
      });
      // bwrap is this process's child (no launcher shell; a pre-started one is too): with a cgroup it stops
      // before forking anything until we have moved it in.
      const hold = cgroup ? ['--info-fd', String(FD.info), '--block-fd', String(FD.block)] : [];
      const outputs = checked.outputs.map((o) => `./${o}`);
      const tree = checked.hasTree ? '1' : '0';
      const wrapperArgs = [checked.workDir, tree, String(outputs.length), ...outputs, ...job.command];
      const options = [...args, ...hold];
      const env = minimalEnv(job.env);
      const shape: SpareShape = {
        bwrap: ready.bwrap,
        user: userSet.value,
        stdio: stdioShape(cgroup !== undefined, etc === undefined),
      };
      const launcher = this.launcher;
      const res = await execute({
        start: () =>
          launcher?.launch(shape, { options, env, wrapperArgs }) ??
          spawnBwrap(
            shape,
            [ready.bwrap, ...options, '--', '/bin/sh', '-c', WRAPPER, 'codemesh-sandbox', ...wrapperArgs],
            env,
          ),
        // The next job's bwrap starts while this one runs (this process only waits for it now).
        onReleased: launcher ? () => launcher.prestart(shape) : undefined,
        cgroup,
        job,
        syntheticEtc: etc === undefined,
        workDir: checked.hasTree ? checked.workDir : undefined,
        log,
        started,
      });
      if (res.outputs) {
        const notes: string[] = [];
        const files = parseOutputs(res.outputs, checked.outputs);
        for (const file of files.slice(0, MAX_OUTPUT_FILES)) {
          await writeOutput(checked.workDir, file).catch((err: Error) => notes.push(err.message));
        }
        if (files.length > MAX_OUTPUT_FILES)
          notes.push(`only the first ${MAX_OUTPUT_FILES} outputs copied back`);
        if (res.outputsOverflow) notes.push(`outputs over ${OUTPUTS_CAP_BYTES} bytes: not all copied back`);
        if (notes.length > 0) res.result.stderr += notes.map((n) => `\ncodemesh-sandbox: ${n}`).join('');
      }
      return res.result;
    } finally {
      etc?.release();
      await cgroup?.remove();
      if (log) await new Promise<void>((resolve) => log?.end(resolve));
    }
  }

  private async jobCgroup(limits: CgroupLimits): Promise<JobCgroup | undefined> {
    if (this.options.useCgroups === false) return undefined;
    const cg = await createJobCgroup(limits);
    if (typeof cg !== 'string') return cg;
    if (!warnedNoCaps) {
      warnedNoCaps = true;
      process.emitWarning(`sandbox jobs run without memory/process caps: ${cg}`, {
        code: 'CODEMESH_NO_CAPS',
      });
    }
    return undefined;
  }

  /** Find bwrap and check once that it can build the sandbox here, as the host user it will run as. */
  private ensureReady(): Promise<Ready> {
    this.ready ??= this.probeAll().catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  private async probeAll(): Promise<Ready> {
    const bwrap = this.options.bwrapPath ?? (await which('bwrap'));
    if (!bwrap) throw new SandboxUnavailableError('bwrap (bubblewrap) not found on PATH');
    const wanted = this.options.hostUser;
    const user: HostUser =
      process.getuid?.() === 0 && wanted !== 'self' ? (wanted ?? DEFAULT_HOST_USER) : undefined;
    const failure = await probe(bwrap, user);
    if (failure === undefined) return { bwrap, user };
    if (user !== undefined && (await probe(bwrap, undefined)) === undefined) {
      // Still no capability and an unprivileged uid inside, but the job's files are root's on the host.
      process.emitWarning(
        `sandbox runs bwrap as root: uid ${user.uid} cannot create user namespaces here (${failure})`,
        { code: 'CODEMESH_SANDBOX_AS_ROOT' },
      );
      return { bwrap, user: undefined };
    }
    throw new SandboxUnavailableError(`bwrap cannot create namespaces: ${failure}`);
  }
}

/**
 * stdio of a job's bwrap: the seccomp program, the made-up /etc files when there is no /etc copy, the work
 * tree and outputs streams, and --info-fd/--block-fd with a cgroup. Unused fds stay closed.
 */
function stdioShape(withCgroup: boolean, withSyntheticEtc: boolean): Array<'pipe' | 'ignore'> {
  const count = withCgroup ? FD.block + 1 : FD.outputs + 1;
  return Array.from({ length: count }, (_, fd) => {
    if (fd === 0) return 'ignore';
    if (!withSyntheticEtc && (fd === FD.passwd || fd === FD.group || fd === FD.hosts)) return 'ignore';
    return 'pipe';
  });
}

/**
 * Start bwrap. detached: it leads its own process group, which we kill as a whole. cwd '/': the host user
 * bwrap runs as may not be allowed into the work tree, which the sandbox does not bind anyway.
 */
function spawnBwrap(shape: SpareShape, argv: readonly string[], env: Record<string, string>): ChildProcess {
  return spawn(argv[0]!, argv.slice(1), {
    cwd: '/',
    env,
    detached: true,
    stdio: [...shape.stdio],
    ...(shape.user ?? {}),
  });
}

interface ExecSpec {
  /** Starts the job's bwrap (afresh, or the pre-started one given the job's options). */
  start: () => ChildProcess;
  /** Called once the job's first process runs (in its cgroup, if any). */
  onReleased: (() => void) | undefined;
  cgroup: JobCgroup | undefined;
  job: SandboxJob;
  /** Whether passwd, group and hosts go through fds (no prepared /etc copy). */
  syntheticEtc: boolean;
  /** The host work tree to stream in; undefined when it holds nothing to copy. */
  workDir: string | undefined;
  log: WriteStream | undefined;
  started: number;
}

interface ExecOutcome {
  result: SandboxResult;
  /** The outputs stream, when the command ran to its end (not killed). */
  outputs?: Buffer;
  outputsOverflow?: boolean;
}

function execute(spec: ExecSpec): Promise<ExecOutcome> {
  const { cgroup, job, log, started } = spec;
  const stdout = new TailBuffer(OUTPUT_CAP_BYTES);
  const stderr = new TailBuffer(OUTPUT_CAP_BYTES);
  const outputs: Buffer[] = [];
  let outputsSize = 0;
  let outputsOverflow = false;
  let timedOut = false;
  let aborted = false;
  let tar: ChildProcess | undefined;

  return new Promise<ExecOutcome>((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spec.start();
    } catch (err) {
      reject(new SandboxUnavailableError(`cannot start bwrap (${(err as Error).message})`, { cause: err }));
      return;
    }
    let joinError: string | undefined;
    const kill = () => {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // group already gone
        }
      }
      tar?.kill('SIGKILL');
      // bwrap's --die-with-parent tears the pid namespace down; the cgroup sweep catches any straggler.
      void cgroup?.killAll();
    };
    const timer = setTimeout(
      () => {
        timedOut = true;
        kill();
      },
      Math.min(job.timeoutMs, 2 ** 31 - 1),
    );
    const onAbort = () => {
      aborted = true;
      kill();
    };
    job.signal?.addEventListener('abort', onAbort, { once: true });
    if (job.signal?.aborted) onAbort(); // aborted while the cgroup was being set up

    const stdio = child.stdio as Array<Readable | Writable | null>;
    const feed = (fd: number, data: string | Buffer) => {
      const stream = stdio[fd] as Writable;
      stream.on('error', () => {}); // bwrap failed before reading: its stderr says why
      stream.end(data);
    };
    feed(FD.seccomp, seccompProgram());
    if (spec.syntheticEtc) {
      const etc = syntheticEtc();
      feed(FD.passwd, etc.passwd);
      feed(FD.group, etc.group);
      feed(FD.hosts, etc.hosts);
    }
    if (cgroup) {
      // bwrap reports its namespace child's pid on --info-fd, then that child waits on --block-fd with its
      // sandbox built and nothing forked: we move it into the job's cgroup and let it go. If that fails it
      // is killed while still waiting (it is in bwrap's process group until it calls setsid, after the
      // wait), never released outside its cgroup.
      const info = stdio[FD.info] as Readable;
      const block = stdio[FD.block] as Writable;
      block.on('error', () => {});
      info.on('error', () => {});
      let text = '';
      info.on('data', (c: Buffer) => {
        text += c.toString();
      });
      info.once('end', () => {
        const pid = Number(/"child-pid":\s*(\d+)/.exec(text)?.[1]);
        if (!(pid > 0)) return; // bwrap failed before its child existed: its stderr says why
        try {
          cgroup.adopt(pid);
          block.end('1');
        } catch (err) {
          joinError = `cannot join the job cgroup: ${(err as Error).message}`;
          kill();
          return;
        }
        spec.onReleased?.();
      });
    }
    // The work tree goes in as a tar stream written straight into the wrapper's fd by a host tar: no path
    // of the host tree is bound, and .git (a worktree's link to the repository, its hooks) stays out. An
    // empty tree needs no tar at all.
    const treeEnd = stdio[FD.tree] as Writable & { destroy(): void };
    treeEnd.on('error', () => {});
    const tarErr = new TailBuffer(4096);
    if (spec.workDir !== undefined) {
      tar = spawn('tar', ['-c', '-f', '-', '--exclude=.git', '-C', spec.workDir, '.'], {
        stdio: ['ignore', treeEnd, 'pipe'],
      });
      tar.stderr?.on('data', (c: Buffer) => tarErr.push(c));
      tar.once('error', (err) => tarErr.push(Buffer.from(`host tar: ${err.message}`)));
    }
    treeEnd.destroy(); // tar (if any) holds the only writing end now: the wrapper sees EOF when it is done
    if (!cgroup) spec.onReleased?.();
    const outputsEnd = stdio[FD.outputs] as Readable;
    outputsEnd.on('error', () => {});
    outputsEnd.on('data', (chunk: Buffer) => {
      if (outputsOverflow) return;
      if (outputsSize + chunk.length > OUTPUTS_CAP_BYTES) {
        outputsOverflow = true;
        outputsEnd.destroy();
        return;
      }
      outputs.push(chunk);
      outputsSize += chunk.length;
    });

    child.stdout?.on('data', (chunk: Buffer) => {
      stdout.push(chunk);
      log?.write(chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr.push(chunk);
      log?.write(chunk);
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      tar?.kill('SIGKILL');
      job.signal?.removeEventListener('abort', onAbort);
      reject(new SandboxUnavailableError(`cannot start bwrap (${err.message})`, { cause: err }));
    });
    child.once('close', async (code, signal) => {
      clearTimeout(timer);
      job.signal?.removeEventListener('abort', onAbort);
      tar?.kill('SIGKILL');
      const oomKilled = cgroup ? await cgroup.oomKilled() : undefined;
      let err = stderr.toString();
      if (code === 125 && tarErr.size > 0) err += `\ncodemesh-sandbox: ${tarErr.toString().trim()}`;
      if (joinError) err += `\ncodemesh-sandbox: ${joinError}`;
      const killed = timedOut || aborted;
      resolve({
        result: {
          exitCode: code,
          signal,
          timedOut,
          aborted,
          durationMs: Math.round(performance.now() - started),
          stdout: stdout.toString(),
          stderr: err,
          capsEnforced: cgroup !== undefined,
          ...(oomKilled === undefined ? {} : { oomKilled }),
        },
        ...(killed ? {} : { outputs: Buffer.concat(outputs), outputsOverflow }),
      });
    });
  });
}

/** PATH and LANG are not secrets and are needed to find tools; nothing else of ours leaks through. */
export function minimalEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: '/tmp',
    LANG: process.env.LANG ?? 'C.UTF-8',
    CI: '1',
    ...extra,
  };
}

interface CheckedJob {
  workDir: string;
  /** Whether the work tree holds anything but `.git` (otherwise nothing is copied in). */
  hasTree: boolean;
  readOnlyPaths: string[];
  outputs: string[];
}

async function checkJob(job: SandboxJob): Promise<CheckedJob> {
  if (job.command.length === 0 || !job.command[0]) throw new TypeError('sandbox job: empty command');
  // A NUL would end an argument early (or, through the pre-started bwrap's options pipe, split it in two).
  const strings = [job.workDir, ...job.command, ...(job.outputs ?? []), ...(job.readOnlyPaths ?? [])];
  if (strings.some((a) => a.includes('\0'))) throw new TypeError('sandbox job: NUL byte in an argument');
  for (const [k, v] of Object.entries(job.env ?? {})) {
    if (k === '' || k.includes('=') || k.includes('\0') || v.includes('\0')) {
      throw new TypeError(`sandbox job: bad environment entry: ${JSON.stringify(k)}`);
    }
  }
  if (!isAbsolute(job.workDir)) throw new TypeError(`sandbox job: workDir must be absolute: ${job.workDir}`);
  if (!(job.timeoutMs > 0)) throw new TypeError('sandbox job: timeoutMs must be > 0');
  if (job.diskMb !== undefined && !(job.diskMb > 0)) throw new TypeError('sandbox job: diskMb must be > 0');
  const info = await stat(job.workDir).catch(() => undefined);
  if (!info?.isDirectory()) throw new TypeError(`sandbox job: workDir is not a directory: ${job.workDir}`);
  // The real path: the tmpfs goes there, and a symlink on the way could not be mounted over.
  const workDir = await realpath(job.workDir);
  if (workDir === '/') throw new TypeError('sandbox job: workDir cannot be /');
  const readOnlyPaths: string[] = [];
  for (const p of job.readOnlyPaths ?? []) {
    if (!isAbsolute(p) || p === '/') throw new TypeError(`sandbox job: bad readOnlyPaths entry: ${p}`);
    if (!(await stat(p).catch(() => undefined))) {
      throw new TypeError(`sandbox job: readOnlyPaths entry does not exist: ${p}`);
    }
    readOnlyPaths.push(p);
  }
  const outputs = job.outputs ?? [...DEFAULT_OUTPUTS];
  for (const o of outputs) {
    if (!isCleanRelative(o)) throw new TypeError(`sandbox job: outputs must be relative paths: ${o}`);
  }
  const hasTree = (await readdir(workDir)).some((name) => name !== '.git');
  return { workDir, hasTree, readOnlyPaths, outputs };
}

let warnedAsRoot = false;

/**
 * The host user of one job: bwrap mounts `readOnlyPaths` with the permissions of the user it runs as, so a
 * path that user cannot reach (a repository under /root) makes the job run bwrap as root instead, said once.
 */
async function jobUser(user: HostUser, readOnlyPaths: readonly string[]): Promise<HostUser> {
  if (user === undefined) return undefined;
  for (const p of readOnlyPaths) {
    if (await reachableBy(p, user)) continue;
    if (!warnedAsRoot) {
      warnedAsRoot = true;
      process.emitWarning(
        `sandbox runs bwrap as root for jobs that need ${p}: uid ${user.uid} cannot read it ` +
          '(make it and its parents world-readable, or pass hostUser to the sandbox)',
        { code: 'CODEMESH_SANDBOX_AS_ROOT' },
      );
    }
    return undefined;
  }
  return user;
}

/** Whether `user` may traverse every parent of `path` and read it (plain mode bits; no ACLs here). */
async function reachableBy(path: string, user: { uid: number; gid: number }): Promise<boolean> {
  const allows = (st: { uid: number; gid: number; mode: number }, bits: number) => {
    const shift = st.uid === user.uid ? 6 : st.gid === user.gid ? 3 : 0;
    return ((st.mode >> shift) & bits) === bits;
  };
  const target = await stat(path).catch(() => undefined);
  if (!target || !allows(target, target.isDirectory() ? 0o5 : 0o4)) return false;
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const st = await stat(dir).catch(() => undefined);
    if (!st || !allows(st, 0o1)) return false;
    if (dir === '/') return true;
  }
}

/** Undefined when bwrap builds the sandbox's namespaces as `user`, otherwise why not. */
async function probe(bwrap: string, user: HostUser): Promise<string | undefined> {
  const layout = hostLayout().flatMap((e) =>
    e.kind === 'link' ? ['--symlink', e.target, e.path] : ['--ro-bind', e.path, e.path],
  );
  // biome-ignore format: flag/value pairs read better kept together
  const args = [
    '--unshare-all', '--unshare-user', '--disable-userns', '--uid', '1000', '--gid', '1000',
    '--cap-drop', 'ALL', '--die-with-parent', ...layout, '--', '/bin/true',
  ];
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(bwrap, args, {
      cwd: '/',
      stdio: ['ignore', 'ignore', 'pipe'],
      env: minimalEnv(),
      ...(user ?? {}),
    });
    let err = '';
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString();
    });
    child.once('error', (e) => resolve({ code: -1, stderr: e.message }));
    child.once('close', (c) => resolve({ code: c, stderr: err }));
  });
  return code === 0 ? undefined : stderr.trim() || `exit code ${code}`;
}

async function which(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter).concat(['/usr/bin', '/bin'])) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function openLog(path: string): Promise<WriteStream> {
  return new Promise((resolve, reject) => {
    const stream = createWriteStream(path, { flags: 'w' });
    stream.once('open', () => {
      // A later write error (disk full) must not crash the process; the result still carries the output.
      stream.on('error', () => {});
      resolve(stream);
    });
    stream.once('error', reject);
  });
}

function emptyResult(o: { aborted: boolean; started: number }): SandboxResult {
  return {
    exitCode: null,
    signal: null,
    timedOut: false,
    aborted: o.aborted,
    durationMs: Math.round(performance.now() - o.started),
    stdout: '',
    stderr: '',
    capsEnforced: false,
  };
}

/** Keeps the last `cap` bytes of a stream. */
class TailBuffer {
  private chunks: Buffer[] = [];
  size = 0;
  constructor(private readonly cap: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.chunks.length > 1 && this.size - this.chunks[0]!.length >= this.cap) {
      this.size -= this.chunks.shift()!.length;
    }
  }

  toString(): string {
    let buf = Buffer.concat(this.chunks);
    if (buf.length <= this.cap) return buf.toString('utf8');
    buf = buf.subarray(buf.length - this.cap);
    // Do not start in the middle of a UTF-8 sequence.
    let i = 0;
    while (i < 4 && i < buf.length && (buf[i]! & 0xc0) === 0x80) i++;
    return buf.subarray(i).toString('utf8');
  }
}
