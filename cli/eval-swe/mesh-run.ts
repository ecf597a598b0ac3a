// One instance through the whole mesh: a fresh clone at the base commit, the problem statement as the task,
// `approve auto`, and what came out: the integrated diff, tokens, cost and the seconds of every step.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { submitTask } from '../../actors/conductor/submit.ts';
import type { MeshConnection } from '../../blackboard/index.ts';
import type { TaskEvent } from '../../schemas/index.ts';
import type { SweInstance } from './dataset.ts';
import { run } from './grade.ts';

export interface MeshRunResult {
  task_id: string;
  /** `abstained`: the task asked for candidates and none earned selection (nothing integrated). */
  status: 'completed' | 'failed' | 'abstained' | 'timeout';
  reason?: string;
  branch?: string;
  commit?: string;
  /** `git diff base..branch` of the integrated commit; empty when nothing was integrated. */
  model_patch: string;
  tokens: number;
  cost_usd: number;
  /** Submit → task.completed / task.failed. */
  mesh_s: number;
  /** Seconds per step kind (plan, code, test, review, integrate): award → completion, summed over attempts. */
  steps: Record<string, number>;
  /** First patch.proposed → its test.completed. */
  verdict_s?: number;
  /**
   * First patch.proposed → its first verdict: `test.primary` (the tests the issue names and the patch
   * touches passed; the related files run after it) or, without one, its test.completed.
   */
  first_verdict_s?: number;
  attempts: number;
}

/** The task text the agents see: the issue, nothing else (no tests, no fix). */
export function taskOf(inst: SweInstance): { title: string; description: string } {
  const first = inst.problem_statement.trim().split('\n')[0]!.trim();
  return {
    title: (first || inst.instance_id).slice(0, 300),
    description: inst.problem_statement.slice(0, 20_000),
  };
}

async function git(cwd: string, args: string[]): Promise<string> {
  const r = await run('git', args, { cwd });
  if (r.code !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr.trim().slice(0, 500)}`);
  return r.stdout.toString('utf8');
}

/**
 * A private clone for one run (objects shared with `source`, no remote, so the Integrator's branch stays in
 * it), with HEAD detached at the base commit.
 */
export async function freshClone(source: string, dir: string, base: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, '..'), { recursive: true });
  await git(join(dir, '..'), ['clone', '-q', '--shared', '--no-checkout', source, dir]);
  await git(dir, ['remote', 'remove', 'origin']);
  await git(dir, ['checkout', '-q', '--detach', base]);
}

export interface MeshRunOptions {
  mesh: MeshConnection;
  inst: SweInstance;
  /** The clone to work on (see freshClone). */
  repo: string;
  timeoutMs: number;
  maxAttempts?: number;
  /** k candidate patches per task (pass@k inside one task: the mesh chooses one, or abstains). */
  candidates?: number;
  onEvent?: (e: TaskEvent) => void;
  /** Stops following the task (the eval was interrupted): the result is then `timeout`. */
  signal?: AbortSignal;
}

export async function runThroughMesh(o: MeshRunOptions): Promise<MeshRunResult> {
  const started = Date.now();
  const task = await submitTask(o.mesh, {
    repo: o.repo,
    ...taskOf(o.inst),
    approve: 'auto',
    baseRef: o.inst.base_commit,
    ...(o.maxAttempts ? { budget: { maxAttempts: o.maxAttempts } } : {}),
    ...(o.candidates && o.candidates > 1 ? { candidates: o.candidates } : {}),
  });
  const res: MeshRunResult = {
    task_id: task.id,
    status: 'timeout',
    model_patch: '',
    tokens: 0,
    cost_usd: 0,
    mesh_s: 0,
    steps: {},
    attempts: 0,
  };
  const open = new Map<string, number>();
  let firstPatchAt: number | undefined;
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), o.timeoutMs);
  const stop = () => ac.abort();
  o.signal?.addEventListener('abort', stop, { once: true });
  try {
    for await (const { event: e } of o.mesh.bus.follow(task.id, { signal: ac.signal })) {
      o.onEvent?.(e);
      const at = Date.parse(e.at);
      const key = e.step ? `${e.step.kind}#${e.step.attempt}` : '';
      if (e.type === 'step.awarded' && e.step && !open.has(key)) open.set(key, at);
      if ((e.type === 'step.completed' || e.type === 'step.failed') && e.step && open.has(key)) {
        res.steps[e.step.kind] = (res.steps[e.step.kind] ?? 0) + (at - open.get(key)!) / 1000;
        open.delete(key);
      }
      if (e.type === 'patch.proposed') {
        res.attempts = Math.max(res.attempts, e.step?.attempt ?? 1);
        firstPatchAt ??= at;
      }
      if (e.type === 'test.primary' && firstPatchAt !== undefined && res.verdict_s === undefined) {
        res.first_verdict_s ??= (at - firstPatchAt) / 1000;
      }
      if (e.type === 'test.completed' && firstPatchAt !== undefined && res.verdict_s === undefined) {
        res.verdict_s = (at - firstPatchAt) / 1000;
        res.first_verdict_s ??= res.verdict_s;
      }
      if (e.type === 'cost.recorded') {
        res.tokens += Number(e.data.promptTokens ?? 0) + Number(e.data.completionTokens ?? 0);
        res.cost_usd += Number(e.data.costUsd ?? 0);
      }
      if (e.type === 'task.completed') {
        res.status = 'completed';
        res.branch = String(e.data.branch ?? '');
        res.commit = e.data.commit ? String(e.data.commit) : undefined;
        break;
      }
      if (e.type === 'task.failed' || e.type === 'task.abstained') {
        res.status = e.type === 'task.failed' ? 'failed' : 'abstained';
        res.reason = String(e.data.reason ?? '');
        break;
      }
    }
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', stop);
    ac.abort();
  }
  res.mesh_s = (Date.now() - started) / 1000;
  if (res.status === 'timeout')
    res.reason = o.signal?.aborted
      ? 'interrupted'
      : `no task.completed, task.failed or task.abstained within ${o.timeoutMs} ms`;
  if (res.status === 'completed' && res.branch) {
    res.commit ??= (await git(o.repo, ['rev-parse', `refs/heads/${res.branch}`])).trim();
    res.model_patch = await git(o.repo, [
      'diff',
      '--no-color',
      '--no-ext-diff',
      o.inst.base_commit,
      res.commit,
    ]);
  }
  return res;
}
