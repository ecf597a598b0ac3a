// Git side of integration: pick the base to build on, apply the patch (3-way), commit, move the branch.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Patch, PathLock, TaskRecord } from '../../schemas/index.ts';
import { branchCommit, git, PUSH_PROTOCOLS, receivePackFor } from '../runtime/git.ts';

export class IntegrationConflictError extends Error {
  override readonly name = 'IntegrationConflictError';
  readonly code = 'INTEGRATION_CONFLICT';
  constructor(
    message: string,
    readonly detail: { onto: string; otherTasks: string[] },
  ) {
    super(message);
  }
}

export const branchFor = (taskId: string) => `codemesh/${taskId}`;

async function isAncestor(repo: string, a: string, b: string): Promise<boolean> {
  return (await git(repo, ['merge-base', '--is-ancestor', a, b], { allowFail: true })).exitCode === 0;
}

/**
 * The commit to build on: the task's base, or the newest codemesh commit that changed one of its paths since.
 * Two such commits on diverging lines cannot both be built on: that is a conflict. A lock whose last commit
 * is not in the repository (the path was re-created with `git init`, or the commit was pruned) is stale: it
 * says nothing about this repository's history and is ignored.
 */
export async function chooseBase(
  repo: string,
  baseCommit: string,
  locks: PathLock[],
): Promise<{ base: string; after: string[] }> {
  const others = new Map<string, string>();
  for (const l of locks) if (l.lastCommit && l.lastTask) others.set(l.lastCommit, l.lastTask);
  let base = baseCommit;
  const after: string[] = [];
  for (const [commit, task] of [...others]) {
    const known = await git(repo, ['cat-file', '-e', `${commit}^{commit}`], { allowFail: true });
    if (known.exitCode !== 0) {
      others.delete(commit);
      continue;
    }
    if (await isAncestor(repo, commit, base)) continue;
    if (await isAncestor(repo, base, commit)) {
      base = commit;
      after.push(task);
      continue;
    }
    throw new IntegrationConflictError(`changes of ${task} and of an earlier task diverge on these paths`, {
      onto: base,
      otherTasks: [...others.values()],
    });
  }
  return { base, after };
}

/** Message trailers make a retried integration recognise its own commit. */
export function commitMessage(task: TaskRecord, patch: Patch, extra: string[]): string {
  return [
    task.request.title,
    '',
    task.request.description.slice(0, 2000),
    '',
    ...extra,
    `Codemesh-Task: ${task.id}`,
    `Codemesh-Patch: ${patch.id}`,
  ].join('\n');
}

/** The commit of a previous run of this integration, if the branch already carries it. */
export async function existingIntegration(
  repo: string,
  task: TaskRecord,
  patch: Patch,
): Promise<string | undefined> {
  const tip = await branchCommit(repo, branchFor(task.id));
  if (!tip) return undefined;
  const msg = (await git(repo, ['log', '-1', '--format=%B', tip])).stdout;
  if (msg.includes(`Codemesh-Patch: ${patch.id}`)) return tip;
  // The Doc Writer's commit follows the code commit: the code commit is its parent.
  if (msg.includes(`Codemesh-Docs: ${docsIdOf(patch.id)}`))
    return (await git(repo, ['rev-parse', `${tip}~1`])).stdout.trim();
  return undefined;
}

/** The id of the Doc Writer's patch for a code patch (schemas/docs.ts). */
export const docsIdOf = (patchId: string) => `${patchId}-docs`;

/** The documentation commit's message: its own trailer, so a retried integration recognises it. */
export function docsCommitMessage(task: TaskRecord, patchId: string, names: string[]): string {
  return [
    `docs: bring the documentation of ${names.join(', ') || 'the change'} in line with the code`,
    '',
    `Written by the codemesh Doc Writer for patch ${patchId}.`,
    '',
    `Codemesh-Task: ${task.id}`,
    `Codemesh-Docs: ${docsIdOf(patchId)}`,
  ].join('\n');
}

/**
 * The patch as a commit on its own base, with no branch moved: what a draft pull request shows while the task
 * waits at the gate (integration later builds its own commit, maybe on a newer base).
 */
export async function proposedCommit(opts: {
  repo: string;
  patch: Patch;
  workDir: string;
  message: string;
}): Promise<string> {
  const { repo, patch } = opts;
  await mkdir(opts.workDir, { recursive: true });
  const index = join(opts.workDir, `index-proposed-${patch.id}-${process.pid}-${Date.now()}`);
  const env = { GIT_INDEX_FILE: index };
  try {
    await git(repo, ['read-tree', patch.baseCommit], { env });
    await git(repo, ['apply', '--cached', '--whitespace=nowarn', '-'], { input: patch.diff, env });
    const tree = (await git(repo, ['write-tree'], { env })).stdout.trim();
    return (
      await git(repo, ['commit-tree', tree, '-p', patch.baseCommit], { input: opts.message })
    ).stdout.trim();
  } finally {
    await rm(index, { force: true });
  }
}

/**
 * Builds the commit with git plumbing on a private index (no checkout): read the base tree, apply the patch
 * to the index (3-way when the base moved), write the tree, commit it, move the branch with compare-and-set.
 */
export async function commitPatch(opts: {
  task: TaskRecord;
  patch: Patch;
  base: string;
  workDir: string;
  message: string;
}): Promise<string> {
  const { task, patch } = opts;
  const repo = task.repoPath;
  await mkdir(opts.workDir, { recursive: true });
  const index = join(opts.workDir, `index-${task.id}-${process.pid}-${Date.now()}`);
  const env = { GIT_INDEX_FILE: index };
  try {
    await git(repo, ['read-tree', opts.base], { env });
    const threeWay = opts.base !== patch.baseCommit;
    const applied = await git(
      repo,
      ['apply', '--cached', '--whitespace=nowarn', ...(threeWay ? ['--3way'] : []), '-'],
      {
        input: patch.diff,
        env,
        allowFail: true,
      },
    );
    const unmerged = (await git(repo, ['ls-files', '-u'], { env })).stdout.trim();
    if (applied.exitCode !== 0 || unmerged) {
      const files = [
        ...new Set(
          unmerged
            .split('\n')
            .filter(Boolean)
            .map((l) => l.split('\t')[1]),
        ),
      ];
      throw new IntegrationConflictError(
        files.length
          ? `patch ${patch.id} conflicts with ${opts.base.slice(0, 12)} in ${files.join(', ')}`
          : `patch ${patch.id} does not apply onto ${opts.base.slice(0, 12)}: ${applied.stderr.trim()}`,
        { onto: opts.base, otherTasks: [] },
      );
    }
    const tree = (await git(repo, ['write-tree'], { env })).stdout.trim();
    const commit = (
      await git(repo, ['commit-tree', tree, '-p', opts.base], { input: opts.message })
    ).stdout.trim();
    // Only codemesh/* refs are ever written; the old value guards against a concurrent writer.
    const ref = `refs/heads/${branchFor(task.id)}`;
    const old = (await branchCommit(repo, branchFor(task.id))) ?? '';
    // An all-zero old value means "must not exist yet".
    await git(repo, ['update-ref', ref, commit, old || '0'.repeat(40)]);
    return commit;
  } finally {
    await rm(index, { force: true });
  }
}

/**
 * Pushes the branch (or the commit `from`, to that branch name) when the repository has a remote; returns what
 * happened, never throws. A codemesh/* branch is pushed forced: codemesh owns it, and the draft commit a pull
 * request shows at the gate is replaced by the integrated one (maybe rebased onto other tasks' changes).
 */
/**
 * The credential for a push to one of `urls`, scoped to its web origin (`https://github.example.com`): sent
 * as an `Authorization` header to that origin only, through git's environment (never on the command line or
 * in `.git/config`). Undefined: push without one (ssh with an agent, a file remote).
 */
export type PushAuth = (urls: string[]) => Promise<{ origin: string; header: string } | undefined>;

export async function pushBranch(
  repo: string,
  branch: string,
  opts: { from?: string; auth?: PushAuth } = {},
): Promise<{ pushed: boolean; remote?: string; error?: string }> {
  const remotes = (await git(repo, ['remote'])).stdout.split('\n').filter(Boolean);
  const remote = remotes.includes('origin') ? 'origin' : remotes[0];
  if (!remote) return { pushed: false };
  const urls = (await git(repo, ['remote', 'get-url', '--push', '--all', remote], { allowFail: true })).stdout
    .split('\n')
    .filter(Boolean);
  // One receive-pack for all push URLs: the hardened local one as soon as any URL is not ssh/http(s).
  const packs = new Set(urls.map(receivePackFor));
  const receivePack = packs.size === 1 ? [...packs][0]! : receivePackFor('.');
  const sshAgent = process.env.SSH_AUTH_SOCK;
  const auth = await opts.auth?.(urls).catch(() => undefined);
  const r = await git(
    repo,
    [
      'push',
      '--quiet',
      '--no-verify',
      '--no-signed',
      '--no-recurse-submodules',
      `--receive-pack=${receivePack}`,
      remote,
      `${branch.startsWith('codemesh/') ? '+' : ''}${opts.from ?? `refs/heads/${branch}`}:refs/heads/${branch}`,
    ],
    {
      allowFail: true,
      env: { GIT_ALLOW_PROTOCOL: PUSH_PROTOCOLS, ...(sshAgent ? { SSH_AUTH_SOCK: sshAgent } : {}) },
      ...(auth && {
        config: [
          [`http.${auth.origin}/.extraHeader`, `Authorization: ${auth.header}`],
          // A redirect must not carry the header to another host.
          ['http.followRedirects', 'false'],
        ],
      }),
    },
  );
  const secrets = auth ? [auth.header, auth.header.replace(/^\w+ /, '')] : [];
  const error = secrets.reduce((t, x) => t.split(x).join('[redacted]'), r.stderr.trim()).slice(0, 500);
  return r.exitCode === 0 ? { pushed: true, remote } : { pushed: false, remote, error };
}

export const rollbackBranchFor = (taskId: string) => `codemesh/${taskId}-rollback`;

/**
 * Reverts `commit` on a new branch `codemesh/<task>-rollback` (plumbing on a private index, no checkout).
 * Idempotent: a branch that already carries the revert is returned as it is.
 */
export async function revertOnNewBranch(opts: {
  repo: string;
  taskId: string;
  commit: string;
  workDir: string;
}): Promise<{ branch: string; commit: string }> {
  const { repo, commit } = opts;
  const branch = rollbackBranchFor(opts.taskId);
  const tip = await branchCommit(repo, branch);
  if (
    tip &&
    (await git(repo, ['log', '-1', '--format=%B', tip])).stdout.includes(`Codemesh-Revert: ${commit}`)
  )
    return { branch, commit: tip };
  await mkdir(opts.workDir, { recursive: true });
  const index = join(opts.workDir, `index-rollback-${opts.taskId}-${process.pid}-${Date.now()}`);
  const env = { GIT_INDEX_FILE: index };
  try {
    const diff = (
      await git(repo, ['diff', '--binary', '--no-ext-diff', '--no-textconv', `${commit}~1`, commit])
    ).stdout;
    await git(repo, ['read-tree', commit], { env });
    if (diff.trim())
      await git(repo, ['apply', '--cached', '-R', '--whitespace=nowarn', '-'], { input: diff, env });
    const tree = (await git(repo, ['write-tree'], { env })).stdout.trim();
    const subject = (await git(repo, ['log', '-1', '--format=%s', commit])).stdout.trim();
    const message = `Revert "${subject}"\n\nThis reverts commit ${commit}.\n\nCodemesh-Task: ${opts.taskId}\nCodemesh-Revert: ${commit}\n`;
    const revert = (await git(repo, ['commit-tree', tree, '-p', commit], { input: message })).stdout.trim();
    await git(repo, ['update-ref', `refs/heads/${branch}`, revert, tip ?? '0'.repeat(40)]);
    return { branch, commit: revert };
  } finally {
    await rm(index, { force: true });
  }
}
