// Thin, typed wrappers around the git CLI: worktrees, patches, commits, branches. Every git process codemesh
// starts goes through the hardening here: repository content (its .git/config, hooks, attributes, a worktree's
// `.git` file) is untrusted and must never make git run a program.
import { execFile, execFileSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
} from 'node:fs';
import { chmod, lstat, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

export class GitError extends Error {
  override readonly name = 'GitError';
  readonly code = 'GIT_FAILED';
  constructor(
    readonly args: readonly string[],
    readonly stderr: string,
    readonly exitCode: number | null,
  ) {
    super(`git ${args.join(' ')} failed (${exitCode}): ${stderr.trim().slice(0, 2000)}`);
  }
}

export class RepoNotFoundError extends Error {
  override readonly name = 'RepoNotFoundError';
  readonly code = 'REPO_NOT_FOUND';
}

/** A directory codemesh did not create (or no longer trusts) was given where a codemesh worktree belongs. */
export class UntrustedWorktreeError extends Error {
  override readonly name = 'UntrustedWorktreeError';
  readonly code = 'UNTRUSTED_WORKTREE';
}

export interface GitResult {
  stdout: string;
  stderr: string;
}

/**
 * Config given on the command line (highest precedence) to every git process. Each entry closes a way for
 * repository config to run a program or reach outside: hooks, fsmonitor, ssh/proxy/pager/editor/askpass
 * commands, credential helpers, external diff, signature programs, alternate-refs command, auto gc,
 * submodule recursion, and transports other than file/ssh/http(s) (ext::, remote helpers). An empty value
 * resets a list (credential.helper) or leaves a command unset-and-unrunnable (git fails closed: "cannot run").
 */
const FIXED_CONFIG: ReadonlyArray<readonly [string, string]> = [
  ['core.hooksPath', '/dev/null'],
  ['core.fsmonitor', 'false'],
  ['core.untrackedCache', 'false'],
  ['core.sshCommand', 'ssh'],
  ['ssh.variant', 'ssh'],
  ['core.pager', 'cat'],
  ['core.editor', 'false'],
  ['sequence.editor', 'false'],
  ['core.askPass', ''],
  ['core.attributesFile', '/dev/null'],
  ['core.alternateRefsCommand', 'true'],
  ['credential.helper', ''],
  ['diff.external', ''],
  ['gpg.program', 'false'],
  ['gpg.openpgp.program', 'false'],
  ['gpg.x509.program', 'false'],
  ['gpg.ssh.program', 'false'],
  ['gpg.ssh.defaultKeyCommand', 'false'],
  ['log.showSignature', 'false'],
  ['commit.gpgSign', 'false'],
  ['tag.gpgSign', 'false'],
  ['push.gpgSign', 'false'],
  ['gc.auto', '0'],
  ['maintenance.auto', 'false'],
  ['receive.autogc', 'false'],
  ['receive.denyCurrentBranch', 'refuse'],
  ['submodule.recurse', 'false'],
  ['fetch.recurseSubmodules', 'false'],
  ['push.recurseSubmodules', 'no'],
  ['grep.fallbackToNoIndex', 'false'],
  ['protocol.allow', 'never'],
  ['protocol.file.allow', 'always'],
  ['protocol.ssh.allow', 'always'],
  ['protocol.https.allow', 'always'],
  ['protocol.http.allow', 'always'],
];

/** The fixed hardening above, for a git process that has no repository to list config from yet (a clone). */
export const hardenedGitConfig = (): Array<[string, string]> => FIXED_CONFIG.map(([k, v]) => [k, v]);

/** Per-driver keys that name a program; every driver the effective config defines gets them emptied. */
const DRIVER_KEY = /^(filter|diff|merge)\.(.+)\.(clean|smudge|process|required|command|textconv|driver)$/s;

function driverOverrides(kind: string, name: string): Array<[string, string]> {
  if (kind === 'filter')
    return [
      [`filter.${name}.clean`, ''],
      [`filter.${name}.smudge`, ''],
      [`filter.${name}.process`, ''],
      [`filter.${name}.required`, 'false'],
    ];
  if (kind === 'diff')
    return [
      [`diff.${name}.command`, ''],
      [`diff.${name}.textconv`, ''],
    ];
  return [[`merge.${name}.driver`, '']];
}

let safeHome: string | undefined;
/** An empty private directory for HOME and XDG_CONFIG_HOME, so no user-level git or ssh-agent files apply. */
function home(): string {
  if (!safeHome || !existsSync(safeHome)) {
    safeHome = mkdtempSync(join(tmpdir(), 'codemesh-git-home-'));
    mkdirSync(join(safeHome, '.config'), { mode: 0o700 });
  }
  return safeHome;
}

/**
 * The whole environment of a git process: nothing inherited but PATH (and, for a push, the ssh agent socket),
 * no system or global config, and `config` passed as GIT_CONFIG_COUNT/KEY/VALUE (names are never re-parsed,
 * so a driver name with `=` or spaces cannot smuggle a value).
 */
export function gitEnv(
  extra: Record<string, string> = {},
  config: ReadonlyArray<readonly [string, string]> = FIXED_CONFIG,
): Record<string, string> {
  const h = home();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: h,
    XDG_CONFIG_HOME: join(h, '.config'),
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_SYSTEM: '/dev/null',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ATTR_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_PAGER: 'cat',
    GIT_EDITOR: 'false',
    GIT_AUTHOR_NAME: 'codemesh',
    GIT_AUTHOR_EMAIL: 'codemesh@localhost',
    GIT_COMMITTER_NAME: 'codemesh',
    GIT_COMMITTER_EMAIL: 'codemesh@localhost',
    // No transport at all unless a command names the ones it needs (a push, a clone): a partial clone's lazy
    // fetch of a missing object would otherwise contact the repository's promisor remote, running its
    // `remote.<name>.uploadpack` or an `ext::` command that its config allows with `protocol.ext.allow`
    // (per-protocol keys beat our `protocol.allow=never`; this variable beats all config). GIT_NO_LAZY_FETCH
    // says the same to git ≥ 2.44.
    GIT_ALLOW_PROTOCOL: '',
    GIT_NO_LAZY_FETCH: '1',
    ...extra,
  };
  env.GIT_CONFIG_COUNT = String(config.length);
  config.forEach(([k, v], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = k;
    env[`GIT_CONFIG_VALUE_${i}`] = v;
  });
  return env;
}

/** Options that must be on every git command line (before the subcommand). */
const GLOBAL_ARGS = ['--no-pager', '--no-replace-objects'];

/** Linked worktrees codemesh created in this process: directory → its admin dir in the main repository. */
const worktrees = new Map<string, { gitDir: string; repo: string }>();

/**
 * How git must be pointed at `cwd`: a codemesh worktree is addressed by its admin dir inside the main
 * repository (computed when codemesh created it), never through the worktree's own `.git` file, which
 * anything running in the worktree can rewrite.
 */
function locate(cwd: string, worktree: boolean): string[] {
  const wt = worktrees.get(resolve(cwd));
  if (wt) return [`--git-dir=${wt.gitDir}`, `--work-tree=${resolve(cwd)}`];
  if (!worktree) return [];
  const dotGit = join(cwd, '.git');
  const st = existsSync(dotGit) ? lstatSync(dotGit) : undefined;
  // A repository's own top level (its .git is a real directory) is the repository itself.
  if (st?.isDirectory()) return [`--git-dir=${resolve(dotGit)}`, `--work-tree=${resolve(cwd)}`];
  throw new UntrustedWorktreeError(`${cwd} is not a worktree codemesh created; refusing to run git in it`);
}

/** `origin\0key\nvalue\0` records of `git config --list -z --show-origin`. */
function parseConfigList(out: string): Array<{ origin: string; key: string; value: string }> {
  const parts = out.split('\0');
  const recs: Array<{ origin: string; key: string; value: string }> = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const kv = parts[i + 1]!;
    const nl = kv.indexOf('\n');
    recs.push({
      origin: parts[i]!,
      key: nl < 0 ? kv : kv.slice(0, nl),
      value: nl < 0 ? '' : kv.slice(nl + 1),
    });
  }
  return recs;
}

function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

interface RepoConfig {
  config: Array<[string, string]>;
  /** Files whose change (or appearance) means the listing must be read again. */
  watch: string[];
  /** False when an includeIf condition (branch, remote URL, ...) can flip without any file changing. */
  cacheable: boolean;
}

/**
 * The command-line config for one git run: FIXED_CONFIG plus every filter/diff/merge driver the effective
 * config (all files git will read, includes followed) defines, emptied. A config file included from a
 * codemesh worktree is refused: the test sandbox writes there, so its content could change between this
 * reading and git's own.
 */
function overridesFrom(listing: string, cwd: string): RepoConfig | string {
  const names = new Map<string, [string, string]>();
  const writable = [...worktrees.keys()];
  const watch = new Set<string>();
  let cacheable = true;
  for (const { origin, key, value } of parseConfigList(listing)) {
    let from = cwd;
    if (origin.startsWith('file:')) {
      const file = resolve(cwd, origin.slice(5));
      from = dirname(file);
      watch.add(file);
      const real = existsSync(file) ? realpathSync(file) : file;
      if (writable.some((w) => isInside(w, real)))
        return `repository config includes ${file}, inside a codemesh worktree; remove that include`;
    }
    // An include that does not exist yet is skipped by git: watch for it to appear.
    if (/^include\.path$/i.test(key)) watch.add(resolve(from, value.replace(/^~(?=\/)/, home())));
    if (/^includeif\./i.test(key)) cacheable = false;
    const m = DRIVER_KEY.exec(key);
    if (m) names.set(`${m[1]}\0${m[2]}`, [m[1]!, m[2]!]);
  }
  const config: Array<[string, string]> = [...FIXED_CONFIG.map(([k, v]) => [k, v] as [string, string])];
  for (const [kind, name] of names.values()) config.push(...driverOverrides(kind, name));
  return { config, watch: [...watch], cacheable };
}

/**
 * Listings are cached per (directory, git dir) while none of the files they came from changed (inode, size,
 * mtime and ctime in ns: ctime cannot be set back by a writer). A git spawn costs several ms (far more on a
 * loaded host), and a second one per command doubled codemesh's git time.
 */
const configCache = new Map<string, { repo: RepoConfig; sig: string }>();

function signature(files: string[]): string {
  return files
    .map((f) => {
      try {
        const st = lstatSync(f, { bigint: true });
        return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.mode}`;
      } catch {
        return '-';
      }
    })
    .join('|');
}

/** What, besides the config files, decides which repository git reads at `cwd`; undefined: do not cache. */
function anchors(cwd: string, where: string[]): string[] | undefined {
  const gitDir = where[0]?.startsWith('--git-dir=') ? where[0].slice('--git-dir='.length) : undefined;
  if (gitDir) return [join(gitDir, 'commondir')];
  // Discovery from a repository's own top level: only while its .git stays that very directory.
  const dotGit = join(cwd, '.git');
  try {
    if (lstatSync(dotGit).isDirectory()) return [dotGit];
  } catch {}
  return undefined;
}

function cacheKey(cwd: string, where: string[]): string {
  return JSON.stringify([resolve(cwd), ...where]);
}

function cached(cwd: string, where: string[]): RepoConfig | undefined {
  const hit = configCache.get(cacheKey(cwd, where));
  const extra = anchors(cwd, where);
  if (!hit || !extra) return undefined;
  // A .git directory's own mtime/ctime move with every lock file: only its identity counts.
  const anchorSig = extra.map((f) => (f.endsWith('.git') ? identity(f) : signature([f])));
  return hit.sig === `${anchorSig.join('|')}#${signature(hit.repo.watch)}` ? hit.repo : undefined;
}

function identity(f: string): string {
  try {
    const st = lstatSync(f, { bigint: true });
    return `${st.dev}:${st.ino}:${st.mode}`;
  } catch {
    return '-';
  }
}

function remember(cwd: string, where: string[], repo: RepoConfig, anchorSig: string, since: number): void {
  if (!repo.cacheable) return;
  // A file changed around the listing may have been read before or after the change: do not keep it.
  const recent = BigInt(Math.floor(since - 2000)) * 1_000_000n;
  for (const f of repo.watch) {
    try {
      if (lstatSync(f, { bigint: true }).ctimeNs >= recent) return;
    } catch {}
  }
  if (configCache.size >= 256) configCache.delete(configCache.keys().next().value!);
  configCache.set(cacheKey(cwd, where), { repo, sig: `${anchorSig}#${signature(repo.watch)}` });
}

function anchorSignature(cwd: string, where: string[]): string | undefined {
  const extra = anchors(cwd, where);
  return extra?.map((f) => (f.endsWith('.git') ? identity(f) : signature([f]))).join('|');
}

const LIST_CONFIG = ['config', '--list', '-z', '--show-origin', '--includes'];

/**
 * How long reading the repository's config may take: an include naming a FIFO (or a device) would otherwise
 * block git, and codemesh with it, forever.
 */
export const CONFIG_READ_TIMEOUT_MS = 10_000;

/** The transports a push may use (never ext::, git:// with its proxy command, or a remote helper). */
export const PUSH_PROTOCOLS = 'file:ssh:https:http';

function run(
  cwd: string,
  args: string[],
  env: Record<string, string>,
  opts: { input?: string; signal?: AbortSignal; timeoutMs?: number },
): Promise<GitResult & { exitCode: number }> {
  return new Promise((res, rej) => {
    const child = execFile(
      'git',
      args,
      {
        cwd,
        env,
        maxBuffer: 64 * 1024 * 1024,
        signal: opts.signal,
        ...(opts.timeoutMs ? { timeout: opts.timeoutMs, killSignal: 'SIGKILL' as const } : {}),
      },
      (err, stdout, stderr) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ABORT_ERR') return rej(err);
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        const killed = err && (err as { killed?: boolean }).killed && opts.timeoutMs;
        const why = killed ? `git ${args.join(' ')} took longer than ${opts.timeoutMs} ms; killed\n` : '';
        res({ stdout: String(stdout), stderr: why + String(stderr), exitCode: code });
      },
    );
    // git may exit before reading all of its input (a patch it rejects): that is its answer, not a crash.
    child.stdin?.on('error', () => {});
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

export interface GitOptions {
  input?: string;
  signal?: AbortSignal;
  allowFail?: boolean;
  /** Variables git needs for this command (GIT_INDEX_FILE, ...); nothing else of the parent's env reaches git. */
  env?: Record<string, string>;
  /** `cwd` must be a worktree codemesh created (or a repository's own top level); refuse anything else. */
  worktree?: boolean;
  /** Settings for this command only, after the hardened ones (e.g. a push's host-scoped auth header). */
  config?: ReadonlyArray<readonly [string, string]>;
}

/** Runs git, hardened; retries briefly when another process holds one of git's lock files. */
export async function git(
  cwd: string,
  args: string[],
  opts: GitOptions = {},
): Promise<GitResult & { exitCode: number }> {
  const where = locate(cwd, opts.worktree ?? false);
  const fail = (stderr: string) => {
    if (!opts.allowFail) throw new GitError(args, stderr, 128);
    return { stdout: '', stderr, exitCode: 128 };
  };
  for (let attempt = 0; ; attempt++) {
    let repo = cached(cwd, where);
    if (!repo) {
      // Taken before listing: a change made while git lists is then seen by the next call.
      const anchorSig = anchorSignature(cwd, where);
      const since = Date.now();
      const listed = await run(cwd, [...GLOBAL_ARGS, ...where, ...LIST_CONFIG], gitEnv(), {
        ...(opts.signal ? { signal: opts.signal } : {}),
        timeoutMs: CONFIG_READ_TIMEOUT_MS,
      });
      if (listed.exitCode !== 0) return fail(listed.stderr);
      const read = overridesFrom(listed.stdout, cwd);
      if (typeof read === 'string') return fail(read);
      repo = read;
      if (anchorSig !== undefined) remember(cwd, where, repo, anchorSig, since);
    }
    const config = opts.config ? [...repo.config, ...opts.config] : repo.config;
    const r = await run(cwd, [...GLOBAL_ARGS, ...where, ...args], gitEnv(opts.env, config), opts);
    if (
      r.exitCode !== 0 &&
      /\.lock'?: File exists|could not lock|Unable to create .*\.lock/i.test(r.stderr) &&
      attempt < 20
    ) {
      await new Promise((s) => setTimeout(s, 20 + Math.random() * 50));
      continue;
    }
    if (r.exitCode !== 0 && !opts.allowFail) throw new GitError(args, r.stderr, r.exitCode);
    return r;
  }
}

/**
 * The same hardening for a synchronous or streaming git process (the Curator's readers): arguments to put
 * before the subcommand and the whole environment. Throws GitError when the repository config is refused.
 */
export function gitSpawnSync(repo: string): { args: string[]; env: Record<string, string> } {
  let listing: string;
  try {
    listing = execFileSync('git', ['-C', repo, ...GLOBAL_ARGS, ...LIST_CONFIG], {
      env: gitEnv(),
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: CONFIG_READ_TIMEOUT_MS,
      killSignal: 'SIGKILL',
    });
  } catch (err) {
    throw new GitError(LIST_CONFIG, String((err as { stderr?: unknown }).stderr ?? ''), 128);
  }
  const read = overridesFrom(listing, repo);
  if (typeof read === 'string') throw new GitError(LIST_CONFIG, read, 128);
  return { args: ['-C', repo, ...GLOBAL_ARGS], env: gitEnv({}, read.config) };
}

/** The top-level directory of the git repository at `path`, or a RepoNotFoundError naming the problem. */
export async function resolveRepo(path: string): Promise<string> {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new RepoNotFoundError(`repository path ${abs} does not exist`);
  if (!statSync(abs).isDirectory()) throw new RepoNotFoundError(`repository path ${abs} is not a directory`);
  const r = await git(abs, ['rev-parse', '--show-toplevel'], { allowFail: true });
  if (r.exitCode !== 0)
    throw new RepoNotFoundError(`${abs} is not a git repository (git init it, or pass --repo)`);
  return r.stdout.trim();
}

export async function resolveCommit(repo: string, ref = 'HEAD'): Promise<string> {
  const r = await git(repo, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { allowFail: true });
  if (r.exitCode !== 0) throw new RepoNotFoundError(`${ref} is not a commit in ${repo}`);
  return r.stdout.trim();
}

/**
 * Codemesh's worktrees are `<dataDir>/work/<name>`; anything else (the repository, a path inside it or its
 * .git, a symlink) is refused before a worktree is made there or removed from there.
 */
function checkWorkDir(repo: string, dir: string): string {
  const abs = resolve(dir);
  const name = basename(abs);
  if (basename(dirname(abs)) !== 'work' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name))
    throw new UntrustedWorktreeError(`${abs} is not a codemesh work directory (<dataDir>/work/<name>)`);
  const realRepo = existsSync(repo) ? realpathSync(repo) : resolve(repo);
  const parent = existsSync(dirname(abs)) ? join(realpathSync(dirname(abs)), name) : abs;
  if (isInside(parent, realRepo) || isInside(join(realRepo, '.git'), parent))
    throw new UntrustedWorktreeError(`${abs} would hold or lie inside the repository's .git; refusing`);
  if (lstatExists(abs)) {
    const st = lstatSync(abs);
    if (st.isSymbolicLink() || !st.isDirectory())
      throw new UntrustedWorktreeError(`${abs} is not a plain directory; refusing to use it as a worktree`);
  }
  return abs;
}

function lstatExists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

async function commonDir(repo: string): Promise<string> {
  return (await git(repo, ['rev-parse', '--path-format=absolute', '--git-common-dir'])).stdout.trim();
}

/** The admin dir (`<common>/worktrees/<id>`) whose `gitdir` file names `dir`, read on the repository's side. */
function adminDirOf(common: string, dir: string): string | undefined {
  const want = join(realpathSync(dir), '.git');
  const root = join(common, 'worktrees');
  if (!existsSync(root)) return undefined;
  for (const id of readdirSync(root)) {
    const f = join(root, id, 'gitdir');
    if (existsSync(f) && readFileSync(f, 'utf8').trim() === want) return join(root, id);
  }
  return undefined;
}

/** Adds a detached worktree, first clearing a leftover one at `dir` (a step re-run after a crash). */
export async function addWorktree(repo: string, dir: string, commit: string): Promise<void> {
  const abs = checkWorkDir(repo, dir);
  if (lstatExists(abs)) await removeWorktree(repo, abs);
  const add = ['worktree', 'add', '--force', '--detach', abs, commit];
  const r = await git(repo, add, { allowFail: true });
  if (r.exitCode !== 0) {
    // A worktree whose folder vanished still holds its registration: prune and try once more.
    await git(repo, ['worktree', 'prune']);
    await git(repo, add);
  }
  const gitDir = adminDirOf(await commonDir(repo), abs);
  if (!gitDir) throw new GitError(add, `the new worktree ${abs} is not registered in ${repo}`, null);
  worktrees.set(abs, { gitDir, repo });
}

/** Deletes a codemesh worktree directory whatever is inside it (its `.git` file is never consulted). */
export async function removeWorktree(repo: string, dir: string): Promise<void> {
  const abs = checkWorkDir(repo, dir);
  worktrees.delete(abs);
  if (lstatExists(abs)) await rmForce(abs);
  await git(repo, ['worktree', 'prune'], { allowFail: true });
}

/** rm -rf, also through directories the sandboxed tests made unwritable (symlinks are removed, not followed). */
async function rmForce(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true, maxRetries: 2 });
    return;
  } catch {
    const open = async (d: string): Promise<void> => {
      await chmod(d, 0o700).catch(() => {});
      for (const e of await readdir(d, { withFileTypes: true }).catch(() => []))
        if (e.isDirectory()) await open(join(d, e.name));
    };
    if ((await lstat(dir)).isDirectory()) await open(dir);
    await rm(dir, { recursive: true, force: true, maxRetries: 2 });
  }
}

/** The `diff --git` sections of a unified diff whose path (either side) passes `keep`, joined. */
export function diffSections(diff: string, keep: (path: string) => boolean): string {
  return diff
    .split(/^(?=diff --git )/m)
    .filter((sec) => {
      const m = /^diff --git a\/(\S+) b\/(\S+)/.exec(sec);
      return m ? keep(m[2]!) || keep(m[1]!) : false;
    })
    .join('');
}

/**
 * The lines a unified diff adds, by new-side path, as new-file line numbers (deleted files have none).
 *
 * @example addedLines('diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -1,2 +1,3 @@\n a\n+b\n c\n')
 * // Map { 'm.py' => [2] }
 */
export function addedLines(diff: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  let file: string | undefined;
  let line = 0;
  let inHunk = false;
  for (const l of diff.split('\n')) {
    if (l.startsWith('diff --git ')) {
      file = undefined;
      inHunk = false;
      continue;
    }
    if (!inHunk && l.startsWith('+++ ')) {
      file = l === '+++ /dev/null' ? undefined : l.slice(4).replace(/^b\//, '');
      continue;
    }
    const h = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(l);
    if (h) {
      line = Number(h[1]);
      inHunk = true;
      continue;
    }
    if (!inHunk || file === undefined) continue;
    if (l.startsWith('+')) {
      out.set(file, [...(out.get(file) ?? []), line]);
      line++;
    } else if (l.startsWith(' ')) line++;
  }
  return out;
}

/** Applies a unified diff to a worktree; with `threeWay` it may merge onto a moved base. */
export async function applyPatch(
  dir: string,
  diff: string,
  opts: { threeWay?: boolean } = {},
): Promise<void> {
  const args = ['apply', '--whitespace=nowarn', ...(opts.threeWay ? ['--3way'] : []), '-'];
  await git(dir, args, { input: diff, worktree: true });
}

export async function branchCommit(repo: string, branch: string): Promise<string | undefined> {
  const r = await git(repo, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], {
    allowFail: true,
  });
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

export async function headCommit(dir: string): Promise<string> {
  return (await git(dir, ['rev-parse', 'HEAD'], { worktree: true })).stdout.trim();
}

/**
 * `--receive-pack` for a push: a local remote's receive-pack runs on this host with that repository's config
 * (git clears command-line config for local transports), so it gets the hooks/fsmonitor/gc switches on its own
 * command line; a remote reached over ssh gets the plain program, overriding `remote.<name>.receivepack`.
 */
export function receivePackFor(url: string): string {
  const ssh = /^(ssh|git\+ssh|ssh\+git):\/\//i.test(url) || /^[^/:]+:(?!\/\/)/.test(url);
  if (/^https?:\/\//i.test(url) || (ssh && !/^file:/i.test(url))) return 'git-receive-pack';
  const local = [
    'core.hooksPath=/dev/null',
    'core.fsmonitor=false',
    'core.alternateRefsCommand=true',
    'receive.autogc=false',
    'receive.denyCurrentBranch=refuse',
    'gc.auto=0',
  ];
  return `git ${local.map((c) => `-c ${c}`).join(' ')} receive-pack`;
}
