// DAG fan-out by bidding, end to end with the scripted model: subtasks on separate Coder instances (in this
// process and as `codemesh actor coder` processes), their patches merged 3-way into one, a conflict rebased,
// and a Coder killed with SIGKILL mid-subtask replaced by another without a doubled edit.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningActor, startActor } from '../actors/mesh.ts';
import { submitTask } from '../actors/conductor/submit.ts';
import { keys, Patch, patchId, SubtaskRecord, type TaskEvent, TaskRecord } from '../schemas/index.ts';
import { CODEMESH_ROOT } from './fixture-repo.ts';
import { type Harness, startHarness } from './harness.ts';
import type { ScriptedReply, ScriptRequest } from './scripted-llm/index.ts';
import { gitIn, makeRepo } from './temp-repo.ts';

const MODEL_MS = 400;
const block = (file: string, search: string, replace: string) =>
  `${file}\n<<<<<<< SEARCH\n${search}\n=======\n${replace}\n>>>>>>> REPLACE\n`;

/** Three modules, each with a function returning 0 that should return 1, and a test per module. */
const THREE_FILES = {
  'a.py': 'def fa():\n    return 0\n',
  'b.py': 'def fb():\n    return 0\n',
  'c.py': 'def fc():\n    return 0\n',
  'test_abc.py':
    'from a import fa\nfrom b import fb\nfrom c import fc\n\n\ndef test_a():\n    assert fa() == 1\n\n\ndef test_b():\n    assert fb() == 1\n\n\ndef test_c():\n    assert fc() == 1\n',
};

const plan = (subtasks: Array<{ id: string; files?: string[]; dependsOn?: string[] }>) =>
  JSON.stringify({
    summary: 'fan out',
    subtasks: subtasks.map((s) => ({ title: `Subtask ${s.id}`, successCriteria: ['tests pass'], ...s })),
    risks: [],
  });

function userText(req: ScriptRequest): string {
  return (req.body.messages ?? [])
    .filter((m) => m.role === 'user')
    .map((m) => String(m.content ?? ''))
    .join('\n');
}
const subtaskIn = (req: ScriptRequest) => /Your subtask: \[([^\]]+)\]/.exec(userText(req))?.[1];

const APPROVE = {
  content: JSON.stringify({ decision: 'approve', confidence: 0.9, critique: 'ok', risks: [] }),
};

interface Window {
  subtask: string;
  start: number;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
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
  h = await startHarness({ roles: ['conductor', 'planner', 'tester', 'reviewer', 'integrator'] });
  for (const id of ['coder-a', 'coder-b', 'coder-c'])
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

async function finished(taskId: string, ms = 90_000): Promise<TaskRecord> {
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

describe('fan-out of a plan over Coder instances', () => {
  it('runs 3 subtasks on 3 files on 3 Coders at once and merges their patches into one', async () => {
    const windows: Window[] = [];
    h.setScript(async (req) => {
      if (req.roleHint === 'planner') return { content: plan([{ id: 'a' }, { id: 'b' }, { id: 'c' }]) };
      if (req.roleHint === 'reviewer') return APPROVE;
      const s = subtaskIn(req);
      if (!s) return { content: 'no subtask in the prompt' };
      windows.push({ subtask: s, start: Date.now() });
      return {
        delayMs: MODEL_MS,
        content: block(`${s}.py`, `def f${s}():\n    return 0`, `def f${s}():\n    return 1`),
      };
    });
    const { dir: repo, commit: base } = makeRepo(THREE_FILES);
    const task = await submitTask(h.client, { repo, title: 'Make fa, fb, fc return 1', approve: 'auto' });
    const done = await finished(task.id);
    expect(done.status, done.reason).toBe('completed');

    // Three Coder instances, one subtask each, their model calls overlapping in time.
    const recs = await Promise.all(
      ['a', 'b', 'c'].map(
        async (s) => (await h.client.board.get(keys.subtask(task.id, 1, s), SubtaskRecord))!.value,
      ),
    );
    expect(new Set(recs.map((r) => r.owner))).toEqual(new Set(['coder-a', 'coder-b', 'coder-c']));
    expect(recs.map((r) => r.state)).toEqual(['merged', 'merged', 'merged']);
    expect(recs.map((r) => r.patch?.files)).toEqual([['a.py'], ['b.py'], ['c.py']]);
    expect(windows.map((w) => w.subtask).sort()).toEqual(['a', 'b', 'c']);
    // Step windows (awarded → completed) of the three subtasks overlap: all three were under way at once.
    const evs = await events(task.id);
    const at = (type: string, part: string) =>
      Date.parse(evs.find((e) => e.type === type && e.step?.part === part)!.at);
    const latestAward = Math.max(...['s0-a', 's0-b', 's0-c'].map((p) => at('step.awarded', p)));
    const firstDone = Math.min(...['s0-a', 's0-b', 's0-c'].map((p) => at('step.completed', p)));
    expect(latestAward).toBeLessThan(firstDone);

    // One merged patch, one commit with the three edits.
    const patch = (await h.client.board.get(keys.patch(patchId(task.id, 1)), Patch))!.value;
    expect(patch.files.sort()).toEqual(['a.py', 'b.py', 'c.py']);
    expect(gitIn(repo, 'rev-list', '--count', `${base}..codemesh/${task.id}`)).toBe('1');
    const diff = gitIn(repo, 'diff', base, `codemesh/${task.id}`);
    for (const s of ['a', 'b', 'c']) expect(diff).toContain(`def f${s}():\n-    return 0\n+    return 1`);

    expect(evs.filter((e) => e.type === 'patch.proposed')).toHaveLength(1);
    const parts = evs
      .filter((e) => e.type === 'step.completed' && e.step?.kind === 'code')
      .map((e) => e.step?.part);
    expect(parts.sort()).toEqual(['m0', 's0-a', 's0-b', 's0-c']);
    expect(new Set(evs.map((e) => e.id)).size).toBe(evs.length);
  }, 120_000);

  it('rebases the later of two subtasks whose edits of one file conflict, and keeps both edits', async () => {
    const prompts: Array<{ subtask: string; text: string }> = [];
    const OPS = 'def sub(a, b):\n    return a + b\n';
    h.setScript(async (req): Promise<ScriptedReply> => {
      if (req.roleHint === 'planner') return { content: plan([{ id: 'fix' }, { id: 'doc' }]) };
      if (req.roleHint === 'reviewer') return APPROVE;
      const s = subtaskIn(req) ?? '';
      const text = userText(req);
      prompts.push({ subtask: s, text });
      if (s === 'fix')
        return {
          delayMs: 100,
          content: block('ops.py', 'def sub(a, b):\n    return a + b', 'def sub(a, b):\n    return a - b'),
        };
      // The doc subtask's first go edits the line next to the fix; on its rebase it sees the fix and keeps it.
      return text.includes('Your earlier patch for this subtask conflicted')
        ? {
            content: block(
              'ops.py',
              'def sub(a, b):\n    return a - b',
              'def sub(a, b):  # a minus b\n    return a - b',
            ),
          }
        : {
            delayMs: 300,
            content: block(
              'ops.py',
              'def sub(a, b):\n    return a + b',
              'def sub(a, b):  # a minus b\n    return a + b',
            ),
          };
    });
    const { dir: repo, commit: base } = makeRepo({
      'ops.py': OPS,
      'test_ops.py': 'from ops import sub\n\n\ndef test_sub():\n    assert sub(5, 3) == 2\n',
    });
    const task = await submitTask(h.client, { repo, title: 'Fix and document sub', approve: 'auto' });
    const done = await finished(task.id);
    expect(done.status, done.reason).toBe('completed');

    const evs = await events(task.id);
    const conflicts = evs.filter((e) => e.type === 'subtask.conflict');
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]!.data).toMatchObject({ subtask: 'doc', with: ['fix'], action: 'rebase' });
    // The rebase saw the other subtask's patch.
    const rebase = prompts.find((p) => p.subtask === 'doc' && p.text.includes('conflicted'));
    expect(rebase?.text).toContain('+    return a - b');

    const doc = (await h.client.board.get(keys.subtask(task.id, 1, 'doc'), SubtaskRecord))!.value;
    expect(doc).toMatchObject({ state: 'merged', rebase: 1, part: 's1-doc', onto: ['fix'] });
    expect(gitIn(repo, 'show', `codemesh/${task.id}:ops.py`)).toBe(
      'def sub(a, b):  # a minus b\n    return a - b',
    );
    expect(gitIn(repo, 'rev-list', '--count', `${base}..codemesh/${task.id}`)).toBe('1');
  }, 120_000);

  it('serializes subtasks that declare the same file: the second starts from the first one’s patch', async () => {
    const starts: Record<string, number> = {};
    h.setScript(async (req): Promise<ScriptedReply> => {
      if (req.roleHint === 'planner')
        return {
          content: plan([
            { id: 'one', files: ['ops.py'] },
            { id: 'two', files: ['ops.py'] },
          ]),
        };
      if (req.roleHint === 'reviewer') return APPROVE;
      const s = subtaskIn(req) ?? '';
      starts[s] ??= Date.now();
      return s === 'one'
        ? {
            delayMs: 200,
            content: block('ops.py', '    return a + b', '    return a - b'),
          }
        : {
            content: block(
              'ops.py',
              'def sub(a, b):\n    return a - b',
              'def sub(a, b):  # minus\n    return a - b',
            ),
          };
    });
    const { dir: repo } = makeRepo({
      'ops.py': 'def sub(a, b):\n    return a + b\n',
      'test_ops.py': 'from ops import sub\n\n\ndef test_sub():\n    assert sub(5, 3) == 2\n',
    });
    const task = await submitTask(h.client, { repo, title: 'Two edits of one file', approve: 'auto' });
    const done = await finished(task.id);
    expect(done.status, done.reason).toBe('completed');
    const one = (await h.client.board.get(keys.subtask(task.id, 1, 'one'), SubtaskRecord))!.value;
    const two = (await h.client.board.get(keys.subtask(task.id, 1, 'two'), SubtaskRecord))!.value;
    expect(two.onto).toEqual(['one']);
    expect(starts.two).toBeGreaterThanOrEqual(Date.parse(one.patch!.at));
    expect((await events(task.id)).filter((e) => e.type === 'subtask.conflict')).toHaveLength(0);
    expect(gitIn(repo, 'show', `codemesh/${task.id}:ops.py`)).toBe(
      'def sub(a, b):  # minus\n    return a - b',
    );
  }, 120_000);
});

describe('a subtask Coder killed mid-work (separate processes)', () => {
  const procs: ChildProcess[] = [];
  afterAll(() => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  });

  it('re-awards the subtask to another Coder; one patch, no doubled edit', async () => {
    // Only `codemesh actor coder` processes bid now.
    await Promise.allSettled(coders.splice(0).map((c) => c.stop()));
    const LEASE_MS = 1500;
    for (let i = 0; i < 3; i++) {
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
    let bCalls = 0;
    let held: () => void = () => undefined;
    const hold = new Promise<void>((r) => {
      held = r;
    });
    h.setScript(async (req): Promise<ScriptedReply> => {
      if (req.roleHint === 'planner') return { content: plan([{ id: 'a' }, { id: 'b' }, { id: 'c' }]) };
      if (req.roleHint === 'reviewer') return APPROVE;
      const s = subtaskIn(req) ?? '';
      // The first Coder on subtask b never gets its answer: it is killed while waiting for it.
      if (s === 'b' && ++bCalls === 1) await hold;
      return { content: block(`${s}.py`, `def f${s}():\n    return 0`, `def f${s}():\n    return 1`) };
    });
    // The three processes must be listening before the task is announced.
    await new Promise((r) => setTimeout(r, 500));
    const { dir: repo, commit: base } = makeRepo(THREE_FILES);
    const task = await submitTask(h.client, { repo, title: 'Make fa, fb, fc return 1', approve: 'auto' });

    const owners = join(h.dataDir, 'work', '.owners');
    const marker = await waitFor(
      'subtask b to be at its model call',
      async () => {
        if (bCalls < 1 || !existsSync(owners)) return undefined;
        return readdirSync(owners).find((f) => f.startsWith(`${task.id}-code-1-s0-b-`));
      },
      60_000,
    );
    const first = (await h.client.board.get(keys.subtask(task.id, 1, 'b'), SubtaskRecord))!.value;
    const { pid } = JSON.parse(readFileSync(join(owners, marker), 'utf8')) as { pid: number };
    process.kill(pid, 'SIGKILL');
    held();

    const done = await finished(task.id, 90_000);
    expect(done.status, done.reason).toBe('completed');
    const b = (await h.client.board.get(keys.subtask(task.id, 1, 'b'), SubtaskRecord))!.value;
    expect(b.round).toBeGreaterThan(first.round);
    expect(b.owner).not.toBe(first.owner);
    expect(bCalls).toBe(2);

    // One patch, one commit, each edit once.
    const evs = await events(task.id);
    expect(evs.filter((e) => e.type === 'patch.proposed')).toHaveLength(1);
    expect(
      evs.filter((e) => e.type === 'step.completed' && e.step?.part === 's0-b').map((e) => e.step?.round),
    ).toEqual([b.round]);
    const diff = gitIn(repo, 'diff', base, `codemesh/${task.id}`);
    expect(diff.match(/\+ {4}return 1/g)).toHaveLength(3);
    expect(gitIn(repo, 'rev-list', '--count', `${base}..codemesh/${task.id}`)).toBe('1');
  }, 150_000);
});
