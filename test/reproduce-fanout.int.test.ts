// The test-writing part (`r1`) together with a fanned-out code step, end to end (real nats-server, git, bwrap,
// pytest; the scripted model over loopback): the written test is kept once and lands in the merged patch beside
// the subtasks' fixes; a Coder killed with SIGKILL while it writes the test is replaced by another, and the test
// is still added once.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningActor, startActor } from '../actors/mesh.ts';
import { submitTask } from '../actors/conductor/submit.ts';
import {
  Award,
  keys,
  Patch,
  patchId,
  ReproTest,
  SubtaskRecord,
  type TaskEvent,
  TaskRecord,
  TestRun,
} from '../schemas/index.ts';
import { CODEMESH_ROOT } from './fixture-repo.ts';
import { type Harness, startHarness } from './harness.ts';
import type { ScriptedReply, ScriptRequest } from './scripted-llm/index.ts';
import { gitIn, makeRepo } from './temp-repo.ts';

const block = (file: string, search: string, replace: string) =>
  `${file}\n<<<<<<< SEARCH\n${search}\n=======\n${replace}\n>>>>>>> REPLACE\n`;

const IMPORTS_TEST = 'def test_imports():\n    assert callable(fa) and callable(fb)';
/** Two modules whose function returns 0 instead of 1; the only test passes on the base commit. */
const FILES = {
  'a.py': 'def fa():\n    return 0\n',
  'b.py': 'def fb():\n    return 0\n',
  'test_ab.py': `from a import fa\nfrom b import fb\n\n\n${IMPORTS_TEST}\n`,
};
/** The written test: both functions must return 1 (fails on the base commit). */
const WRITTEN = block(
  'test_ab.py',
  IMPORTS_TEST,
  `${IMPORTS_TEST}\n\n\ndef test_fa_returns_one():\n    assert fa() == 1\n\n\ndef test_fb_returns_one():\n    assert fb() == 1`,
);
const PLAN = JSON.stringify({
  summary: 'fa and fb return 1',
  subtasks: ['a', 'b'].map((s) => ({
    id: s,
    title: `Make f${s} return 1`,
    successCriteria: [`f${s}() == 1`],
    files: [`${s}.py`],
  })),
  risks: [],
});
const APPROVE = JSON.stringify({ decision: 'approve', confidence: 0.9, critique: 'ok', risks: [] });
/** The Reviewer's answer over k candidates. */
const RANKING = JSON.stringify({
  ranking: [1, 2].map((candidate) => ({
    candidate,
    decision: 'approve',
    confidence: 0.9,
    critique: 'ok',
    risks: [],
  })),
});

const textOf = (req: ScriptRequest) =>
  (req.body.messages ?? []).map((m) => String(m.content ?? '')).join('\n');
const isWriter = (req: ScriptRequest) => textOf(req).includes('You are the test writer');
const subtaskIn = (req: ScriptRequest) => /Your subtask: \[([^\]]+)\]/.exec(textOf(req))?.[1];

/** The mesh's script; `beforeWriter` runs before each answer of the test writer (to hold one). */
function script(beforeWriter: (n: number) => Promise<void> = async () => undefined) {
  const writer: ScriptRequest[] = [];
  const subtasks: string[] = [];
  const seen: Array<{ subtask: string; prompt: string; testFile: string }> = [];
  h.setScript(async (req): Promise<ScriptedReply> => {
    if (req.roleHint === 'planner') return { content: PLAN };
    if (req.roleHint === 'reviewer')
      return { content: textOf(req).includes('=== Candidate 1') ? RANKING : APPROVE };
    if (isWriter(req)) {
      writer.push(req);
      await beforeWriter(writer.length);
      return { content: WRITTEN };
    }
    const s = subtaskIn(req);
    // A whole-task pass (a candidate): both fixes in one reply.
    if (!s)
      return {
        content: ['a', 'b']
          .map((x) => block(`${x}.py`, `def f${x}():\n    return 0`, `def f${x}():\n    return 1`))
          .join('\n'),
      };
    // A subtask's Coder reads the test file first: what its working tree holds.
    const read = (req.body.messages ?? []).find((m) => m.role === 'tool');
    if (!read) return { toolCalls: [{ name: 'read_file', arguments: { path: 'test_ab.py' } }] };
    subtasks.push(s);
    seen.push({ subtask: s, prompt: textOf(req), testFile: String(read.content ?? '') });
    return { content: block(`${s}.py`, `def f${s}():\n    return 0`, `def f${s}():\n    return 1`) };
  });
  return { writer, subtasks, seen };
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 120_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

let h: Harness;
const coders: RunningActor[] = [];
beforeAll(async () => {
  h = await startHarness({
    roles: ['conductor', 'planner', 'tester', 'reviewer', 'integrator'],
    testTimeoutMs: 60_000,
  });
  for (const id of ['coder-a', 'coder-b'])
    coders.push(
      await startActor('coder', {
        natsUrl: h.mesh.natsUrl,
        dataDir: h.dataDir,
        env: h.env,
        leaseMs: 10_000,
        concurrency: 1,
        instanceId: id,
      }),
    );
});
afterAll(async () => {
  await Promise.allSettled(coders.map((c) => c.stop()));
  await h?.stop();
});

async function submit(repo: string, candidates?: number): Promise<string> {
  const task = await submitTask(h.client, {
    repo,
    ...(candidates ? { candidates } : {}),
    title: 'fa and fb return 0',
    description: 'fa() and fb() must return 1; both return 0',
    approve: 'auto',
    config: { test: { reproduce: true } },
  });
  return task.id;
}

async function finished(taskId: string, ms = 240_000): Promise<TaskRecord> {
  return waitFor(
    `task ${taskId} to end`,
    async () => {
      const t = (await h.client.board.get(keys.task(taskId), TaskRecord))?.value;
      return t && ['completed', 'failed'].includes(t.status) ? t : undefined;
    },
    ms,
  );
}

const events = async (taskId: string): Promise<TaskEvent[]> =>
  (await h.client.bus.history(taskId)).map((e) => e.event);

/** What both cases check: the test kept once, in the merged patch and the commit once, confirmed by the Tester. */
async function expectTestAddedOnce(id: string, repo: string, base: string): Promise<void> {
  const evs = await events(id);
  const checked = evs.filter((e) => e.type === 'reproduction.checked');
  expect(checked.map((e) => [e.data.verdict, e.step?.part])).toEqual([['kept', 'r1']]);
  const kept = (await h.client.board.get(keys.repro(id), ReproTest))!.value;
  expect(kept.files).toEqual(['test_ab.py']);
  expect(kept.tests.map((t) => [t.name.split('::').at(-1), t.status])).toEqual([
    ['test_fa_returns_one', 'failed'],
    ['test_fb_returns_one', 'failed'],
  ]);
  // The part ran before any subtask was announced: the subtasks start after the test is settled.
  const r1Done = evs.findIndex((e) => e.type === 'step.completed' && e.step?.part === 'r1');
  const firstSub = evs.findIndex((e) => e.type === 'step.awarded' && e.step?.part?.startsWith('s'));
  expect(r1Done).toBeGreaterThan(-1);
  expect(firstSub).toBeGreaterThan(r1Done);
  expect(evs.filter((e) => e.type === 'step.completed' && e.step?.part === 'r1')).toHaveLength(1);

  // Fanned out: each subtask's own patch has its fix only; the merged patch has both fixes and the test once.
  for (const s of ['a', 'b']) {
    const rec = (await h.client.board.get(keys.subtask(id, 1, s), SubtaskRecord))!.value;
    expect(rec.state).toBe('merged');
    expect(rec.patch?.files).toEqual([`${s}.py`]);
  }
  const patch = (await h.client.board.get(keys.patch(patchId(id, 1)), Patch))!.value;
  expect([...patch.files].sort()).toEqual(['a.py', 'b.py', 'test_ab.py']);
  expect(patch.diff.match(/\+def test_fa_returns_one/g)).toHaveLength(1);
  expect(evs.filter((e) => e.type === 'patch.proposed')).toHaveLength(1);

  // The Tester: the written tests fail without the fixes and pass with them.
  const run = (await h.client.board.get(keys.testrun(id, 1), TestRun))!.value;
  expect(run.outcome).toBe('pass');
  expect(run.verdict?.reproduction?.status).toBe('confirmed');
  expect(run.verdict?.fixed.map((n) => n.split('::').at(-1)).sort()).toEqual([
    'test_fa_returns_one',
    'test_fb_returns_one',
  ]);
  const diff = gitIn(repo, 'diff', base, `codemesh/${id}`);
  expect(diff.match(/\+def test_fa_returns_one/g)).toHaveLength(1);
  expect(diff.match(/\+ {4}return 1/g)).toHaveLength(2);
  expect(gitIn(repo, 'rev-list', '--count', `${base}..codemesh/${id}`)).toBe('1');
}

describe('the test-writing part with a fanned-out code step', () => {
  it('keeps the written test once; the subtasks fix the code; the merged patch holds the test and both fixes', async () => {
    const { writer, subtasks, seen } = script();
    const { dir: repo, commit: base } = makeRepo(FILES);
    const id = await submit(repo);
    const done = await finished(id);
    expect(done.status, done.reason).toBe('completed');
    expect(writer).toHaveLength(1);
    expect([...new Set(subtasks)].sort()).toEqual(['a', 'b']);
    // Each subtask's Coder started from the kept test, and was told (before, they started from the base
    // commit without it, and the merge part added it last).
    for (const x of seen) {
      expect(x.testFile, x.subtask).toContain('def test_fa_returns_one');
      expect(x.prompt, x.subtask).toContain(
        'A test that reproduces the issue is already in the working tree',
      );
    }
    await expectTestAddedOnce(id, repo, base);
  }, 300_000);
});

describe('the test-writing part with k candidates', () => {
  it('every candidate starts from the kept test: each patch holds it once, and so does the commit', async () => {
    const { writer } = script();
    const { dir: repo, commit: base } = makeRepo(FILES);
    const id = await submit(repo, 2);
    const done = await finished(id);
    expect(done.status, done.reason).toBe('completed');
    expect(writer).toHaveLength(1);
    const evs = await events(id);
    expect(evs.filter((e) => e.type === 'reproduction.checked').map((e) => e.data.verdict)).toEqual(['kept']);
    const r1Done = evs.findIndex((e) => e.type === 'step.completed' && e.step?.part === 'r1');
    const firstCandidate = evs.findIndex((e) => e.type === 'step.awarded' && e.step?.part === 'c1');
    expect(firstCandidate).toBeGreaterThan(r1Done);
    for (const c of [1, 2]) {
      const patch = (await h.client.board.get(keys.patch(patchId(id, 1, c)), Patch))!.value;
      expect([...patch.files].sort()).toEqual(['a.py', 'b.py', 'test_ab.py']);
      expect(patch.diff.match(/\+def test_fa_returns_one/g)).toHaveLength(1);
      const run = (await h.client.board.get(keys.testrun(id, 1, c), TestRun))!.value;
      expect(run.outcome).toBe('pass');
      expect(run.verdict?.reproduction?.status).toBe('confirmed');
    }
    const diff = gitIn(repo, 'diff', base, `codemesh/${id}`);
    expect(diff.match(/\+def test_fa_returns_one/g)).toHaveLength(1);
    expect(diff.match(/\+ {4}return 1/g)).toHaveLength(2);
  }, 300_000);
});

describe('the Coder holding the test-writing part killed (separate processes)', () => {
  const procs: ChildProcess[] = [];
  afterAll(() => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  });

  it('re-awards the part to another Coder, which writes the test again; it is added once', async () => {
    // Only `codemesh actor coder` processes bid now.
    await Promise.allSettled(coders.splice(0).map((c) => c.stop()));
    const LEASE_MS = 1500;
    for (let i = 0; i < 2; i++) {
      const child = spawn(process.execPath, [join(CODEMESH_ROOT, 'bin', 'codemesh.js'), 'actor', 'coder'], {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          NATS_URL: h.mesh.natsUrl,
          CODEMESH_HOME: h.dataDir,
          CODEMESH_LEASE_MS: String(LEASE_MS),
          CODEMESH_CONCURRENCY: '1',
          ...h.env,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr?.on('data', () => undefined);
      procs.push(child);
    }
    let release: () => void = () => undefined;
    const hold = new Promise<void>((r) => {
      release = r;
    });
    // The first writer never gets its answer: it is killed while waiting for it.
    const { writer } = script(async (n) => {
      if (n === 1) await hold;
    });
    // Both processes must be listening before the task is announced.
    await new Promise((r) => setTimeout(r, 1000));
    const { dir: repo, commit: base } = makeRepo(FILES);
    const id = await submit(repo);

    const owners = join(h.dataDir, 'work', '.owners');
    const marker = await waitFor('the test writer to be at its model call', async () => {
      if (writer.length < 1 || !existsSync(owners)) return undefined;
      return readdirSync(owners).find((f) => f.startsWith(`${id}-code-1-r1-`));
    });
    const sid = `${id}-code-1-r1`;
    const first = (await h.client.board.get(keys.award(sid), Award))!.value;
    const { pid } = JSON.parse(readFileSync(join(owners, marker), 'utf8')) as { pid: number };
    process.kill(pid, 'SIGKILL');
    release();

    const done = await finished(id);
    expect(done.status, done.reason).toBe('completed');
    expect(writer).toHaveLength(2);
    const evs = await events(id);
    const r1 = evs.filter((e) => e.type === 'step.completed' && e.step?.part === 'r1');
    expect(r1.map((e) => e.data.state)).toEqual(['kept']);
    expect(r1[0]!.step?.round).toBeGreaterThan(first.round);
    const awarded = evs.filter((e) => e.type === 'step.awarded' && e.step?.part === 'r1');
    expect(awarded.map((e) => e.data.instanceId)).toHaveLength(2);
    expect(awarded[1]!.data.instanceId).not.toBe(first.instanceId);
    await expectTestAddedOnce(id, repo, base);
  }, 300_000);
});
