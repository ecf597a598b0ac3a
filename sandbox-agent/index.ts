// Public surface of the sandbox: run a command unprivileged, without network, on a size-capped copy of its work
// tree, with only the system directories and the paths it is given visible (read-only).
import { BwrapSandbox, type BwrapSandboxOptions } from './bwrap.ts';
import type { Sandbox } from './types.ts';

export { BwrapSandbox, type BwrapSandboxOptions, DEFAULT_OUTPUTS } from './bwrap.ts';
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
