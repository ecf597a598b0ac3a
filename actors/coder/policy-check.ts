// The policy check of a patch the Coder is about to publish: the task's bundle (default < org < repository),
// the imported OSV data, and the patched worktree as the post-patch files.
import { lstat, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { PolicyReport, SecretFinding } from '../../schemas/index.ts';
import { checkPatch, loadOsv, loadPolicyBundle, PolicyBundleError } from '../policy/index.ts';
import { StepFailure } from '../runtime/ask-json.ts';
import type { StepInput } from '../runtime/types.ts';

/** A file under `root`, or undefined: outside it, a symlink (the model may have written one), or absent. */
function reader(root: string): (path: string) => Promise<string | undefined> {
  return async (path) => {
    const full = join(root, path);
    if (relative(root, full).startsWith('..')) return undefined;
    const st = await lstat(full).catch(() => undefined);
    if (!st?.isFile()) return undefined;
    return readFile(full, 'utf8').catch(() => undefined);
  };
}

/**
 * The report for `diff` (already redacted) written in `worktree`. A bad org or repository bundle fails the
 * step with its message: a policy that cannot be read must not pass patches silently.
 */
export async function policyReport(
  step: StepInput,
  worktree: string,
  diff: string,
  secrets: readonly SecretFinding[] | undefined,
): Promise<PolicyReport> {
  const { task, deps } = step;
  let bundle: Awaited<ReturnType<typeof loadPolicyBundle>>;
  try {
    bundle = await loadPolicyBundle({
      dataDir: deps.dataDir,
      orgId: task.orgId,
      repoPath: task.repoPath,
      baseCommit: task.baseCommit,
    });
  } catch (err) {
    if (err instanceof PolicyBundleError) throw new StepFailure(`policy bundle: ${err.message}`);
    throw err;
  }
  return checkPatch({
    diff,
    read: reader(worktree),
    readInstalled: reader(task.repoPath),
    bundle,
    osv: await loadOsv(deps.dataDir),
    secrets,
  });
}
