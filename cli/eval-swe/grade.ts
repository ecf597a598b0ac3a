// Grading one tree the SWE-bench way, in codemesh's sandbox: a plain copy of the tree (git archive), the
// instance's test files reset to the base commit and its test_patch applied, the instance's own test command
// under bubblewrap, the log parsed with the project's parser, and the FAIL_TO_PASS / PASS_TO_PASS verdict.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Sandbox } from '../../sandbox-agent/index.ts';
import type { SweInstance } from './dataset.ts';
import { parseLog, passed } from './log-parsers.ts';
import { planTests } from './test-command.ts';
import { gitEnv, gitSpawnSync } from '../../actors/runtime/git.ts';

export interface GradeOptions {
  inst: SweInstance;
  /** A git repository (work tree or git dir) holding `commit`. */
  gitDir: string;
  /** The tree to grade: the base commit (with `patch`) or the commit codemesh integrated. */
  commit: string;
  /** A diff applied on top of `commit` before the test patch (the gold patch for `--gold`). */
  patch?: string;
  /** PASS_TO_PASS tests that pass with the gold patch here; the others are environment failures. */
  p2pBaseline?: readonly string[];
  sandbox: Sandbox;
  /** Directory with the collections shim (sitecustomize.py). */
  shimDir: string;
  timeoutMs?: number;
  /** Where the full test log is copied (optional). */
  logFile?: string;
  /**
   * A directory of earlier outcomes keyed by the git tree id of the graded tree (see gradedTreeId: every
   * file's path, mode and content after the patches) and the instance's test command: a byte-identical tree
   * is graded once.
   */
  cacheDir?: string;
  /** Run even when `cacheDir` holds this tree's outcome (and replace it). */
  refresh?: boolean;
  signal?: AbortSignal;
}

/** What one run of the instance's tests said, before it is judged against FAIL_TO_PASS / PASS_TO_PASS. */
interface Outcome {
  /** FAIL_TO_PASS and PASS_TO_PASS tests that did not pass. */
  notPassed: string[];
  /** How many tests the log reported. */
  results: number;
  exit_code: number | null;
  timedOut: boolean;
  tail: string;
  test_s: number;
}

export interface GradeResult {
  resolved: boolean;
  f2p_failed: string[];
  p2p_failed: string[];
  /** PASS_TO_PASS tests left out of grading because they fail with the gold patch here. */
  p2p_env: string[];
  /** Set when the tests could not be run or said nothing (patch does not apply, timeout, no results). */
  env_error?: string;
  test_s: number;
  exit_code: number | null;
  /** The outcome came from `cacheDir`: a byte-identical tree was graded before (test_s is that run's). */
  cached?: boolean;
}

/** Paths a unified diff touches (both sides of each `diff --git` header). */
export function diffPaths(diff: string): string[] {
  const out = new Set<string>();
  for (const m of diff.matchAll(/^diff --git a\/(\S+) b\/(\S+)$/gm)) {
    out.add(m[1]!);
    out.add(m[2]!);
  }
  return [...out];
}

export async function grade(o: GradeOptions): Promise<GradeResult> {
  const root = await mkdtemp(join(tmpdir(), 'codemesh-grade-'));
  const tree = join(root, 'tree');
  const started = Date.now();
  const fail = (env_error: string, exit_code: number | null = null): GradeResult => ({
    resolved: false,
    f2p_failed: [...o.inst.FAIL_TO_PASS],
    p2p_failed: [],
    p2p_env: [],
    env_error,
    test_s: (Date.now() - started) / 1000,
    exit_code,
  });
  try {
    const treeId = o.cacheDir ? await gradedTreeId(o, root) : undefined;
    const key = treeId
      ? createHash('sha256')
          .update(
            JSON.stringify([
              treeId,
              o.inst.instance_id,
              o.inst.eval_script,
              o.inst.log_parser,
              o.timeoutMs ?? null,
            ]),
          )
          .digest('hex')
      : undefined;
    const cacheFile = key && o.cacheDir ? join(o.cacheDir, `${key}.json`) : undefined;
    if (cacheFile && !o.refresh && existsSync(cacheFile)) {
      return judge(o, JSON.parse(await readFile(cacheFile, 'utf8')) as Outcome, true);
    }
    await mkdir(tree);
    await exportTree(o.gitDir, o.commit, tree);
    if (o.patch?.trim()) {
      const r = await gitApply(tree, o.patch);
      if (r) return fail(`the patch does not apply: ${r}`);
    }
    // As SWE-bench's eval script does: the test files go back to the base commit before the test patch.
    for (const p of diffPaths(o.inst.test_patch)) {
      const base = await gitShow(o.gitDir, o.inst.base_commit, p);
      const abs = join(tree, p);
      if (base === undefined) await unlink(abs).catch(() => {});
      else {
        await mkdir(dirname(abs), { recursive: true });
        await writeFile(abs, base);
      }
    }
    const tp = await gitApply(tree, o.inst.test_patch);
    if (tp) return fail(`the test patch does not apply: ${tp}`);
    const plan = planTests(o.inst, tree, o.shimDir);
    if (plan.needsShim && !existsSync(join(o.shimDir, 'sitecustomize.py'))) {
      return fail(
        `the compatibility shim is missing (${o.shimDir}/sitecustomize.py): run bash deploy/eval-env.sh`,
      );
    }
    for (const [rel, content] of Object.entries(plan.files)) await writeFile(join(tree, rel), content);
    const log = join(root, 'test.log');
    const res = await o.sandbox.run({
      command: plan.argv,
      workDir: tree,
      env: plan.env,
      timeoutMs: o.timeoutMs ?? 1_800_000,
      memoryMb: 4096,
      logFile: log,
      readOnlyPaths: plan.needsShim ? [o.shimDir] : [],
      signal: o.signal,
    });
    const text = await readFile(log, 'utf8').catch(() => `${res.stdout}\n${res.stderr}`);
    if (o.logFile) {
      await mkdir(dirname(o.logFile), { recursive: true });
      await writeFile(o.logFile, `$ ${plan.argv.join(' ')}\n${text}`);
    }
    const map = parseLog(plan.parser, text);
    const out: Outcome = {
      notPassed: [...o.inst.FAIL_TO_PASS, ...o.inst.PASS_TO_PASS].filter((t) => !passed(map, t)),
      results: map.size,
      exit_code: res.exitCode,
      timedOut: res.timedOut,
      tail: lastLines(text, 3),
      test_s: (Date.now() - started) / 1000,
    };
    // A run cut short (signal) says nothing about the tree: not cached.
    if (cacheFile && !o.signal?.aborted) {
      await mkdir(dirname(cacheFile), { recursive: true });
      await writeFile(cacheFile, `${JSON.stringify(out)}\n`);
    }
    return judge(o, out, false);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** The FAIL_TO_PASS / PASS_TO_PASS verdict on one outcome. */
function judge(o: GradeOptions, out: Outcome, cached: boolean): GradeResult {
  const failing = new Set(out.notPassed);
  const f2p_failed = o.inst.FAIL_TO_PASS.filter((t) => failing.has(t));
  const baseline = o.p2pBaseline ? new Set(o.p2pBaseline) : undefined;
  const p2pAll = o.inst.PASS_TO_PASS.filter((t) => failing.has(t));
  const p2p_failed = baseline ? p2pAll.filter((t) => baseline.has(t)) : p2pAll;
  const p2p_env = baseline ? o.inst.PASS_TO_PASS.filter((t) => !baseline.has(t)) : [];
  const timeoutMs = o.timeoutMs ?? 1_800_000;
  const env_error = out.timedOut
    ? `the tests timed out after ${timeoutMs} ms`
    : out.results === 0
      ? `no test results in the log (exit ${out.exit_code}): ${out.tail}`
      : undefined;
  if (out.timedOut) {
    return {
      resolved: false,
      f2p_failed: [...o.inst.FAIL_TO_PASS],
      p2p_failed: [],
      p2p_env: [],
      env_error: env_error!,
      test_s: out.test_s,
      exit_code: null,
      ...(cached ? { cached } : {}),
    };
  }
  return {
    resolved: !env_error && f2p_failed.length === 0 && p2p_failed.length === 0,
    f2p_failed,
    p2p_failed,
    p2p_env,
    ...(env_error ? { env_error } : {}),
    test_s: out.test_s,
    exit_code: out.exit_code,
    ...(cached ? { cached } : {}),
  };
}

/**
 * The git tree id of the tree grading would test, built in a private index and object directory (the
 * repository is read, never written): `commit`, with `patch`, the test files back at the base commit and the
 * test patch applied. Undefined when git cannot build it (grading then runs without the cache).
 */
export async function gradedTreeId(o: GradeOptions, scratch: string): Promise<string | undefined> {
  const objects = await gitOut(o.gitDir, ['rev-parse', '--path-format=absolute', '--git-path', 'objects']);
  if (!objects) return undefined;
  const env = {
    GIT_INDEX_FILE: join(scratch, 'grade.index'),
    GIT_OBJECT_DIRECTORY: join(scratch, 'objects'),
    GIT_ALTERNATE_OBJECT_DIRECTORIES: objects,
  };
  await mkdir(join(scratch, 'objects'), { recursive: true });
  const g = (args: string[], input?: string) =>
    runGit(o.gitDir, args, { cwd: o.gitDir, env, ...(input !== undefined ? { input } : {}) });
  if ((await g(['read-tree', o.commit])).code !== 0) return undefined;
  const nl = (d: string) => (d.endsWith('\n') ? d : `${d}\n`);
  if (o.patch?.trim() && (await g(['apply', '--cached', '--whitespace=nowarn', '-'], nl(o.patch))).code !== 0)
    return undefined;
  for (const p of diffPaths(o.inst.test_patch)) {
    const ls = (await g(['ls-tree', o.inst.base_commit, '--', p])).stdout.toString('utf8').trim();
    const m = /^(\d+) blob ([0-9a-f]+)\t/.exec(ls);
    const r = m
      ? await g(['update-index', '--add', '--cacheinfo', `${m[1]},${m[2]},${p}`])
      : await g(['update-index', '--force-remove', '--', p]);
    if (r.code !== 0) return undefined;
  }
  if ((await g(['apply', '--cached', '--whitespace=nowarn', '-'], nl(o.inst.test_patch))).code !== 0)
    return undefined;
  const w = await g(['write-tree']);
  return w.code === 0 ? w.stdout.toString('utf8').trim() : undefined;
}

async function gitOut(dir: string, args: string[]): Promise<string | undefined> {
  const r = await runGit(dir, args, { cwd: dir });
  return r.code === 0 ? r.stdout.toString('utf8').trim() : undefined;
}

function lastLines(text: string, n: number): string {
  return text.trim().split('\n').slice(-n).join(' | ').slice(0, 500);
}

/** Runs a process, feeding `input`; resolves with its exit code, stdout and stderr. */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; input?: string | Buffer; env?: Record<string, string>; ownEnv?: boolean },
): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.ownEnv ? opts.env : { ...process.env, GIT_TERMINAL_PROMPT: '0', ...opts.env },
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }),
    );
    if (child.stdin) {
      // A process may exit without reading all of its input (EPIPE): its exit code tells what happened.
      child.stdin.on('error', () => {});
      child.stdin.end(opts.input);
    }
  });
}

/**
 * git hardened as codemesh's own (actors/runtime/git.ts), the repository's config being untrusted: no hooks,
 * fsmonitor, filters, textconv or other drivers, no transport (a partial clone's lazy fetch), no parent env.
 * `dir` is the repository (its drivers are listed and emptied); undefined for a command outside any.
 */
async function runGit(
  dir: string | undefined,
  args: string[],
  opts: { cwd: string; input?: string | Buffer; env?: Record<string, string> },
): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  let safe: { args: string[]; env: Record<string, string> };
  try {
    safe = dir ? gitSpawnSync(dir) : { args: ['--no-pager'], env: gitEnv() };
  } catch (err) {
    return { code: 128, stdout: Buffer.alloc(0), stderr: err instanceof Error ? err.message : String(err) };
  }
  return run('git', [...safe.args, ...args], { ...opts, env: { ...safe.env, ...opts.env }, ownEnv: true });
}

/** The tree of `commit` as plain files in `dest` (no .git): `git archive | tar -x`. */
export async function exportTree(gitDir: string, commit: string, dest: string): Promise<void> {
  const tar = await runGit(gitDir, ['archive', '--format=tar', commit], { cwd: dest });
  if (tar.code !== 0) throw new Error(`git archive ${commit} failed: ${tar.stderr.trim()}`);
  const x = await run('tar', ['-x', '-f', '-', '-C', dest], { cwd: dest, input: tar.stdout });
  if (x.code !== 0) throw new Error(`tar -x failed: ${x.stderr.trim()}`);
}

/** `git apply` in a plain directory; returns the error text, or undefined when it applied. */
export async function gitApply(dir: string, diff: string): Promise<string | undefined> {
  const r = await runGit(undefined, ['apply', '--whitespace=nowarn', '-'], {
    cwd: dir,
    input: diff.endsWith('\n') ? diff : `${diff}\n`,
    // Outside any repository on purpose: git apply then patches the files as they are.
    env: { GIT_CEILING_DIRECTORIES: dirname(dir) },
  });
  return r.code === 0 ? undefined : r.stderr.trim().slice(0, 1000) || `exit ${r.code}`;
}

/** A file's content at `commit`, or undefined when it does not exist there. */
export async function gitShow(gitDir: string, commit: string, path: string): Promise<Buffer | undefined> {
  const r = await runGit(gitDir, ['cat-file', 'blob', `${commit}:${path}`], { cwd: gitDir });
  return r.code === 0 ? r.stdout : undefined;
}
