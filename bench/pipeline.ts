// Whole-pipeline benchmarks on a real mesh (nats-server child, all actors) with a zero-latency scripted model:
// orchestration overhead per task (sandboxed test time excluded) and 200 tasks submitted at once.
import { submitTask } from '../actors/conductor/submit.ts';
import { keys, TaskRecord, TestRun } from '../schemas/index.ts';
import { makeFixtureRepo } from '../test/fixture-repo.ts';
import { startHarness } from '../test/harness.ts';
import type { ScriptRequest } from '../test/scripted-llm/index.ts';
import { type BenchMetric, percentile, printMetrics } from './metric.ts';

const EDIT =
  'calc.py\n<<<<<<< SEARCH\ndef subtract(a, b):\n    return a + b\n=======\ndef subtract(a, b):\n    return a - b\n>>>>>>> REPLACE\n';

function script({ roleHint }: ScriptRequest) {
  if (roleHint === 'planner')
    return {
      content: JSON.stringify({
        summary: 'fix',
        subtasks: [{ id: 'a', title: 'fix', successCriteria: ['tests pass'] }],
      }),
    };
  if (roleHint === 'reviewer')
    return { content: JSON.stringify({ decision: 'approve', confidence: 0.9, critique: 'ok', risks: [] }) };
  return { content: EDIT };
}

async function waitAll(h: Awaited<ReturnType<typeof startHarness>>, ids: string[], timeoutMs: number) {
  const done = new Map<string, { status: string; at: number }>();
  const deadline = Date.now() + timeoutMs;
  while (done.size < ids.length && Date.now() < deadline) {
    await Promise.all(
      ids
        .filter((id) => !done.has(id))
        .map(async (id) => {
          const t = (await h.client.board.get(keys.task(id), TaskRecord))?.value;
          if (t && (t.status === 'completed' || t.status === 'failed'))
            done.set(id, { status: t.status, at: Date.now() });
        }),
    );
    await new Promise((r) => setTimeout(r, 20));
  }
  return done;
}

export async function benchPipeline(
  opts: { sequential?: number; concurrent?: number } = {},
): Promise<BenchMetric[]> {
  const h = await startHarness({ leaseMs: 30_000 });
  h.setScript(script);
  const out: BenchMetric[] = [];
  try {
    // 1. One task at a time: wall time minus the time its tests ran in the sandbox.
    const overhead: number[] = [];
    for (let i = 0; i < (opts.sequential ?? 15); i++) {
      const repo = makeFixtureRepo('py-calc');
      const t0 = performance.now();
      const task = await submitTask(h.client, { repo, title: 'Fix subtract', approve: 'auto' });
      const done = await waitAll(h, [task.id], 60_000);
      const wall = performance.now() - t0;
      if (done.get(task.id)?.status !== 'completed') throw new Error(`task ${task.id} did not complete`);
      const run = (await h.client.board.get(keys.testrun(task.id, 1), TestRun))?.value;
      overhead.push(wall - (run?.durationMs ?? 0));
    }
    out.push({
      name: 'orchestration_overhead_ms_per_task',
      value: round(percentile(overhead.slice(2), 50)),
      unit: 'ms',
    });

    // 2. Many tasks at once, each on its own repository (same-repo serialization is the concurrency test's job).
    const n = opts.concurrent ?? 200;
    const repos = Array.from({ length: n }, () => makeFixtureRepo('py-calc'));
    const t0 = performance.now();
    const tasks = await Promise.all(
      repos.map((repo) => submitTask(h.client, { repo, title: 'Fix subtract', approve: 'auto' })),
    );
    const done = await waitAll(
      h,
      tasks.map((t) => t.id),
      600_000,
    );
    const wall = performance.now() - t0;
    const completed = [...done.values()].filter((d) => d.status === 'completed').length;
    out.push(
      { name: 'concurrent_tasks_submitted', value: n, unit: 'tasks' },
      { name: 'concurrent_tasks_completed', value: completed, unit: 'tasks' },
      { name: 'concurrent_tasks_lost', value: n - done.size, unit: 'tasks' },
      { name: 'concurrent_tasks_wall_s', value: round(wall / 1000), unit: 's' },
    );
  } finally {
    await h.stop();
  }
  return out;
}

const round = (x: number) => Math.round(x * 10) / 10;

if (import.meta.url === `file://${process.argv[1]}`) printMetrics(await benchPipeline());
