// A bwrap started ahead of time, so the next job does not wait for Node's fork, bwrap's exec, its dynamic
// linking and early set-up. The spare is `bwrap --args ARGS_FD -- /bin/sh -c LAUNCH_WRAPPER …` and blocks
// reading its options from ARGS_FD; it has no profile until a job writes one. bwrap 0.8 takes only options
// from --args (the command must be on its real command line), so the spare's command is a fixed trampoline
// and the job's own arguments reach it as environment entries set by those options (see LAUNCH_WRAPPER).
//
// Fail closed: a spare is used only when it is alive, still blocked on its read, ours, started as the host
// user and with the file descriptors the job needs, and when nothing in the job's arguments could be misread
// (no NUL byte, no '=' in an environment name). Otherwise the job starts a fresh bwrap, as without a spare.
// A spare whose pipe closes without options (this process died) gets an empty profile: bwrap then finds no
// /bin/sh in its empty root and exits. Spares are killed when this process exits.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';

/** Environment entry set by the last option a spare reads (see LAUNCH_WRAPPER). */
export const LAUNCH_END = 'CODEMESH_ARGS_END';
/** fd of the spare bwrap its options are read from (after the job's own fds, see bwrap.ts FD). */
export const ARGS_FD = 11;
/** bwrap refuses more than 9000 arguments from --args; well below that, a job starts bwrap afresh. */
const MAX_LAUNCH_ARGS = 4000;
/** The trampoline rebuilds its arguments in a loop that is quadratic in their count. */
const MAX_WRAPPER_ARGS = 256;
/** A spare unused this long is killed (a sandbox dropped without close() leaks no process for long). */
export const SPARE_IDLE_MS = 30_000;

/** Launchers with a spare: one exit hook kills them all. */
const live = new Set<Launcher>();
let exitHooked = false;

/** What a bwrap process is started with, before any option: two processes of equal shape are alike. */
export interface SpareShape {
  bwrap: string;
  user: { uid: number; gid: number } | undefined;
  /** stdio layout: one entry per fd, as given to spawn. */
  stdio: ReadonlyArray<'pipe' | 'ignore'>;
}

/** The job, as the launch needs it. */
export interface LaunchSpec {
  /** bwrap options (the profile, --info-fd/--block-fd): everything before `--`. */
  options: readonly string[];
  /** The child's whole environment. */
  env: Readonly<Record<string, string>>;
  /** Arguments of the wrapper (workDir, tree flag, outputs, command): see profile.ts WRAPPER. */
  wrapperArgs: readonly string[];
}

/** Starts a bwrap with `argv` and the stdio of `shape` (bwrap.ts). */
export type SpawnBwrap = (
  shape: SpareShape,
  argv: readonly string[],
  env: Record<string, string>,
) => ChildProcess;

interface Spare {
  child: ChildProcess;
  key: string;
  dead: boolean;
  idle: NodeJS.Timeout;
}

export class Launcher {
  private spare: Spare | undefined;
  private closed = false;

  constructor(
    private readonly spawnBwrap: SpawnBwrap,
    private readonly trampoline: readonly string[],
    private readonly idleMs = SPARE_IDLE_MS,
  ) {}

  /**
   * The spare, with the job's options written to it, when it fits the job and is intact; undefined
   * otherwise (the caller starts bwrap afresh). Either way the spare is used at most once.
   */
  launch(shape: SpareShape, spec: LaunchSpec): ChildProcess | undefined {
    const spare = this.spare;
    this.spare = undefined;
    if (!spare) return undefined;
    live.delete(this);
    clearTimeout(spare.idle);
    const data = launchData(spec);
    if (data === undefined || spare.key !== shapeKey(shape) || !blockedChild(spare)) {
      kill(spare);
      return undefined;
    }
    const args = (spare.child.stdio as Array<Writable | null>)[ARGS_FD]!;
    spare.child.ref();
    for (const s of spare.child.stdio) (s as { ref?: () => void } | null)?.ref?.();
    args.end(data);
    return spare.child;
  }

  /** Start a spare of `shape` for the next job, unless one is there already. */
  prestart(shape: SpareShape): void {
    if (this.closed || this.spare) return;
    if (!exitHooked) {
      exitHooked = true;
      process.once('exit', () => {
        for (const l of live) l.close();
      });
    }
    let child: ChildProcess;
    try {
      child = this.spawnBwrap(
        { ...shape, stdio: spareStdio(shape.stdio) },
        [shape.bwrap, '--args', String(ARGS_FD), '--', ...this.trampoline],
        {},
      );
    } catch {
      return; // the next job starts its own bwrap and reports what is wrong
    }
    const spare: Spare = {
      child,
      key: shapeKey(shape),
      dead: false,
      idle: setTimeout(() => {
        if (this.spare !== spare) return;
        this.spare = undefined;
        live.delete(this);
        kill(spare);
      }, this.idleMs),
    };
    spare.idle.unref();
    const gone = () => {
      spare.dead = true;
      clearTimeout(spare.idle);
      if (this.spare !== spare) return;
      this.spare = undefined;
      live.delete(this);
    };
    child.once('exit', gone);
    child.once('error', gone);
    const args = (child.stdio as Array<Writable | null>)[ARGS_FD];
    args?.on('error', () => {});
    // An idle spare keeps neither this process nor its event loop alive.
    child.unref();
    for (const s of child.stdio) (s as { unref?: () => void } | null)?.unref?.();
    this.spare = spare;
    live.add(this);
  }

  /** Kill the spare; later jobs start bwrap afresh. */
  close(): void {
    this.closed = true;
    live.delete(this);
    if (this.spare) {
      clearTimeout(this.spare.idle);
      kill(this.spare);
    }
    this.spare = undefined;
  }

  /** For tests: the spare's pid, if one is waiting. */
  sparePid(): number | undefined {
    return this.spare?.dead ? undefined : this.spare?.child.pid;
  }
}

/** The spare's stdio: the job's, plus the options pipe at ARGS_FD. */
function spareStdio(stdio: ReadonlyArray<'pipe' | 'ignore'>): Array<'pipe' | 'ignore'> {
  const out = [...stdio];
  while (out.length < ARGS_FD) out.push('ignore');
  out[ARGS_FD] = 'pipe';
  return out;
}

function shapeKey(shape: SpareShape): string {
  return JSON.stringify([
    shape.bwrap,
    shape.user?.uid ?? null,
    shape.user?.gid ?? null,
    spareStdio(shape.stdio),
  ]);
}

/**
 * The NUL-separated options a spare reads: a cleared environment, the job's, the wrapper's arguments as
 * CODEMESH_ARG_<i>, the profile, and last the end mark (LAUNCH_END). Undefined when something cannot be
 * passed faithfully this way.
 */
export function launchData(spec: LaunchSpec): Buffer | undefined {
  const envEntries = Object.entries(spec.env);
  if (spec.wrapperArgs.length > MAX_WRAPPER_ARGS) return undefined;
  const args: string[] = ['--clearenv'];
  for (const [k, v] of envEntries) {
    // A job's own CODEMESH_ARG* entry would be removed by the trampoline: such a job starts afresh.
    if (k === '' || k.includes('=') || k.startsWith('CODEMESH_ARG')) return undefined;
    args.push('--setenv', k, v);
  }
  args.push('--setenv', 'CODEMESH_ARGC', String(spec.wrapperArgs.length));
  spec.wrapperArgs.forEach((a, i) => {
    args.push('--setenv', `CODEMESH_ARG_${i + 1}`, a);
  });
  args.push(...spec.options);
  // Last: the trampoline runs nothing without it, so options cut short (this process died while writing
  // them) never run the job under part of its profile.
  args.push('--setenv', LAUNCH_END, '1');
  if (args.length > MAX_LAUNCH_ARGS) return undefined;
  // A NUL inside an argument would split it: the rest would be read as options of its own.
  if (args.some((a) => a.includes('\0'))) return undefined;
  return Buffer.from(`${args.join('\0')}\0`);
}

/**
 * Whether the spare is still the process we started, asleep (blocked on its options pipe) and not reaped:
 * `exit` events come asynchronously, /proc/<pid>/stat says it now.
 */
function blockedChild(spare: Spare): boolean {
  const pid = spare.child.pid;
  if (spare.dead || pid === undefined || spare.child.exitCode !== null || spare.child.signalCode !== null) {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] state, fields[1] ppid
    return fields[0] === 'S' && Number(fields[1]) === process.pid;
  } catch {
    return false;
  }
}

function kill(spare: Spare): void {
  spare.dead = true;
  const pid = spare.child.pid;
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // gone already
  }
}
