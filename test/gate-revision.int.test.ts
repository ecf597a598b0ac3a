// Never losing an approved patch, on the whole mesh (issue 13 item 3): patch 1 passes its tests and the
// Reviewer approves it; a human requests changes; the revision fails; the task is back at the gate with
// patch 1 (an event and the task resource say so), and approving it integrates patch 1.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TaskEvent } from '../schemas/index.ts';
import { git, makeFixtureRepo } from './fixture-repo.ts';
import { type Harness, readSse, startHarness } from './harness.ts';
import type { Script, ScriptRequest } from './scripted-llm/index.ts';
import { APPROVE, SUBTRACT_EDIT, SUBTRACT_PLAN, subtractCoder, USAGE } from './ts-calc-answers.ts';

const ASK = 'Also make subtract reject NaN.';

const texts = (req: ScriptRequest) => (req.body.messages ?? []).map((m) => String(m.content ?? ''));

// Stateless: the revision (its prompt carries the human's request) only ever sends blocks that match nothing.
const script: Script = (req) => {
  if (req.roleHint === 'planner') return { usage: USAGE, content: JSON.stringify(SUBTRACT_PLAN) };
  if (req.roleHint === 'reviewer') return APPROVE;
  if (texts(req).some((t) => t.includes(ASK))) {
    const n = texts(req).length;
    return {
      usage: USAGE,
      content: `src/calc.ts\n<<<<<<< SEARCH\nexport function nothing${n}() {}\n=======\nexport function other${n}() {}\n>>>>>>> REPLACE\n`,
    };
  }
  return subtractCoder(req);
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  h.setScript(script);
});
afterAll(async () => h?.stop());

interface TaskBody {
  task: {
    status: string;
    attempt: number;
    branch?: string;
    reason?: string;
    approvable?: string[];
    revisionFailed?: { attempt: number; patchId: string; reason: string };
    workflow: { context: Record<string, unknown> };
  };
}

it('a failed revision brings the task back to the gate with the approved patch, which can still be approved', {
  timeout: 240_000,
}, async () => {
  const repo = makeFixtureRepo('ts-calc');
  const base = git(repo, 'rev-parse', 'HEAD');
  const created = await h.api('/v1/tasks', {
    method: 'POST',
    body: JSON.stringify({
      repo,
      title: 'Fix subtract',
      description: 'subtract(5, 3) returns 8, expected 2.',
    }),
  });
  expect(created.status).toBe(201);
  const id = ((await created.json()) as { task: { id: string } }).task.id;
  const p1 = `${id}-p1`;
  const sse = h.api(`/v1/tasks/${id}/events`).then((r) => readSse(r, (e) => e.type === 'task.completed'));

  const first = (await h.waitForStatus(id, 'awaiting_approval', 120_000)) as unknown as TaskBody & {
    testRuns: Array<{ passed: boolean }>;
    reviews: Array<{ decision: string }>;
  };
  expect(first.testRuns.map((t) => t.passed)).toEqual([true]);
  expect(first.reviews.map((r) => r.decision)).toEqual(['approve']);
  expect(first.task.approvable).toEqual([p1]);

  // An empty change request is refused; a real one starts the revision.
  const empty = await h.api(`/v1/patches/${p1}/approve`, {
    method: 'POST',
    body: JSON.stringify({ decision: 'request_changes', comment: ' ' }),
  });
  expect(empty.status).toBe(400);
  const asked = await h.api(`/v1/patches/${p1}/approve`, {
    method: 'POST',
    body: JSON.stringify({ decision: 'request_changes', comment: ASK }),
  });
  expect(asked.status).toBe(202);

  // The revision's Coder cannot apply anything: the task comes back to the gate with patch 1.
  const back = await waitFor(id, (b) => b.task.status === 'awaiting_approval' && !!b.task.revisionFailed);
  expect(back.task.attempt).toBe(2);
  expect(back.task.workflow.context.patchId).toBe(p1);
  expect(back.task.approvable).toEqual([p1]);
  expect(back.task.revisionFailed).toMatchObject({ attempt: 2, patchId: p1 });
  expect(back.task.revisionFailed!.reason).not.toBe('');
  expect(back.task.reason).toBeUndefined();
  // The revision's Coder started from patch 1 and got the human's request.
  const revisionPrompt = h.llm.calls
    .filter((c) => c.roleHint === 'coder')
    .map((c) => JSON.stringify(c.body))
    .find((b) => b.includes(ASK));
  expect(revisionPrompt).toBeDefined();
  expect(revisionPrompt).toContain('return a - b');

  const approved = await h.api(`/v1/patches/${p1}/approve`, {
    method: 'POST',
    body: JSON.stringify({ decision: 'approve' }),
  });
  expect(approved.status).toBe(202);
  const done = (await h.waitForStatus(id, 'completed', 120_000)) as unknown as TaskBody;
  const branch = `codemesh/${id}`;
  expect(done.task.branch).toBe(branch);
  expect(git(repo, 'log', '-1', '--format=%B', branch)).toContain(`Codemesh-Patch: ${p1}`);
  expect(git(repo, 'diff', base, branch)).toContain('+  return a - b;');

  const events = (await sse).map((e) => e.event);
  const failed = events.find((e) => e.type === 'revision.failed') as TaskEvent;
  expect(failed.data).toMatchObject({ attempt: 2, patchId: p1, gate: 2 });
  const gates = events.filter((e) => e.type === 'approval.requested').map((e) => e.data);
  expect(gates).toEqual([
    expect.objectContaining({ patchId: p1, gate: 1 }),
    expect.objectContaining({
      patchId: p1,
      gate: 2,
      revisionFailed: expect.objectContaining({ patchId: p1 }),
    }),
  ]);
  const order = events.map((e) => e.type);
  expect(order.indexOf('revision.failed')).toBeLessThan(order.lastIndexOf('approval.requested'));
  expect(order).not.toContain('task.failed');
  expect(SUBTRACT_EDIT).toContain('return a - b');
});

async function waitFor(id: string, ok: (b: TaskBody) => boolean, timeoutMs = 120_000): Promise<TaskBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const b = (await (await h.api(`/v1/tasks/${id}`)).json()) as TaskBody;
    if (ok(b)) return b;
    if (['completed', 'failed'].includes(b.task.status))
      throw new Error(`task ended ${b.task.status}: ${b.task.reason}`);
    if (Date.now() > deadline) throw new Error(`task ${id} still ${b.task.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
