// Contracts of the sandbox: how a job (a test run, a build) is described, what comes back, and the one
// error that means "this machine cannot sandbox at all".

/**
 * One command to run in isolation: an unprivileged user with no capabilities, no network, a seccomp filter, a
 * filesystem holding only the system directories, a minimal /etc, `readOnlyPaths` and a size-capped copy of
 * the work tree.
 */
export interface SandboxJob {
  /** argv, e.g. `['npx', 'vitest', 'run']`. `command[0]` is looked up on the sandbox's `PATH`. */
  command: string[];
  /**
   * Absolute path of an existing directory, copied (without any `.git`) into a size-capped tmpfs mounted at
   * the same path, which is the job's working directory. The job works on the copy: the host directory is
   * neither visible nor changed, except for `outputs`, copied back when the job ends.
   */
  workDir: string;
  /**
   * Paths relative to `workDir` copied back to the host tree after the command exits (not after a timeout or
   * abort): a file, or a directory whose regular files (one level) are copied. Symlinks and other special
   * files are skipped; at most 64 files and 32 MiB in all. Default `['.codemesh-report']`, the directory the
   * Tester's runners write their reports to.
   */
  outputs?: string[];
  /**
   * Extra environment. The child never inherits the parent's environment: it gets `PATH` (the parent's
   * value), `HOME=/tmp`, `LANG`, `CI=1`, then these entries (which may override the former). Names may not
   * be empty or contain `=`; no name or value (nor any argument or path of the job) may contain a NUL byte.
   */
  env?: Record<string, string>;
  /** Wall-clock limit. On expiry the whole process tree is killed with SIGKILL and `timedOut` is true. */
  timeoutMs: number;
  /** Memory cap of the whole tree in MiB (default 2048). Enforced only when `capsEnforced` is true. */
  memoryMb?: number;
  /** Cap on processes plus threads of the whole tree (default 512). Enforced only when `capsEnforced`. */
  maxProcs?: number;
  /**
   * Size in MiB of the work tree's tmpfs (the copy plus whatever the job writes there) and, separately, of
   * /tmp (default 1024 each). Always enforced; tmpfs pages also count against `memoryMb`.
   */
  diskMb?: number;
  /** If set, stdout and stderr are also written (interleaved, untruncated) to this host file. */
  logFile?: string;
  /**
   * Absolute host paths (directories or files) visible read-only at the same path: toolchains and installed
   * dependencies outside the system directories, e.g. a `node_modules` the work tree links to. Nothing else
   * of the host is visible (no home directories, /run, /var, state directories).
   */
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
        'user namespaces are allowed (sysctl kernel.unprivileged_userns_clone=1, ' +
        'user.max_user_namespaces > 0)',
      options,
    );
  }
}
