// The policy check of a patch the Coder is about to publish: the task's bundle (default < org < repository),
// the imported OSV data, and the patched worktree as the post-patch files.
import { lstat, readdir, realpath } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { PolicyReport, SecretFinding } from '../../schemas/index.ts';
import { checkPatch, loadOsv, loadPolicyBundle, PolicyBundleError } from '../policy/index.ts';
import { StepFailure } from '../runtime/ask-json.ts';
import { git } from '../runtime/git.ts';
import { readTreeFile } from '../runtime/read-tree-file.ts';
import type { StepInput } from '../runtime/types.ts';

type Read = (path: string) => Promise<string | undefined>;

/** The largest post-patch or installed file the policy check reads. */
export const MAX_POLICY_READ_BYTES = 64 * 1024 * 1024;

/**
 * A regular file under `root`, or undefined: absent, a symlink, or reached through one that leads out of `root`
 * (the model may have written either).
 */
export function worktreeReader(root: string): Read {
  return async (path) => {
    const full = join(root, path);
    const st = await lstat(full).catch(() => undefined);
    if (!st?.isFile()) return undefined;
    const [top, real] = await Promise.all([realpath(root), realpath(full)]).catch(() => ['', '..']);
    const rel = relative(top, real);
    if (!top || rel.startsWith('..') || rel.startsWith('/')) return undefined;
    // Opened without following a link swapped in since, and only up to the cap (the model or the repository
    // may have written a huge file; the checks read manifests and sources, far smaller).
    return readTreeFile(top, rel.split(sep).join('/'), MAX_POLICY_READ_BYTES);
  };
}

/**
 * The entry names of a directory under `root` (at most 5,000), or undefined: absent, not a directory, or reached
 * through a symlink that leads out of `root`.
 */
export function worktreeLister(root: string): (dir: string) => Promise<string[] | undefined> {
  return async (dir) => {
    const full = join(root, dir);
    const [top, real] = await Promise.all([realpath(root), realpath(full)]).catch(() => ['', '..']);
    const rel = relative(top, real);
    if (!top || rel.startsWith('..') || rel.startsWith('/')) return undefined;
    const entries = await readdir(full).catch(() => undefined);
    return entries?.slice(0, 5000);
  };
}

/** A regular file of a git tree (a merged patch's), or undefined. */
export function treeReader(repo: string, tree: string): Read {
  return async (path) => {
    const r = await git(repo, ['cat-file', '-p', `${tree}:${path}`], { allowFail: true });
    return r.exitCode === 0 ? r.stdout : undefined;
  };
}

/**
 * The report for `diff` (already redacted), its post-patch files read with `read` (a worktree, a merged tree).
 * A bad org or repository bundle, or bad imported OSV data, fails the step with its message: a policy that
 * cannot be read must not pass patches silently.
 */
export async function policyReport(
  step: StepInput,
  read: Read,
  diff: string,
  secrets: readonly SecretFinding[] | undefined,
): Promise<PolicyReport> {
  const { task, deps } = step;
  let bundle: Awaited<ReturnType<typeof loadPolicyBundle>>;
  let osv: Awaited<ReturnType<typeof loadOsv>>;
  try {
    bundle = await loadPolicyBundle({
      dataDir: deps.dataDir,
      orgId: task.orgId,
      repoPath: task.repoPath,
      baseCommit: task.baseCommit,
      board: step.mesh.board,
    });
    osv = await loadOsv(deps.dataDir);
  } catch (err) {
    if (err instanceof PolicyBundleError) throw new StepFailure(`policy: ${err.message}`);
    throw err;
  }
  return checkPatch({
    diff,
    read,
    readInstalled: worktreeReader(task.repoPath),
    listInstalled: worktreeLister(task.repoPath),
    readBase: treeReader(task.repoPath, task.baseCommit),
    bundle,
    osv,
    secrets,
  });
}
