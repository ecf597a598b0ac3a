// Fan-out speed-up on a real mesh (nats-server child, all actors, scripted model answering each call after
// 200 ms): a 3-subtask task on 3 independent files, done by one Coder, then by three Coder instances (each runs
// one step at a time). Wall time from submission to completion, less the time its tests ran in the sandbox.
import { type RunningActor, startActor } from '../actors/mesh.ts';
import { submitTask } from '../actors/conductor/submit.ts';
import { keys, type TaskEvent, TaskRecord, TestRun } from '../schemas/index.ts';
import { startHarness } from '../test/harness.ts';
import type { ScriptedReply, ScriptRequest } from '../test/scripted-llm/index.ts';
import { makeRepo } from '../test/temp-repo.ts';
import { type BenchMetric, percentile, printMetrics } from './metric.ts';

const LATENCY_MS = 200;
/** Model calls per subtask: three file reads, then the edit (a short Coder loop). */
const READS = 3;
/** What each read asks for: no call three times alike (the Coder's loop guard stops a step at the third). */
const readPath = (s: string, i: number) => (i === 1 ? 'test_abc.py' : `${s}.py`);
const SUBTASKS = ['a', 'b', 'c'] as const;

const FILES: Record<string, string> = {
  ...Object.fromEntries(SUBTASKS.map((s) => [`${s}.py`, `def f${s}():\n    return 0\n`])),
  'test_abc.py': `${SUBTASKS.map((s) => `from ${s} import f${s}\n`).join('')}\n\n${SUBTASKS.map(
    (s) => `def test_${s}():\n    assert f${s}() == 1\n`,
  ).join('\n\n')}`,
};

function script(req: ScriptRequest): ScriptedReply {
  const reply = (r: ScriptedReply): ScriptedReply => ({ delayMs: LATENCY_MS, ...r });
  if (req.roleHint === 'planner')
    return reply({
      content: JSON.stringify({
        summary: 'make each function return 1',
        subtasks: SUBTASKS.map((s) => ({
          id: s,
          title: `Make f${s} return 1`,
          successCriteria: [`f${s}() == 1`],
          files: [`${s}.py`],
        })),
      }),
    });
  if (req.roleHint === 'reviewer')
    return reply({
      content: JSON.stringify({ decision: 'approve', confidence: 0.9, critique: 'ok', risks: [] }),
    });
  const messages = req.body.messages ?? [];
  const user = messages.find((m) => m.role === 'user');
  const s = /Your subtask: \[([a-z])\]/.exec(String(user?.content ?? ''))?.[1] ?? 'a';
  const reads = messages.filter((m) => m.role === 'tool').length;
  if (reads < READS)
    return reply({ toolCalls: [{ name: 'read_file', arguments: { path: readPath(s, reads) } }] });
  return reply({
    content: `${s}.py\n<<<<<<< SEARCH\ndef f${s}():\n    return 0\n=======\ndef f${s}():\n    return 1\n>>>>>>> REPLACE\n`,
  });
}

/** `BENCH_FANOUT_PROFILE=1`: each run's events on stderr, in ms from the first (where the time goes). */
function printTimeline(taskId: string, events: TaskEvent[]): void {
  const t0 = Date.parse(events[0]?.at ?? '');
  let prev = t0;
  const lines = events.map((e) => {
    const t = Date.parse(e.at);
    const step = e.step ? ` ${e.step.kind}${e.step.part ? `/${e.step.part}` : ''}` : '';
    const who = typeof e.data.instanceId === 'string' ? ` ${e.data.instanceId}` : '';
    const line = `${String(t - t0).padStart(6)} +${String(t - prev).padStart(5)}  ${e.type}${step}${who}`;
    prev = t;
    return line;
  });
  console.error(`-- ${taskId}\n${lines.join('\n')}`);
}

export async function benchFanout(opts: { runs?: number } = {}): Promise<BenchMetric[]> {
  const h = await startHarness({
    roles: ['conductor', 'recorder', 'curator', 'planner', 'tester', 'reviewer', 'integrator'],
    leaseMs: 30_000,
  });
  h.setScript(script);
  const coders: RunningActor[] = [];
  const addCoder = async () =>
    coders.push(
      await startActor('coder', {
        natsUrl: h.mesh.natsUrl,
        dataDir: h.dataDir,
        env: h.env,
        leaseMs: 30_000,
        concurrency: 1,
        instanceId: `coder-${coders.length + 1}`,
      }),
    );

  /** One task: wall time less sandboxed test time, and the code step alone (plan done → patch proposed). */
  const runOnce = async (): Promise<{ task: number; code: number }> => {
    const { dir } = makeRepo(FILES);
    const t0 = performance.now();
    const task = await submitTask(h.client, {
      repo: dir,
      title: 'Make fa, fb, fc return 1',
      approve: 'auto',
      // The harness's model is priced high (budget tests); this bench is about time, not its $5 default.
      budget: { maxCostUsd: 1000 },
    });
    for (;;) {
      const t = (await h.client.board.get(keys.task(task.id), TaskRecord))?.value;
      if (t?.status === 'completed') break;
      if (t?.status === 'failed') throw new Error(`task ${task.id} failed: ${t.reason}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const wall = performance.now() - t0;
    const run = (await h.client.board.get(keys.testrun(task.id, 1), TestRun))?.value;
    const events: TaskEvent[] = (await h.client.bus.history(task.id)).map((e) => e.event);
    const at = (type: string) => Date.parse(events.find((e) => e.type === type)?.at ?? '');
    if (process.env.BENCH_FANOUT_PROFILE) printTimeline(task.id, events);
    return { task: wall - (run?.durationMs ?? 0), code: at('patch.proposed') - at('plan.ready') };
  };

  // BENCH_FANOUT_RUNS: more runs per side for a steadier median on a loaded machine.
  const runs = opts.runs ?? (Number(process.env.BENCH_FANOUT_RUNS) || 3);
  const measure = async () => {
    const out: Array<{ task: number; code: number }> = [];
    for (let i = 0; i < runs; i++) out.push(await runOnce());
    return {
      task: percentile(
        out.map((o) => o.task),
        50,
      ),
      code: percentile(
        out.map((o) => o.code),
        50,
      ),
    };
  };
  try {
    await addCoder();
    await runOnce(); // warm-up: imports, first worktree, the Curator's first index
    const one = await measure();
    await addCoder();
    await addCoder();
    const three = await measure();
    const r = (x: number) => Math.round(x * 100) / 100;
    return [
      { name: 'fanout_speedup', value: r(one.task / three.task), unit: 'x' },
      { name: 'fanout_code_step_speedup', value: r(one.code / three.code), unit: 'x' },
      { name: 'fanout_task_ms_one_coder', value: Math.round(one.task), unit: 'ms' },
      { name: 'fanout_task_ms_three_coders', value: Math.round(three.task), unit: 'ms' },
    ];
  } finally {
    await Promise.allSettled(coders.map((c) => c.stop()));
    await h.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) printMetrics(await benchFanout());
