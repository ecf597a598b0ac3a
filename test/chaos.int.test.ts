// Chaos: several tasks through a mesh of actor processes while nats-server itself and random actors are
// killed with SIGKILL in the middle of steps. The server comes back on the same port and store dir (JetStream
// recovers its file store), the actors reconnect, and every task still ends with exactly one commit on its
// branch and no event lost or doubled. The seed of the random choices is printed: CODEMESH_CHAOS_SEED=<n>
// replays the same choices (the timing of a loaded machine still varies).
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { submitTask } from '../actors/conductor/submit.ts';
import { eq, inArray } from 'drizzle-orm';
import { openRecord, RECORDER_CONSUMER, schema } from '../actors/recorder/index.ts';
import { connectMesh, listDeadLetters, type MeshConnection } from '../blackboard/index.ts';
import { Award, type StepKind, type TaskEvent, TaskRecord } from '../schemas/index.ts';
import { CODEMESH_ROOT, git, makeFixtureRepo } from './fixture-repo.ts';
import { type KillableNats, startKillableNats } from './nats.ts';
import { type ScriptedLlm, startScriptedLlm } from './scripted-llm/index.ts';
import { seededRandom as rng } from './seeded-random.ts';

const TASKS = 3;
// Long enough that a loaded machine's slow renewals do not look like deaths; a killed winner's step is taken
// back after this long.
const LEASE_MS = 3000;
// The recorder runs as a process too (its embedded PGlite under the state dir); it is never a victim of an
// actor blow, only of the server's.
const ROLES = ['conductor', 'planner', 'coder', 'tester', 'reviewer', 'integrator', 'recorder'] as const;
type ChaosRole = (typeof ROLES)[number];
const STAGES = ['plan', 'code', 'test', 'review', 'integrate'] as const;
const roleOf: Record<StepKind, ChaosRole> = {
  plan: 'planner',
  code: 'coder',
  test: 'tester',
  review: 'reviewer',
  // The chaos tasks do not ask for documentation: no docs step is ever a victim (no Doc Writer runs here).
  docs: 'reviewer',
  integrate: 'integrator',
  rollback: 'integrator',
};

const SEED = Number(process.env.CODEMESH_CHAOS_SEED ?? Date.now() % 1_000_000);
const random = rng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;

const EDIT = `calc.py
<<<<<<< SEARCH
def subtract(a, b):
    return a + b
=======
def subtract(a, b):
    return a - b
>>>>>>> REPLACE
`;

const dataDir = mkdtempSync(join(tmpdir(), 'codemesh-chaos-'));
const logDir = mkdtempSync(join(tmpdir(), 'codemesh-chaos-logs-'));
let nats: KillableNats;
let llm: ScriptedLlm;
let mesh: MeshConnection;
const procs = new Map<ChaosRole, ChildProcess>();
const journal: string[] = [];
const note = (s: string) => journal.push(`${new Date().toISOString().slice(11, 23)} ${s}`);

beforeAll(async () => {
  nats = await startKillableNats();
  // Stateless replies (decided from the conversation): a step re-run after a crash gets the same answers.
  llm = await startScriptedLlm(async ({ roleHint, body }) => {
    const usage = { prompt_tokens: 50, completion_tokens: 10 };
    if (roleHint === 'planner')
      return {
        usage,
        content: JSON.stringify({
          summary: 'fix subtract',
          subtasks: [{ id: 'fix', title: 'Fix subtract', successCriteria: ['tests pass'] }],
        }),
      };
    if (roleHint === 'reviewer')
      return {
        usage,
        content: JSON.stringify({ decision: 'approve', confidence: 0.9, critique: 'ok', risks: [] }),
      };
    const sawTool = (body.messages ?? []).some((m) => m.role === 'tool');
    return sawTool
      ? { usage, content: EDIT }
      : { usage, toolCalls: [{ name: 'read_file', arguments: { path: 'calc.py' } }] };
  });
  mesh = await connectMesh({ url: nats.url, name: 'chaos-test' });
});

afterAll(async () => {
  for (const p of procs.values()) p.kill('SIGKILL');
  await mesh?.close().catch(() => undefined);
  await llm?.close();
  await nats?.stop();
});

function startRole(role: ChaosRole): void {
  const log = createWriteStream(join(logDir, `${role}.log`), { flags: 'a' });
  const child = spawn(process.execPath, [join(CODEMESH_ROOT, 'bin', 'codemesh.js'), 'actor', role], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NATS_URL: nats.url,
      CODEMESH_HOME: dataDir,
      CODEMESH_LEASE_MS: String(LEASE_MS),
      CODEMESH_LLM_BASE_URL: llm.url,
      CODEMESH_LLM_API_KEY: 'sk-test',
      CODEMESH_LLM_MODEL: 'scripted-model',
      CODEMESH_LLM_MAX_RETRIES: '0',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.pipe(log);
  procs.set(role, child);
}

function kill9(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {}
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Reads that fail while the server is down count as "not yet". */
async function tryRead<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch {
    return undefined;
  }
}

async function runningSteps(taskIds: string[], fromStage: number): Promise<Award[]> {
  const out: Award[] = [];
  const ks = (await tryRead(() => mesh.board.keys('award.*'))) ?? [];
  for (const k of ks) {
    if (!taskIds.some((id) => k.startsWith(`award.${id}-`))) continue;
    const a = (await tryRead(() => mesh.board.get(k, Award)))?.value;
    if (a?.state === 'running' && STAGES.indexOf(a.kind as (typeof STAGES)[number]) >= fromStage) out.push(a);
  }
  return out;
}

async function statuses(taskIds: string[]): Promise<Map<string, TaskRecord | undefined>> {
  const m = new Map<string, TaskRecord | undefined>();
  for (const id of taskIds) m.set(id, (await tryRead(() => mesh.board.get(`task.${id}`, TaskRecord)))?.value);
  return m;
}
const finished = (t: TaskRecord | undefined) => !!t && ['completed', 'failed'].includes(t.status);

it(`every task commits exactly once through kill -9 of nats-server and of actors (seed ${SEED})`, async () => {
  note('start');
  for (const role of ROLES) startRole(role);
  const repos = Array.from({ length: TASKS }, () => makeFixtureRepo('py-calc'));
  const bases = repos.map((r) => git(r, 'rev-parse', 'HEAD'));
  const tasks = [];
  for (const repo of repos)
    tasks.push(await submitTask(mesh, { repo, title: 'Fix subtract', approve: 'auto' }));
  const ids = tasks.map((t) => t.id);
  note('tasks submitted');

  // Four blows: the server, an actor running a step, the server, and last the server or an actor while a
  // commit is being made (where a double commit would come from). Each waits for a step of its stage (or a
  // later one) to be running, so it lands mid-step, then strikes after a random short delay.
  const stages = [0, 1, 2].map(() => Math.floor(random() * 4)).sort((a, b) => a - b);
  const plan: Array<{ target: 'nats' | 'actor'; stage: number }> = [
    { target: 'nats', stage: stages[0]! },
    { target: 'actor', stage: stages[1]! },
    { target: 'nats', stage: stages[2]! },
    { target: pick(['nats', 'actor'] as const), stage: STAGES.indexOf('integrate') },
  ];
  // Bounds for a loaded 2-core machine (about 75 s there under a load average of 16); not a speed check.
  const deadline = Date.now() + 130_000;
  const dump = () =>
    `seed ${SEED}\n${journal.join('\n')}\nlogs in ${logDir}:\n${ROLES.map(
      (r) => `--- ${r}\n${readFileSync(join(logDir, `${r}.log`), 'utf8').slice(-3000)}`,
    ).join('\n')}`;
  for (const blow of plan) {
    let running: Award[] = [];
    while (Date.now() < deadline) {
      running = await runningSteps(ids, blow.stage);
      if (running.length > 0 || [...(await statuses(ids)).values()].every(finished)) break;
      await sleep(50);
    }
    if (running.length === 0) {
      note(`no ${STAGES[blow.stage]} step left to strike`);
      break;
    }
    await sleep(Math.floor(random() * 300));
    if (blow.target === 'nats') {
      note(`kill -9 nats-server (steps running: ${running.map((a) => a.stepId).join(', ')})`);
      nats.kill();
      await sleep(200 + Math.floor(random() * 1300));
      await nats.restart();
      note('nats-server restarted on the same port and store');
    } else {
      // The agent running one of the steps, or the conductor (its durable consumer resumes where it was).
      const victim = pick(running);
      const role = random() < 0.25 ? 'conductor' : roleOf[victim.kind];
      note(`kill -9 ${role} (running: ${victim.stepId})`);
      kill9(procs.get(role)!.pid!);
      await sleep(Math.floor(random() * 500));
      startRole(role);
    }
  }

  let last = new Map<string, TaskRecord | undefined>();
  while (Date.now() < deadline) {
    last = await statuses(ids);
    if ([...last.values()].every(finished)) break;
    await sleep(100);
  }
  note('all finished');
  const summary = ids.map((id) => `${id}: ${last.get(id)?.status} ${last.get(id)?.reason ?? ''}`).join('\n');
  for (const id of ids) expect(last.get(id)?.status, `${summary}\n${dump()}`).toBe('completed');

  for (const [i, t] of tasks.entries()) {
    // One commit per task on its branch, carrying the fix.
    expect(git(repos[i]!, 'rev-list', '--count', `${bases[i]}..codemesh/${t.id}`), dump()).toBe('1');
    expect(git(repos[i]!, 'diff', bases[i]!, `codemesh/${t.id}`)).toContain('+    return a - b');

    // No lost event and none doubled: each step completed once, in order; each milestone once; ids unique.
    const events: TaskEvent[] = (await mesh.bus.history(t.id, { repeats: true })).map((e) => e.event);
    const completed = events.filter((e) => e.type === 'step.completed').map((e) => e.step?.kind);
    expect(completed, dump()).toEqual(['plan', 'code', 'test', 'review', 'integrate']);
    for (const type of [
      'task.created',
      'plan.ready',
      'patch.proposed',
      'test.completed',
      'review.completed',
      'integrate.committed',
      'task.completed',
    ])
      expect(
        events.filter((e) => e.type === type),
        `${t.id} ${type}\n${dump()}`,
      ).toHaveLength(1);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  }

  // Nothing was given up on, and the record (the recorder process, through the same outages) holds every task
  // completed with its commit, once it has taken every event.
  const letters = (await listDeadLetters(mesh.jsm, { limit: 1000 })).map((l) => l.letter);
  expect(letters, dump()).toEqual([]);
  for (;;) {
    const info = await tryRead(() => mesh.jsm.consumers.info('CODEMESH_EVENTS', RECORDER_CONSUMER));
    if (info && info.num_pending === 0 && info.num_ack_pending === 0) break;
    expect(Date.now(), `the recorder did not catch up\n${dump()}`).toBeLessThan(deadline + 20_000);
    await sleep(200);
  }
  const recorder = procs.get('recorder')!;
  const exited = new Promise((r) => recorder.once('exit', r));
  recorder.kill('SIGINT');
  await exited;
  const record = await openRecord({ dir: join(dataDir, 'pg') });
  try {
    const rows = await record.db
      .select({ id: schema.tasks.id, status: schema.tasks.status, commit: schema.tasks.commit })
      .from(schema.tasks)
      .where(inArray(schema.tasks.id, ids));
    expect(
      rows.sort((a, b) => a.id.localeCompare(b.id)),
      dump(),
    ).toEqual(
      [...ids].sort().map((id) => ({
        id,
        status: 'completed',
        commit: git(repos[ids.indexOf(id)]!, 'rev-parse', `codemesh/${id}`),
      })),
    );
    for (const id of ids) {
      const patches = await record.db.select().from(schema.patches).where(eq(schema.patches.taskId, id));
      expect(patches.length, `${id} patches in the record`).toBeGreaterThanOrEqual(1);
    }
  } finally {
    await record.close();
  }
  if (process.env.CODEMESH_CHAOS_VERBOSE) {
    for (const t of tasks)
      for (const { event: e } of await mesh.bus.history(t.id, { repeats: true }))
        note(`${e.at.slice(11, 23)} ${t.id} ${e.type} ${e.step ? `${e.step.kind}#${e.step.round}` : ''}`);
    console.log(dump());
  } else console.log(`seed ${SEED}\n${journal.join('\n')}`);
}, 200_000);
