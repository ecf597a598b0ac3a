// `@anthropic-ai/sandbox-runtime` (srt) as the engine behind the `Sandbox` contract, for the issue 10
// evaluation only: the attack suite runs against it with CODEMESH_SANDBOX_ENGINE=srt and the sandbox bench
// times it with CODEMESH_BENCH_SRT=1. It is not a codemesh dependency (not adopted, see README "Threat
// model"): install it first with `npm i --no-save @anthropic-ai/sandbox-runtime@0.0.78` (and Debian
// `ripgrep`, which srt needs). The job lifecycle is ours (per-job cgroup, timeout, output caps), so what is
// compared is srt's profile: its bwrap arguments, its seccomp helper and its network proxy.
import { spawn } from 'node:child_process';
import { realpath } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { minimalEnv } from '../../sandbox-agent/bwrap.ts';
import { createJobCgroup } from '../../sandbox-agent/cgroup.ts';
import { hostLayout } from '../../sandbox-agent/profile.ts';
import type { Sandbox, SandboxJob, SandboxResult } from '../../sandbox-agent/types.ts';

const PACKAGE = '@anthropic-ai/sandbox-runtime';
const CAP = 256 * 1024;

/** The part of srt's `SandboxManager` used here (typed locally: the package is not installed by default). */
interface SrtManager {
  initialize(config: SrtConfig): Promise<void>;
  wrapWithSandbox(command: string, binShell?: string, custom?: Partial<SrtConfig>): Promise<string>;
  cleanupAfterCommand(): void;
  reset(): Promise<void>;
}
interface SrtConfig {
  network: { allowedDomains: string[]; deniedDomains: string[] };
  filesystem: { denyRead: string[]; allowRead: string[]; allowWrite: string[]; denyWrite: string[] };
}

/** Whether srt is installed (it is not, unless installed with --no-save for this evaluation). */
export function srtInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve(`${PACKAGE}/package.json`);
    return true;
  } catch {
    return false;
  }
}

/**
 * A `Sandbox` whose jobs srt wraps, configured as close to codemesh's profile as srt allows: no network
 * (an empty domain allowlist: `--unshare-net` plus its proxy), every top-level directory read-denied except
 * the system directories, the allowlisted /etc entries, `readOnlyPaths` and the work tree, which is the
 * only writable path (srt binds it: there is no copy).
 */
export async function createSrtSandbox(): Promise<Sandbox & { close(): Promise<void> }> {
  // A computed specifier: typecheck must not need the package.
  const mod = (await import(PACKAGE as string)) as { SandboxManager: SrtManager };
  const srt = mod.SandboxManager;
  const vendor = join(dirname(createRequire(import.meta.url).resolve(`${PACKAGE}/package.json`)), 'vendor');
  const base = hostLayout()
    .filter((e) => e.kind !== 'link')
    .map((e) => e.path);
  await srt.initialize({
    network: { allowedDomains: [], deniedDomains: [] },
    filesystem: { denyRead: ['/'], allowRead: [...base, vendor], allowWrite: [], denyWrite: [] },
  });
  // srt resolves its mandatory denies (.git/hooks, .bashrc, …) against process.cwd(): wraps are serialised.
  let queue: Promise<unknown> = Promise.resolve();
  const wrap = (workDir: string, job: SandboxJob): Promise<string> => {
    const next = queue.then(async () => {
      const cwd = process.cwd();
      process.chdir(workDir);
      try {
        return await srt.wrapWithSandbox(job.command.map(shellQuote).join(' '), 'bash', {
          filesystem: {
            denyRead: ['/'],
            allowRead: [...base, vendor, ...(job.readOnlyPaths ?? []), workDir],
            allowWrite: [workDir],
            denyWrite: [],
          },
        });
      } finally {
        process.chdir(cwd);
      }
    });
    queue = next.catch(() => {});
    return next;
  };

  return {
    async run(job: SandboxJob): Promise<SandboxResult> {
      const workDir = await realpath(job.workDir);
      const started = performance.now();
      const wrapped = await wrap(workDir, job);
      const cgroup = await createJobCgroup({ memoryMb: job.memoryMb ?? 2048, maxProcs: job.maxProcs ?? 512 });
      const cg = typeof cgroup === 'string' ? undefined : cgroup;
      const launcher = cg
        ? [
            '/bin/sh',
            '-c',
            'echo $$ > "$1" && echo $$ > "$2" || exit 125; shift 2; exec "$@"',
            'sh',
            ...cg.procsFiles,
          ]
        : [];
      const argv = [...launcher, '/bin/bash', '-c', wrapped];
      try {
        return await new Promise<SandboxResult>((resolve, reject) => {
          const child = spawn(argv[0]!, argv.slice(1), {
            cwd: workDir,
            env: minimalEnv(job.env),
            detached: true,
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let stdout = Buffer.alloc(0);
          let stderr = Buffer.alloc(0);
          const tail = (b: Buffer, c: Buffer) => {
            const all = Buffer.concat([b, c]);
            return all.length > CAP ? all.subarray(all.length - CAP) : all;
          };
          child.stdout.on('data', (c: Buffer) => {
            stdout = tail(stdout, c);
          });
          child.stderr.on('data', (c: Buffer) => {
            stderr = tail(stderr, c);
          });
          let timedOut = false;
          const timer = setTimeout(() => {
            timedOut = true;
            try {
              if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
            } catch {
              // gone
            }
            void cg?.killAll();
          }, job.timeoutMs);
          child.once('error', (err) => {
            clearTimeout(timer);
            reject(err);
          });
          child.once('close', async (code, signal) => {
            clearTimeout(timer);
            const oomKilled = cg ? await cg.oomKilled() : undefined;
            resolve({
              exitCode: code,
              signal,
              timedOut,
              durationMs: performance.now() - started,
              stdout: stdout.toString('utf8'),
              stderr: stderr.toString('utf8'),
              capsEnforced: cg !== undefined,
              ...(oomKilled === undefined ? {} : { oomKilled }),
            });
          });
        });
      } finally {
        srt.cleanupAfterCommand();
        await cg?.remove();
      }
    },
    close: () => srt.reset(),
  };
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
