// Public surface of the sandbox: run a command with a read-only host, one writable directory, no network.
import { BwrapSandbox, type BwrapSandboxOptions } from './bwrap.ts';
import type { Sandbox } from './types.ts';

export { BwrapSandbox, type BwrapSandboxOptions } from './bwrap.ts';
export type { Sandbox, SandboxJob, SandboxResult } from './types.ts';
export { SandboxUnavailableError } from './types.ts';

/**
 * The sandbox for this machine (bubblewrap, with cgroup caps when available).
 *
 * @example
 * const res = await createSandbox().run({ command: ['npm', 'test'], workDir: '/work/wt/task-1', timeoutMs: 120_000 });
 * if (res.timedOut) console.log('killed after 2 min');
 */
export function createSandbox(options?: BwrapSandboxOptions): Sandbox {
  return new BwrapSandbox(options);
}
