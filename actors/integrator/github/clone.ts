// Cloning a GitHub repository that no registered checkout has into the configured clone root. The repository is
// untrusted: git runs with codemesh's hardening (no hooks, no drivers, no credential helpers, no submodules, no
// LFS smudge), only the configured host's protocol is allowed (never file://), objects are fsck'd, the clone is
// made without a checkout and checked out afterwards by the hardened git, and it is bounded in size and time.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { git, gitEnv, hardenedGitConfig } from '../../runtime/git.ts';
import type { GitHub, GitHubCloneSettings, RepoCoords } from './types.ts';

/** The clone did not happen (git failed, or the size or time bound stopped it); nothing is left behind. */
export class CloneError extends Error {
  override readonly name = 'CloneError';
  readonly code = 'CLONE_FAILED';
}

/** The settings do not allow this clone (owner not allowed, a name git paths cannot hold, a target in the way). */
export class CloneRefusedError extends Error {
  override readonly name = 'CloneRefusedError';
  readonly code = 'CLONE_REFUSED';
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const POLL_MS = 200;

/** Whether the clone settings allow `r` (its owner is on `CODEMESH_GITHUB_CLONE_OWNERS`). */
export function mayClone(clone: GitHubCloneSettings | undefined, r: RepoCoords): boolean {
  return !!clone && clone.owners.includes(r.owner.toLowerCase());
}

/** Where `r` is cloned to: `<root>/<owner>/<repo>`, lowercased (GitHub names are case-insensitive). */
export function clonePath(clone: GitHubCloneSettings, r: RepoCoords): string {
  if (
    !NAME.test(r.owner) ||
    !NAME.test(r.repo) ||
    r.repo.endsWith('.') ||
    r.repo.toLowerCase().endsWith('.git')
  )
    throw new CloneRefusedError(`${r.owner}/${r.repo} is not a repository name codemesh clones`);
  return join(clone.root, r.owner.toLowerCase(), r.repo.toLowerCase());
}

async function sizeOf(dir: string): Promise<number> {
  let total = 0;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await sizeOf(p);
    else total += (await lstat(p).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

/** Runs `fn` with a signal that aborts when `dir` grows past `max` bytes, after `ms`, or with `outer`. */
async function bounded<T>(
  dir: string,
  limits: { maxBytes: number; deadline: number },
  outer: AbortSignal | undefined,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const ctl = new AbortController();
  let why: string | undefined;
  const stop = (reason: string) => {
    why ??= reason;
    ctl.abort(new CloneError(reason));
  };
  const onOuter = () => stop('the request was cancelled');
  outer?.addEventListener('abort', onOuter, { once: true });
  let measuring = false;
  const late = () => Date.now() > limits.deadline;
  const TIMEOUT = 'the clone took longer than CODEMESH_GITHUB_CLONE_TIMEOUT_S allows';
  const timer = setInterval(() => {
    if (late()) stop(TIMEOUT);
    if (measuring) return;
    measuring = true;
    void sizeOf(dir)
      .then((n) => {
        if (n > limits.maxBytes)
          stop(`the repository is larger than CODEMESH_GITHUB_CLONE_MAX_MB (${limits.maxBytes >> 20} MB)`);
      })
      .finally(() => {
        measuring = false;
      });
  }, POLL_MS);
  try {
    const r = await fn(ctl.signal);
    // A last measure: a clone that finished between two polls is held to the bounds too.
    if (late()) stop(TIMEOUT);
    if ((await sizeOf(dir)) > limits.maxBytes)
      stop(`the repository is larger than CODEMESH_GITHUB_CLONE_MAX_MB (${limits.maxBytes >> 20} MB)`);
    if (why) throw new CloneError(why);
    return r;
  } catch (err) {
    if (why) throw new CloneError(why);
    throw err;
  } finally {
    clearInterval(timer);
    outer?.removeEventListener('abort', onOuter);
  }
}

/** `git clone` in its own process group, so that stopping it stops its transport helper and index-pack too. */
function runClone(
  args: string[],
  env: Record<string, string>,
  signal: AbortSignal,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn('git', args, { env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < 8192) stderr += c.toString('utf8');
    });
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {}
    };
    if (signal.aborted) kill();
    signal.addEventListener('abort', kill, { once: true });
    child.on('error', (err) => resolve(err.message));
    child.on('close', (code) => {
      signal.removeEventListener('abort', kill);
      resolve(code === 0 ? undefined : stderr.trim() || `git clone exited with ${code}`);
    });
  });
}

/**
 * Clones `r` from the configured GitHub into `<root>/<owner>/<repo>` and returns that path. The credential
 * (`github.gitAuthorization`) reaches git through its environment, scoped to the GitHub host, and is stored
 * nowhere: the clone's remote is the plain URL.
 *
 * @example
 * const path = await cloneRepository(github, { owner: 'acme', repo: 'calc' });
 */
export async function cloneRepository(github: GitHub, r: RepoCoords, signal?: AbortSignal): Promise<string> {
  const clone = github.settings.clone;
  if (!clone || !mayClone(clone, r))
    throw new CloneRefusedError(
      `${r.owner} is not an owner whose repositories codemesh clones (CODEMESH_GITHUB_CLONE_OWNERS)`,
    );
  const dest = clonePath(clone, r);
  if (existsSync(dest))
    throw new CloneRefusedError(
      `${dest} exists but is not a registered checkout of ${r.owner}/${r.repo}; register it or remove it`,
    );
  const web = new URL(github.settings.webUrl);
  const url = `${github.settings.webUrl}/${r.owner}/${r.repo}.git`;
  const header = await github.gitAuthorization(r, signal);
  const secrets = header ? [header, header.replace(/^Basic /, '')] : [];
  const redact = (s: string) => secrets.reduce((t, x) => t.split(x).join('[redacted]'), s).slice(0, 500);
  await mkdir(join(clone.root, r.owner.toLowerCase()), { recursive: true });
  const tmp = await mkdtemp(join(clone.root, r.owner.toLowerCase(), `.clone-${r.repo.toLowerCase()}-`));
  const into = join(tmp, 'repo');
  const template = join(tmp, 'template');
  await mkdir(template);
  const config: Array<[string, string]> = [
    ...hardenedGitConfig().filter(([k]) => !k.startsWith('protocol.')),
    // Only the configured host's scheme: never file://, ext::, ssh to elsewhere (a redirect cannot switch).
    ['protocol.allow', 'never'],
    [`protocol.${web.protocol.replace(':', '')}.allow`, 'always'],
    ['transfer.fsckObjects', 'true'],
    ['http.followRedirects', 'initial'],
    ...(header
      ? ([[`http.${web.origin}/.extraHeader`, `Authorization: ${header}`]] as Array<[string, string]>)
      : []),
  ];
  const limits = { maxBytes: clone.maxBytes, deadline: Date.now() + clone.timeoutMs };
  try {
    await bounded(tmp, limits, signal, async (s) => {
      const failed = await runClone(
        [
          '--no-pager',
          'clone',
          '--quiet',
          '--no-checkout',
          '--no-recurse-submodules',
          `--template=${template}`,
          '--',
          url,
          into,
        ],
        gitEnv({ GIT_LFS_SKIP_SMUDGE: '1', GIT_ALLOW_PROTOCOL: web.protocol.replace(':', '') }, config),
        s,
      );
      if (failed) throw new CloneError(`git clone of ${url} failed: ${redact(failed)}`);
      // The checkout, by the hardened git: filters, hooks and drivers the content might name never run.
      const co = await git(into, ['reset', '--quiet', '--hard', 'HEAD'], {
        allowFail: true,
        signal: s,
        env: { GIT_LFS_SKIP_SMUDGE: '1' },
      });
      if (co.exitCode !== 0)
        throw new CloneError(`the checkout of ${r.owner}/${r.repo} failed: ${redact(co.stderr.trim())}`);
    });
    await rename(into, dest);
    return dest;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
