// Actors as separate processes: kill -9 the Coder, then the Tester, in the middle of their steps, restart
// them, and the task still completes with exactly one commit and no lost or doubled event.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { submitTask } from '../actors/conductor/submit.ts';
import {
  connectMesh,
  type MeshConnection,
  type NatsServerHandle,
  startNatsServer,
} from '../blackboard/index.ts';
import { Award, keys, stepId, type TaskEvent, TaskRecord } from '../schemas/index.ts';
import { CODEMESH_ROOT, git, makeFixtureRepo } from './fixture-repo.ts';
import { type ScriptedLlm, startScriptedLlm } from './scripted-llm/index.ts';
import { SUBTRACT_EDIT } from './ts-calc-answers.ts';

const LEASE_MS = 1500;
let nats: NatsServerHandle;
let llm: ScriptedLlm;
let mesh: MeshConnection;
const procs = new Map<string, ChildProcess>();
let coderCalls = 0;
let releaseCoder: () => void = () => undefined;
const coderHeld = new Promise<void>((r) => {
  releaseCoder = r;
});

beforeAll(async () => {
  nats = await startNatsServer();
  // Stateless replies (decided from the conversation), so a step re-run after a crash gets the same answers.
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
    coderCalls++;
    // The first coder run hangs here until the test has killed it.
    if (coderCalls === 1) await coderHeld;
    const sawTool = (body.messages ?? []).some((m) => m.role === 'tool');
    return sawTool
      ? { usage, content: SUBTRACT_EDIT }
      : { usage, toolCalls: [{ name: 'read_file', arguments: { path: 'src/calc.ts' } }] };
  });
  mesh = await connectMesh({ url: nats.url, name: 'crash-test' });
});

afterAll(async () => {
  releaseCoder();
  for (const p of procs.values()) p.kill('SIGKILL');
  await mesh?.close();
  await llm?.close();
  await nats?.stop();
});

const dataDir = mkdtempSync(join(tmpdir(), 'codemesh-crash-'));

function startRole(role: string): ChildProcess {
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
  child.stderr?.on('data', () => undefined);
  procs.set(role, child);
  return child;
}

async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  ms = 60_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function kill9(role: string): void {
  const p = procs.get(role)!;
  process.kill(p.pid!, 'SIGKILL');
  procs.delete(role);
}

it('survives kill -9 of the Coder and then the Tester mid-step', async () => {
  for (const role of ['conductor', 'planner', 'coder', 'tester', 'reviewer', 'integrator']) startRole(role);
  const repo = makeFixtureRepo('ts-calc');
  const base = git(repo, 'rev-parse', 'HEAD');
  const task = await submitTask(mesh, { repo, title: 'Fix subtract', approve: 'auto' });

  // The Coder is inside its model call: kill it, let the held call go, start a new Coder.
  await waitFor('the coder to call the model', () => coderCalls >= 1 || undefined);
  kill9('coder');
  releaseCoder();
  startRole('coder');

  // The Tester is running the tests in its sandbox: kill it there, then start a new one.
  const testAward = await waitFor('the test step to start', async () => {
    const a = (await mesh.board.get(keys.award(stepId(task.id, 'test', 1)), Award))?.value;
    return a?.state === 'running' ? a : undefined;
  });
  await new Promise((r) => setTimeout(r, 300));
  kill9('tester');
  startRole('tester');

  const done = await waitFor(
    'the task to finish',
    async () => {
      const t = (await mesh.board.get(keys.task(task.id), TaskRecord))?.value;
      return t && ['completed', 'failed'].includes(t.status) ? t : undefined;
    },
    90_000,
  );
  expect(done.status, done.reason).toBe('completed');
  expect(git(repo, 'rev-list', '--count', `${base}..codemesh/${task.id}`)).toBe('1');
  expect(git(repo, 'diff', base, `codemesh/${task.id}`)).toContain('+  return a - b;');

  // Both killed steps were finished by a later round, by a different instance.
  const codeAward = (await mesh.board.get(keys.award(stepId(task.id, 'code', 1)), Award))!.value;
  const finalTest = (await mesh.board.get(keys.award(stepId(task.id, 'test', 1)), Award))!.value;
  expect(codeAward.round).toBeGreaterThanOrEqual(2);
  expect(finalTest.round).toBeGreaterThan(testAward.round);
  expect(finalTest.instanceId).not.toBe(testAward.instanceId);

  // No lost event and none doubled: each step completed exactly once, in order.
  const events: TaskEvent[] = (await mesh.bus.history(task.id)).map((e) => e.event);
  const completed = events.filter((e) => e.type === 'step.completed').map((e) => e.step?.kind);
  expect(completed).toEqual(['plan', 'code', 'test', 'review', 'integrate']);
  for (const t of [
    'task.created',
    'plan.ready',
    'patch.proposed',
    'test.completed',
    'review.completed',
    'integrate.committed',
    'task.completed',
  ])
    expect(
      events.filter((e) => e.type === t),
      t,
    ).toHaveLength(1);
  expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
}, 120_000);
