// BwrapSandbox: runs a job under bubblewrap with a read-only host, a private /tmp, no network, one
// writable directory and (when cgroups allow) memory and process caps.
import { spawn } from 'node:child_process';
import { constants, createWriteStream, type WriteStream } from 'node:fs';
import { access, realpath, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { type CgroupLimits, createJobCgroup, type JobCgroup } from './cgroup.ts';
import { type Sandbox, type SandboxJob, type SandboxResult, SandboxUnavailableError } from './types.ts';

const DEFAULT_MEMORY_MB = 2048;
const DEFAULT_MAX_PROCS = 512;
const OUTPUT_CAP_BYTES = 256 * 1024;

// The launcher joins the job's cgroups before exec'ing bwrap, so every descendant is born inside them.
const JOIN_CGROUPS =
  'echo $$ > "$1" && echo $$ > "$2" || { echo "codemesh-sandbox: cannot join job cgroup" >&2; exit 125; }; ' +
  'shift 2; exec "$@"';

export interface BwrapSandboxOptions {
  /** Path of the bwrap binary; default: found on PATH. */
  bwrapPath?: string;
  /** Set false to skip cgroups entirely (results then say `capsEnforced: false`). */
  useCgroups?: boolean;
}

let warnedNoCaps = false;

export class BwrapSandbox implements Sandbox {
  private ready: Promise<string> | undefined;

  constructor(private readonly options: BwrapSandboxOptions = {}) {}

  async run(job: SandboxJob): Promise<SandboxResult> {
    const workDir = await checkJob(job);
    const bwrap = await this.ensureReady();
    const started = performance.now();
    if (job.signal?.aborted) return emptyResult({ aborted: true, started });

    const cgroup = await this.jobCgroup({
      memoryMb: job.memoryMb ?? DEFAULT_MEMORY_MB,
      maxProcs: job.maxProcs ?? DEFAULT_MAX_PROCS,
    });
    let log: WriteStream | undefined;
    try {
      log = job.logFile ? await openLog(job.logFile) : undefined;
      const sandboxed = [bwrap, ...bwrapArgs(workDir, job.readOnlyPaths), '--', ...job.command];
      const launcher = cgroup ? ['/bin/sh', '-c', JOIN_CGROUPS, 'sh', ...cgroup.procsFiles] : [];
      const argv = [...launcher, ...sandboxed];
      return await execute(argv, cgroup, job, minimalEnv(job.env), log, started);
    } finally {
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

  /** Find bwrap and check once that it can create namespaces here. */
  private ensureReady(): Promise<string> {
    this.ready ??= probe(this.options.bwrapPath).catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }
}

/** bwrap arguments: order matters, later mounts go on top of earlier ones (workDir may live in /tmp). */
export function bwrapArgs(workDir: string, readOnly: readonly string[] = []): string[] {
  // biome-ignore format: flag/value pairs read better kept together
  return [
    '--ro-bind', '/', '/',
    '--dev', '/dev',
    '--proc', '/proc',
    '--tmpfs', '/tmp',
    // Host paths the job may read that the private /tmp would hide (e.g. a repository's installed deps).
    ...readOnly.flatMap((p) => ['--ro-bind', p, p]),
    '--bind', workDir, workDir,
    '--unshare-all',
    // bwrap 0.8 also arms the parent-death signal on its own outer process: if this Node process dies,
    // even by SIGKILL, the job dies with it instead of running on without its timeout.
    '--die-with-parent',
    '--new-session',
    '--chdir', workDir,
  ];
}

function execute(
  argv: string[],
  cgroup: JobCgroup | undefined,
  job: SandboxJob,
  env: Record<string, string>,
  log: WriteStream | undefined,
  started: number,
): Promise<SandboxResult> {
  const stdout = new TailBuffer(OUTPUT_CAP_BYTES);
  const stderr = new TailBuffer(OUTPUT_CAP_BYTES);
  let timedOut = false;
  let aborted = false;

  return new Promise<SandboxResult>((resolve, reject) => {
    // detached: the launcher leads its own process group, which we kill as a whole.
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: job.workDir,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const kill = () => {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // group already gone
        }
      }
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

    child.stdout.on('data', (chunk: Buffer) => {
      stdout.push(chunk);
      log?.write(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr.push(chunk);
      log?.write(chunk);
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      job.signal?.removeEventListener('abort', onAbort);
      reject(new SandboxUnavailableError(`cannot start bwrap (${err.message})`, { cause: err }));
    });
    child.once('close', async (code, signal) => {
      clearTimeout(timer);
      job.signal?.removeEventListener('abort', onAbort);
      const oomKilled = cgroup ? await cgroup.oomKilled() : undefined;
      resolve({
        exitCode: code,
        signal,
        timedOut,
        aborted,
        durationMs: performance.now() - started,
        stdout: stdout.toString(),
        stderr: stderr.toString(),
        capsEnforced: cgroup !== undefined,
        ...(oomKilled === undefined ? {} : { oomKilled }),
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

async function checkJob(job: SandboxJob): Promise<string> {
  if (job.command.length === 0 || !job.command[0]) throw new TypeError('sandbox job: empty command');
  if (!isAbsolute(job.workDir)) throw new TypeError(`sandbox job: workDir must be absolute: ${job.workDir}`);
  if (!(job.timeoutMs > 0)) throw new TypeError('sandbox job: timeoutMs must be > 0');
  const info = await stat(job.workDir).catch(() => undefined);
  if (!info?.isDirectory()) throw new TypeError(`sandbox job: workDir is not a directory: ${job.workDir}`);
  // Bind the real path: a symlinked mount point on the read-only host could not be mounted over.
  return realpath(job.workDir);
}

async function probe(explicit: string | undefined): Promise<string> {
  const bwrap = explicit ?? (await which('bwrap'));
  if (!bwrap) throw new SandboxUnavailableError('bwrap (bubblewrap) not found on PATH');
  const args = ['--ro-bind', '/', '/', '--unshare-all', '--die-with-parent', '--', '/bin/true'];
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(bwrap, args, { stdio: ['ignore', 'ignore', 'pipe'], env: minimalEnv() });
    let err = '';
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    child.once('error', (e) => resolve({ code: -1, stderr: e.message }));
    child.once('close', (c) => resolve({ code: c, stderr: err }));
  });
  if (code !== 0) throw new SandboxUnavailableError(`bwrap cannot create namespaces: ${stderr.trim()}`);
  return bwrap;
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
    durationMs: performance.now() - o.started,
    stdout: '',
    stderr: '',
    capsEnforced: false,
  };
}

/** Keeps the last `cap` bytes of a stream. */
class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
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
