// `codemesh eval swe`: SWE-bench instances through the whole mesh (or the gold patches alone), graded in the
// sandbox, summarised as resolution rate, pass@k, tokens, cost and timings.
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Roles, startEmbedded } from '../../actors/mesh.ts';
import { REPLAY_MODEL, type ReplayServer, startReplayServer } from '../../actors/llm/replay.ts';
import { connectMesh, type MeshConnection } from '../../blackboard/index.ts';
import { type CalibratedConfidence, keys, Review, TaskRecord } from '../../schemas/index.ts';
import type { Sandbox } from '../../sandbox-agent/index.ts';
import { repoDir, type SweInstance } from './dataset.ts';
import { type GradeResult, grade, gitShow } from './grade.ts';
import { freshClone, type MeshRunResult, runThroughMesh } from './mesh-run.ts';

export type Provider = 'replay' | 'env';

/**
 * The embedded mesh's settings for an eval: `testTimeoutMs` caps the Tester's runs inside the mesh as well as
 * the grading runs (before, it reached only the grading: the mesh's tests kept the 300 s default).
 */
export function meshOptions(
  o: Pick<EvalSweOptions, 'sandbox' | 'testTimeoutMs'>,
  rest: Omit<Parameters<typeof startEmbedded>[0], 'sandbox' | 'testTimeoutMs'>,
): Parameters<typeof startEmbedded>[0] {
  return { ...rest, sandbox: o.sandbox, ...(o.testTimeoutMs ? { testTimeoutMs: o.testTimeoutMs } : {}) };
}

export interface EvalSweOptions {
  instances: SweInstance[];
  repos: string;
  provider: Provider;
  /** Grade the gold patches only (the environment baseline). */
  gold?: boolean;
  k?: number;
  concurrency?: number;
  /** State: gold baselines, clones, the mesh's store, test logs. */
  home: string;
  shimDir: string;
  sandbox: Sandbox;
  /** Model settings for `env` (CODEMESH_LLM_*). */
  env?: Record<string, string | undefined>;
  taskTimeoutMs?: number;
  testTimeoutMs?: number;
  /** The grading's test runs (default: `testTimeoutMs`). */
  gradeTimeoutMs?: number;
  maxAttempts?: number;
  /** k candidate patches per task, chosen inside the mesh (`--candidates`); distinct from `k` attempts. */
  candidates?: number;
  keep?: boolean;
  /**
   * The replay answers with the gold fix alone, without the tests that came with it upstream (default: with
   * them, as the whole pull request — see `ReplayCase.tests`).
   */
  replayFixOnly?: boolean;
  log?: (line: string) => void;
  /**
   * Rows finished before (a `--resume` of a run cut short): their instances are not run again and their rows
   * go into this report as they are.
   */
  done?: InstanceRow[];
  /**
   * Interrupts the run (Ctrl-C): no instance starts after it, the running ones stop being followed and are
   * left out of the report, the mesh stops; the report holds what was finished.
   */
  signal?: AbortSignal;
  /** Each row as soon as its instance is finished (e.g. appended to a JSON-lines file). */
  onRow?: (row: InstanceRow) => Promise<void> | void;
}

export interface AttemptRow {
  resolved: boolean;
  f2p_failed: string[];
  p2p_failed: string[];
  p2p_env: string[];
  env_error?: string;
  status?: MeshRunResult['status'];
  reason?: string;
  task_id?: string;
  model_patch: string;
  tokens: number;
  cost_usd: number;
  wall_s: number;
  verdict_s?: number;
  /** Patch → first verdict (the primary tests' when the selection ran in two stages). */
  first_verdict_s?: number;
  steps: Record<string, number>;
  /** Graded from the outcome of a byte-identical tree graded before (usually the gold run's). */
  grade_cached?: boolean;
  /** The last review's confidence (raw and calibrated, with its features): `codemesh calibrate --rows` input. */
  confidence?: CalibratedConfidence;
}

export interface InstanceRow extends AttemptRow {
  instance_id: string;
  /** Whether the gold patch resolves the instance here (undefined when not graded). */
  gold_ok?: boolean;
  /** Every attempt, when k > 1. */
  attempts?: AttemptRow[];
}

export interface EvalSweReport {
  mode: 'gold' | Provider;
  n: number;
  k: number;
  resolved: number;
  resolved_pct: number;
  gold_ok?: number;
  pass_at_k: Record<string, number>;
  tokens_mean: number;
  cost_usd_mean: number;
  wall_s_p50: number;
  wall_s_p95: number;
  verdict_s_p50?: number;
  verdict_s_p95?: number;
  first_verdict_s_p50?: number;
  first_verdict_s_p95?: number;
  /** Attempts graded from the outcome of a byte-identical tree graded before (no test run of their own). */
  grade_cached: number;
  /** Attempts whose task abstained (k candidates, none earned selection): nothing proposed, not resolved. */
  abstained: number;
  instances: InstanceRow[];
}

/**
 * Where `deploy/eval-env.sh` puts the shim: `CODEMESH_EVAL_SHIM`, else the user's cache; as root a system
 * directory, because the sandbox runs tests as an unprivileged user who cannot read `/root`.
 */
export function defaultShimDir(
  env: Record<string, string | undefined> = process.env,
  uid: number | undefined = process.getuid?.(),
): string {
  if (env.CODEMESH_EVAL_SHIM) return env.CODEMESH_EVAL_SHIM;
  if (uid === 0) return '/usr/local/share/codemesh/eval-shim';
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'codemesh', 'eval-shim');
}

function quantile(xs: number[], q: number): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

async function pool<T>(
  items: T[],
  n: number,
  fn: (item: T, i: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && !signal?.aborted) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker));
}

interface GoldBaseline {
  gold_ok: boolean;
  f2p_failed: string[];
  /** PASS_TO_PASS tests that fail even with the gold patch here. */
  p2p_env: string[];
  env_error?: string;
  test_s: number;
}

/** Grades the gold patch and caches the result (it is the baseline every other run is graded against). */
async function goldBaseline(inst: SweInstance, o: EvalSweOptions, fresh: boolean): Promise<GoldBaseline> {
  const file = join(o.home, 'gold', `${inst.instance_id}.json`);
  if (!fresh && existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as GoldBaseline;
  const r = await grade({
    inst,
    gitDir: repoDir(o.repos, inst.repo),
    commit: inst.base_commit,
    patch: inst.patch,
    sandbox: o.sandbox,
    shimDir: o.shimDir,
    timeoutMs: o.gradeTimeoutMs ?? o.testTimeoutMs,
    logFile: join(o.home, 'logs', `${inst.instance_id}.gold.log`),
    cacheDir: join(o.home, 'grades'),
    refresh: fresh,
  });
  const b: GoldBaseline = {
    gold_ok: r.f2p_failed.length === 0 && !r.env_error,
    f2p_failed: r.f2p_failed,
    p2p_env: r.p2p_failed,
    ...(r.env_error ? { env_error: r.env_error } : {}),
    test_s: r.test_s,
  };
  await mkdir(join(o.home, 'gold'), { recursive: true });
  await writeFile(file, `${JSON.stringify(b, null, 1)}\n`);
  return b;
}

export async function evalSwe(opts: EvalSweOptions): Promise<EvalSweReport> {
  const log = opts.log ?? (() => {});
  const k = opts.gold ? 1 : Math.max(1, opts.k ?? 1);
  await mkdir(opts.home, { recursive: true });
  for (const inst of opts.instances) repoDir(opts.repos, inst.repo);
  // Instances finished in an earlier run keep their rows; the others run now, each row reported when done.
  const done = new Map((opts.done ?? []).map((r) => [r.instance_id, r]));
  const o: EvalSweOptions = { ...opts, instances: opts.instances.filter((i) => !done.has(i.instance_id)) };
  if (done.size) log(`resuming: ${opts.instances.length - o.instances.length} instance(s) already done`);
  const rows: InstanceRow[] = new Array(o.instances.length);
  const finish = async (i: number, row: InstanceRow) => {
    if (opts.signal?.aborted) return;
    rows[i] = row;
    await opts.onRow?.(row);
  };
  const ordered = () =>
    opts.instances.flatMap((inst) => {
      const r = done.get(inst.instance_id) ?? rows.find((x) => x?.instance_id === inst.instance_id);
      return r ? [r] : [];
    });

  if (!o.instances.length) return summarize(o.gold ? 'gold' : o.provider, ordered(), k);
  if (o.gold) {
    await pool(
      o.instances,
      o.concurrency ?? 1,
      async (inst, i) => {
        const t = Date.now();
        const b = await goldBaseline(inst, o, true);
        await finish(i, {
          instance_id: inst.instance_id,
          resolved: b.gold_ok,
          gold_ok: b.gold_ok,
          f2p_failed: b.f2p_failed,
          p2p_failed: [],
          p2p_env: b.p2p_env,
          ...(b.env_error ? { env_error: b.env_error } : {}),
          model_patch: inst.patch,
          tokens: 0,
          cost_usd: 0,
          wall_s: round((Date.now() - t) / 1000),
          steps: { grade: round(b.test_s) },
        });
        log(
          `${inst.instance_id}: gold ${b.gold_ok ? 'ok' : 'NOT ok'} (${round(b.test_s, 1)} s)${b.env_error ? ` — ${b.env_error}` : ''}${b.f2p_failed.length ? ` — F2P failing: ${b.f2p_failed.length}` : ''}${b.p2p_env.length ? `, P2P failing here: ${b.p2p_env.length}` : ''}`,
        );
      },
      o.signal,
    );
    return summarize('gold', ordered(), 1);
  }

  let replay: ReplayServer | undefined;
  let modelEnv = o.env ?? process.env;
  if (o.provider === 'replay') {
    replay = await startReplayServer();
    for (const inst of o.instances) {
      const src = repoDir(o.repos, inst.repo);
      replay.add({
        id: inst.instance_id,
        task: inst.problem_statement,
        patch: inst.patch,
        ...(o.replayFixOnly ? {} : { tests: inst.test_patch }),
        read: async (p) => (await gitShow(src, inst.base_commit, p))?.toString('utf8'),
      });
    }
    modelEnv = {
      CODEMESH_LLM_BASE_URL: replay.url,
      CODEMESH_LLM_MODEL: REPLAY_MODEL,
      CODEMESH_LLM_MAX_RETRIES: '0',
    };
  }
  const meshDir = await mkdtemp(join(o.home, 'mesh-'));
  // codemesh's own tools, by their real path: the sandbox cannot bind a symlinked node_modules.
  const bin = join(import.meta.dirname, '..', '..', 'node_modules', '.bin');
  const binDirs = existsSync(bin) ? [realpathSync(bin)] : [];
  // Every agent, the conductor and the Curator; not the recorder (the report is made from the events here),
  // nor the memory: one instance's fix must not reach another's prompt (each instance stands alone); nor the
  // campaign driver (no campaigns here).
  const roles = Roles.filter((r) => r !== 'recorder' && r !== 'memory' && r !== 'campaign');
  const mesh = await startEmbedded(meshOptions(o, { dataDir: meshDir, env: modelEnv, binDirs, roles }));
  const client = await connectMesh({ url: mesh.natsUrl, name: 'codemesh-eval-swe' });
  try {
    await pool(
      o.instances,
      o.concurrency ?? 1,
      async (inst, i) => {
        const attempts: AttemptRow[] = [];
        // The baseline first, outside the attempts' clocks: wall_s is codemesh's run and its grading only.
        let gold: GoldBaseline | undefined;
        let goldError: string | undefined;
        try {
          gold = await goldBaseline(inst, o, false);
        } catch (err) {
          goldError = `gold baseline: ${(err as Error).message}`.slice(0, 1000);
        }
        for (let a = 1; a <= k; a++) {
          const t = Date.now();
          const clone = join(o.home, 'clones', `${inst.instance_id}-${a}`);
          const src = repoDir(o.repos, inst.repo);
          const row: AttemptRow = {
            resolved: false,
            f2p_failed: [...inst.FAIL_TO_PASS],
            p2p_failed: [],
            p2p_env: [],
            model_patch: '',
            tokens: 0,
            cost_usd: 0,
            wall_s: 0,
            steps: {},
          };
          try {
            await freshClone(src, clone, inst.base_commit);
            row.steps.checkout = round((Date.now() - t) / 1000);
            const events: string[] = [];
            const m = await runThroughMesh({
              onEvent: (e) => events.push(JSON.stringify(e)),
              mesh: client,
              inst,
              repo: clone,
              timeoutMs: o.taskTimeoutMs ?? 3_600_000,
              maxAttempts: o.maxAttempts,
              ...(o.candidates ? { candidates: o.candidates } : {}),
              ...(o.signal ? { signal: o.signal } : {}),
            });
            Object.assign(row, {
              status: m.status,
              ...(m.reason ? { reason: m.reason } : {}),
              task_id: m.task_id,
              model_patch: m.model_patch,
              tokens: m.tokens,
              cost_usd: round(m.cost_usd, 6),
              ...(m.verdict_s !== undefined ? { verdict_s: round(m.verdict_s) } : {}),
              ...(m.first_verdict_s !== undefined ? { first_verdict_s: round(m.first_verdict_s) } : {}),
            });
            await mkdir(join(o.home, 'logs'), { recursive: true });
            await writeFile(
              join(o.home, 'logs', `${inst.instance_id}.${a}.events.jsonl`),
              `${events.join('\n')}\n`,
            );
            const confidence = await lastConfidence(client, m.task_id);
            if (confidence) row.confidence = confidence;
            for (const [kind, s] of Object.entries(m.steps)) row.steps[kind] = round(s);
            row.steps.mesh = round(m.mesh_s);
            if (!gold) throw new Error(goldError ?? 'no gold baseline');
            if (m.status === 'completed' && m.commit) {
              const g: GradeResult = await grade({
                inst,
                gitDir: clone,
                commit: m.commit,
                p2pBaseline: inst.PASS_TO_PASS.filter((t) => !gold.p2p_env.includes(t)),
                sandbox: o.sandbox,
                shimDir: o.shimDir,
                timeoutMs: o.gradeTimeoutMs ?? o.testTimeoutMs,
                logFile: join(o.home, 'logs', `${inst.instance_id}.${a}.log`),
                cacheDir: join(o.home, 'grades'),
              });
              Object.assign(row, {
                resolved: g.resolved,
                f2p_failed: g.f2p_failed,
                p2p_failed: g.p2p_failed,
                p2p_env: g.p2p_env,
                ...(g.env_error ? { env_error: g.env_error } : {}),
              });
              // A cached outcome took no test run here: its seconds are the earlier run's, not this row's.
              if (g.cached) row.grade_cached = true;
              else row.steps.grade = round(g.test_s);
            }
          } catch (err) {
            row.env_error = `${(err as Error).message}`.slice(0, 1000);
          } finally {
            if (!o.keep) await rm(clone, { recursive: true, force: true });
          }
          row.wall_s = round((Date.now() - t) / 1000);
          attempts.push(row);
          log(
            `${inst.instance_id} #${a}: ${row.resolved ? 'RESOLVED' : 'not resolved'} — ${row.status ?? 'error'}${row.reason ? ` (${row.reason.slice(0, 200)})` : ''}${row.env_error ? ` [${row.env_error.slice(0, 200)}]` : ''}, ${row.tokens} tokens, ${row.wall_s} s`,
          );
        }
        await finish(i, {
          instance_id: inst.instance_id,
          ...attempts[0]!,
          resolved: attempts[0]!.resolved,
          ...(gold ? { gold_ok: gold.gold_ok } : {}),
          ...(k > 1 ? { attempts } : {}),
        });
      },
      o.signal,
    );
  } finally {
    await client.close();
    await mesh.stop();
    await replay?.close();
    if (!o.keep) await rm(meshDir, { recursive: true, force: true });
  }
  return summarize(o.provider, ordered(), k);
}

export function summarize(mode: EvalSweReport['mode'], rows: InstanceRow[], k: number): EvalSweReport {
  const n = rows.length;
  const resolved = rows.filter((r) => r.resolved).length;
  const all = rows.flatMap((r) => r.attempts ?? [r]);
  const verdicts = all.map((r) => r.verdict_s).filter((v): v is number => v !== undefined);
  const firsts = all.map((r) => r.first_verdict_s).filter((v): v is number => v !== undefined);
  const golds = rows.filter((r) => r.gold_ok !== undefined);
  const passAtK: Record<string, number> = {};
  for (const j of new Set([1, k])) {
    const hit = rows.filter((r) => (r.attempts ?? [r]).slice(0, j).some((a) => a.resolved)).length;
    passAtK[String(j)] = n ? round((100 * hit) / n, 2) : 0;
  }
  return {
    mode,
    n,
    k,
    resolved,
    resolved_pct: n ? round((100 * resolved) / n, 2) : 0,
    ...(golds.length ? { gold_ok: golds.filter((r) => r.gold_ok).length } : {}),
    pass_at_k: passAtK,
    tokens_mean: all.length ? round(all.reduce((s, r) => s + r.tokens, 0) / all.length, 1) : 0,
    cost_usd_mean: all.length ? round(all.reduce((s, r) => s + r.cost_usd, 0) / all.length, 6) : 0,
    wall_s_p50: round(
      quantile(
        all.map((r) => r.wall_s),
        0.5,
      ),
    ),
    wall_s_p95: round(
      quantile(
        all.map((r) => r.wall_s),
        0.95,
      ),
    ),
    ...(verdicts.length
      ? { verdict_s_p50: round(quantile(verdicts, 0.5)), verdict_s_p95: round(quantile(verdicts, 0.95)) }
      : {}),
    ...(firsts.length
      ? {
          first_verdict_s_p50: round(quantile(firsts, 0.5)),
          first_verdict_s_p95: round(quantile(firsts, 0.95)),
        }
      : {}),
    grade_cached: all.filter((r) => r.grade_cached).length,
    abstained: all.filter((r) => r.status === 'abstained').length,
    instances: rows,
  };
}

/** The calibrated confidence of the task's last review, when it has one. */
async function lastConfidence(
  client: MeshConnection,
  taskId: string | undefined,
): Promise<CalibratedConfidence | undefined> {
  if (!taskId) return undefined;
  const task = (await client.board.get(keys.task(taskId), TaskRecord).catch(() => undefined))?.value;
  if (!task) return undefined;
  for (let a = task.attempt; a >= 1; a--) {
    const r = (await client.board.get(keys.review(taskId, a), Review).catch(() => undefined))?.value;
    if (r) return r.calibration;
  }
  return undefined;
}
