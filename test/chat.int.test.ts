// Chat with a task's agents (issue 11 item 7) on the whole mesh: the chat agent answers through the (scripted)
// model with the task's plan and retrieved context in its prompt and links in its answer; a message that
// narrows the scope becomes an audited change request that the task's Coder and Reviewer then work to; with
// the model down, the answer is the task's status, said to be so.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { answerQuestion } from '../actors/chat/agent.ts';
import { modelsFromEnv } from '../actors/mesh.ts';
import { schema } from '../actors/recorder/index.ts';
import { ChatQuestion } from '../schemas/api.ts';
import { ChangeRequests, keys } from '../schemas/index.ts';
import { git, makeFixtureRepo } from './fixture-repo.ts';
import { type Harness, readSse, startHarness } from './harness.ts';
import type { Script } from './scripted-llm/index.ts';
import { APPROVE, SUBTRACT_PLAN, subtractCoder } from './ts-calc-answers.ts';

const NARROW = 'Only touch subtract(); leave add() exactly as it is.';

type Msg = { role: string; content: string };
const messagesOf = (body: unknown) => (body as { messages: Msg[] }).messages;
let chatDown = false;

const script: Script = (req) => {
  const { roleHint } = req;
  const usage = { prompt_tokens: 50, completion_tokens: 10 };
  if (roleHint === 'chat') {
    if (chatDown) return { status: 503, content: 'model overloaded' };
    const last = messagesOf(req.body).at(-1)!.content;
    if (/leave add/i.test(last))
      return {
        usage,
        content: JSON.stringify({
          answer: 'Understood: the fix stays in subtract().',
          change_request: { kind: 'scope', text: NARROW },
        }),
      };
    return {
      usage,
      content: JSON.stringify({ answer: 'The plan fixes subtract (see the plan).', change_request: null }),
    };
  }
  if (roleHint === 'planner') return { usage, content: JSON.stringify(SUBTRACT_PLAN) };
  if (roleHint === 'reviewer') return APPROVE;
  return subtractCoder(req);
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  h.setScript(script);
});
afterAll(async () => h?.stop());

const userPrompts = (role: string) =>
  h.llm.calls
    .filter((c) => c.roleHint === role)
    .map((c) =>
      messagesOf(c.body)
        .map((m) => m.content)
        .join('\n'),
    );

async function chat(id: string, message: string, threadId?: string) {
  const res = await h.api(`/v1/chat/${id}`, { method: 'POST', body: JSON.stringify({ message, threadId }) });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as {
    threadId: string;
    answer: string;
    by: string;
    links: string[];
    changeRequest?: { id: string; kind: string; text: string; author: string };
  };
}

it('answers through the model with the task state, turns a narrowing into a change request the agents follow', {
  timeout: 180_000,
}, async () => {
  const repo = makeFixtureRepo('ts-calc');
  const base = git(repo, 'rev-parse', 'HEAD');
  const created = await h.api('/v1/tasks', {
    method: 'POST',
    body: JSON.stringify({
      repo,
      title: 'Fix subtract',
      description: 'subtract(5, 3) returns 8, expected 2.',
      approve: 'auto',
      gates: ['post-plan'],
    }),
  });
  expect(created.status).toBe(201);
  const id = ((await created.json()) as { task: { id: string } }).task.id;
  await h.waitForStatus(id, 'awaiting_plan_approval');

  // A question: the model's prompt holds the plan and the retrieved code; the answer links to them.
  const q = await chat(id, 'What is the plan?');
  expect(q.by).toBe('codemesh-chat-agent');
  expect(q.answer).toBe('The plan fixes subtract (see the plan).');
  expect(q.links).toEqual(expect.arrayContaining([`/v1/tasks/${id}`, `/v1/tasks/${id}/plan`]));
  expect(q.changeRequest).toBeUndefined();
  const seen = userPrompts('chat')[0]!;
  expect(seen).toContain(SUBTRACT_PLAN.summary);
  expect(seen).toContain('src/calc.ts:');
  expect(seen).toContain('What is the plan?');
  expect(seen).not.toContain('sk-test-secret-key');

  // A narrowing, in the same thread: recorded, audited, published; earlier turns go to the model.
  const c = await chat(id, 'Please leave add() alone.', q.threadId);
  expect(c.changeRequest).toMatchObject({ kind: 'scope', text: NARROW, author: expect.any(String) });
  expect(c.answer).toMatch(/Recorded as a scope change cr-/);
  expect(
    messagesOf(h.llm.calls.filter((x) => x.roleHint === 'chat').at(-1)!.body).map((m) => m.content),
  ).toEqual(expect.arrayContaining(['What is the plan?', 'The plan fixes subtract (see the plan).']));
  const board = await h.client.board.get(keys.changes(id), ChangeRequests);
  expect(board?.value.items.map((x) => x.text)).toEqual([NARROW]);
  const audit = await h.record.db
    .select({ detail: schema.auditLog.detail, target: schema.auditLog.target })
    .from(schema.auditLog)
    .where(eq(schema.auditLog.action, 'task.change_requested'));
  expect(audit).toEqual([{ target: id, detail: expect.objectContaining({ text: NARROW, kind: 'scope' }) }]);
  const events = await readSse(
    await h.api(`/v1/tasks/${id}/events`),
    (e) => e.type === 'task.change_requested',
  );
  expect(events.at(-1)?.event).toMatchObject({
    type: 'task.change_requested',
    data: { kind: 'scope', text: NARROW },
  });

  // Someone without the approver role asks the same: answered, not recorded.
  const viewer = await answerQuestion(
    h.client,
    ChatQuestion.parse({
      taskId: id,
      threadId: 'th-viewer1',
      message: 'Please leave add() alone.',
      history: [],
      author: 'v',
    }),
    { models: modelsFromEnv(h.env) },
  );
  expect(viewer.changeRequest).toBeUndefined();
  expect(viewer.answer).toMatch(/needs the approver role/);
  expect((await h.client.board.get(keys.changes(id), ChangeRequests))?.value.items).toHaveLength(1);

  // The chat's model call is on the task's ledger.
  const cost = (await (await h.api(`/v1/tasks/${id}`)).json()) as { cost: { calls: number } };
  expect(cost.cost.calls).toBeGreaterThanOrEqual(4); // planner + 3 chat

  const ok = await h.api(`/v1/tasks/${id}/plan/approve`, {
    method: 'POST',
    body: JSON.stringify({ decision: 'approve', comment: '' }),
  });
  expect(ok.status).toBe(202);
  const done = (await h.waitForStatus(id, 'completed')) as { task: { branch: string } };
  expect(git(repo, 'diff', base, done.task.branch)).toContain('+  return a - b;');
  for (const role of ['coder', 'reviewer']) {
    const prompts = userPrompts(role);
    expect(prompts.length, role).toBeGreaterThan(0);
    for (const p of prompts) expect(p, role).toContain(`[scope] ${NARROW}`);
  }

  // The task has ended: a narrowing now is answered but not recorded.
  const late = await chat(id, 'Also leave add() alone please.');
  expect(late.changeRequest).toBeUndefined();
  expect(late.answer).toMatch(/Not recorded as a change: the task has completed/);

  // The model is down: the facts from the blackboard, and the answer says why.
  chatDown = true;
  const down = await chat(id, 'Where are we?');
  expect(down.by).toBe('codemesh-status-agent');
  expect(down.answer).toContain('is completed');
  expect(down.answer).toMatch(/No model answered/);
  expect(down.answer).not.toContain('sk-test-secret-key');
});
