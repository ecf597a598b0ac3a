// Contracts of the sandbox: how a job (a test run, a build) is described, what comes back, and the one
// error that means "this machine cannot sandbox at all".

/** One command to run with a read-only host, a single writable directory and no network. */
export interface SandboxJob {
  /** argv, e.g. `['npx', 'vitest', 'run']`. `command[0]` is looked up on the sandbox's `PATH`. */
  command: string[];
  /**
   * Absolute path of an existing directory: the only writable host path, bound read-write at the same path
   * and used as the working directory. Everything else of the host is visible read-only.
   */
  workDir: string;
  /**
   * Extra environment. The child never inherits the parent's environment: it gets `PATH` (the parent's
   * value), `HOME=/tmp`, `LANG`, `CI=1`, then these entries (which may override the former).
   */
  env?: Record<string, string>;
  /** Wall-clock limit. On expiry the whole process tree is killed with SIGKILL and `timedOut` is true. */
  timeoutMs: number;
  /** Memory cap of the whole tree in MiB (default 2048). Enforced only when `capsEnforced` is true. */
  memoryMb?: number;
  /** Cap on processes plus threads of the whole tree (default 512). Enforced only when `capsEnforced`. */
  maxProcs?: number;
  /** If set, stdout and stderr are also written (interleaved, untruncated) to this host file. */
  logFile?: string;
  /** Absolute host paths made visible read-only even where the private /tmp would hide them. */
  readOnlyPaths?: string[];
  /** Aborting kills the job; the promise still resolves, with `aborted: true`. */
  signal?: AbortSignal;
}

/** Outcome of a job. A job that fails, times out or is killed still resolves: only setup errors reject. */
export interface SandboxResult {
  /**
   * Exit status of the command, or null when the sandbox itself was killed (timeout, abort). A command
   * killed by a signal inside the sandbox (e.g. the OOM killer) shows as 128 + signal number (137 for
   * SIGKILL), as bwrap reports it.
   */
  exitCode: number | null;
  /** `'SIGKILL'` after a timeout or abort, otherwise null (see `exitCode` for signals inside the sandbox). */
  signal: string | null;
  timedOut: boolean;
  /** True when `job.signal` aborted the job. */
  aborted?: boolean;
  durationMs: number;
  /** Last 256 KiB of stdout (UTF-8). */
  stdout: string;
  /** Last 256 KiB of stderr (UTF-8). */
  stderr: string;
  /**
   * Whether the memory and process caps were applied (a per-job cgroup). False when this machine has no
   * writable cgroup v1 memory and pids hierarchies: the job then ran without caps.
   */
  capsEnforced: boolean;
  /** True when the kernel's OOM killer fired inside the job's memory cgroup (only known with caps). */
  oomKilled?: boolean;
}

/** Runs jobs in isolation. Obtain one with `createSandbox()`. */
export interface Sandbox {
  /**
   * Run one job to completion. Rejects with `SandboxUnavailableError` when the machine cannot sandbox,
   * and with `TypeError` for an invalid job (empty command, relative or missing workDir).
   */
  run(job: SandboxJob): Promise<SandboxResult>;
}

/** bubblewrap is missing or cannot create namespaces here; the message says how to fix it. */
export class SandboxUnavailableError extends Error {
  override readonly name = 'SandboxUnavailableError';
  readonly code = 'SANDBOX_UNAVAILABLE' as const;
  constructor(detail: string, options?: { cause?: unknown }) {
    super(
      `sandbox unavailable: ${detail}. Run \`npm run setup\` (installs bubblewrap), or make sure ` +
        'user namespaces are allowed (sysctl kernel.unprivileged_userns_clone=1 when not root)',
      options,
    );
  }
}
