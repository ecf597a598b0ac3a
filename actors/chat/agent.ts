// The chat agent (`codemesh actor chat`): answers `POST /v1/chat/{task}` over NATS request/reply
// (`cm.chat.<taskId>`, queue group `chat`) through a model that sees the task's plan, retrieved context, diffs,
// test runs, reviews, costs and earlier change requests, with API links to them. A message that refines the
// task's scope or constraints becomes a change request on the blackboard (`changes.<task>`, event
// `task.change_requested`) that the task's next Coder and Reviewer steps read; the gateway audits it. With no
// model answering, the task's status from the blackboard is the answer, and it says so.
import { createHash } from 'node:crypto';
import type { Subscription } from '@nats-io/transport-node';
import { z } from 'zod';
import type { MeshConnection } from '../../blackboard/index.ts';
import { type ChatAnswer, ChatQuestion, chatSubjectAll } from '../../schemas/api.ts';
import { type ChangeRequest, DEFAULT_ORG, TaskRecord, type TaskStatus, keys } from '../../schemas/index.ts';
import { type ChatMessage, type ChatResult, roleMarker, toCostEntry } from '../llm/index.ts';
import { estimateCall } from '../runtime/budget.ts';
import { addChangeRequest } from '../runtime/change-requests.ts';
import { DEFAULT_MODEL_GUARD } from '../runtime/guard-options.ts';
import { appendCost, extractJson } from '../runtime/model-call.ts';
import { reserveQuota, settleQuota } from '../runtime/quota.ts';
import type { ModelProvider } from '../runtime/types.ts';
import { taskBrief } from './brief.ts';
import { summarizeTask } from './summary.ts';

export const CHAT_AGENT = 'codemesh-chat-agent';

/** What the model must answer: the reply, and a change request when the message asks for one. */
const ModelReply = z.object({
  answer: z.string().min(1).max(8000),
  change_request: z
    .object({ kind: z.enum(['scope', 'constraint']), text: z.string().trim().min(1).max(2000) })
    .nullish(),
});

const ENDED: readonly TaskStatus[] = ['completed', 'failed', 'rolled_back', 'rolling_back', 'abstained'];
const HISTORY_TURNS = 20;

export interface ChatAgentOptions {
  models: ModelProvider;
  now?: () => number;
  log?: (line: string) => void;
}

export function chatSystem(): string {
  return `${roleMarker('chat')} You are codemesh's chat agent. You answer questions about one coding task that a
mesh of agents (Planner, Coder, Tester, Reviewer, Integrator) works on, from the task state below only: its
plan, the code context retrieved for it, its patches, test runs, reviews and costs. Be short and exact; cite
the API links given with the facts you use; never invent a test result or a file. When the user asks to change
what the task should do (its scope: what to change or leave alone) or how (a constraint: e.g. "do not touch
the public API", "keep Python 3.8 support"), say how you understood it and put it in change_request; for a
question, change_request is null. Reply with one JSON object and nothing else:
{"answer": string, "change_request": null | {"kind": "scope"|"constraint", "text": string}}`;
}

/** Answers one question (exported for tests and for in-process use). */
export async function answerQuestion(
  mesh: MeshConnection,
  q: ChatQuestion,
  opts: ChatAgentOptions,
): Promise<ChatAnswer> {
  const now = opts.now ?? Date.now;
  const task = (await mesh.board.get(keys.task(q.taskId), TaskRecord))?.value;
  if (!task)
    return { answer: `I have no state for task ${q.taskId} on the blackboard.`, by: CHAT_AGENT, links: [] };
  const brief = await taskBrief(mesh.board, task);
  const messages: ChatMessage[] = [
    { role: 'system', content: chatSystem() },
    { role: 'user', content: `The task's state now:\n\n${brief.text}` },
    ...q.history
      .slice(-HISTORY_TURNS)
      .map(
        (h): ChatMessage =>
          h.role === 'user'
            ? { role: 'user', content: h.content.slice(0, 4000) }
            : { role: 'assistant', content: h.content.slice(0, 4000) },
      ),
    { role: 'user', content: q.message },
  ];
  let reply: z.infer<typeof ModelReply>;
  try {
    const client = opts.models('chat', { orgId: task.orgId });
    // The org's daily quota counts chat too: an org over it gets the status answer, naming the quota.
    const org = task.orgId ?? DEFAULT_ORG;
    const prices = (await client.target?.()) ?? { priceInPer1k: 0, priceOutPer1k: 0 };
    const quota = await reserveQuota(
      mesh.board,
      org,
      estimateCall({ messages }, prices, DEFAULT_MODEL_GUARD.reserveTokens),
      { now: now(), ttlMs: DEFAULT_MODEL_GUARD.reservationTtlMs, holder: `${task.id}:chat` },
    );
    let result: ChatResult;
    try {
      result = await client.chat({ role: 'chat', taskId: task.id, messages, responseFormat: 'json' });
    } catch (err) {
      if (quota) await settleQuota(mesh.board, org, quota, undefined);
      throw err;
    }
    if (quota)
      await settleQuota(mesh.board, org, quota, {
        tokens: result.usage.promptTokens + result.usage.completionTokens,
        usd: result.costUsd,
        calls: 1,
      });
    await appendCost(mesh.board, task.id, toCostEntry(result, 'chat', new Date(now())));
    reply = ModelReply.parse(extractJson(result.message.content));
  } catch (err) {
    opts.log?.(`chat: no model answer for ${task.id}: ${(err as Error).message}`);
    return {
      answer: `${await summarizeTask(mesh, q)}\n\n(No model answered — ${(err as Error).message.slice(0, 300)} — so this is the task's status from the blackboard.)`,
      by: 'codemesh-status-agent',
      links: brief.links,
    };
  }
  const answer: ChatAnswer = { answer: reply.answer, by: CHAT_AGENT, links: brief.links };
  const asked = reply.change_request;
  if (!asked) return answer;
  if (!q.mayChange) {
    answer.answer += `\n\n(Not recorded as a change: changing a task needs the approver role on its repository.)`;
    return answer;
  }
  if (ENDED.includes(task.status)) {
    answer.answer += `\n\n(Not recorded as a change: the task has ${task.status.replaceAll('_', ' ')}. File a new task instead.)`;
    return answer;
  }
  const cr: ChangeRequest = {
    // The same message in the same thread at the same point is one change, however often it is delivered.
    id: `cr-${createHash('sha256')
      .update(JSON.stringify([task.id, q.threadId, q.history.length, q.message]))
      .digest('hex')
      .slice(0, 20)}`,
    taskId: task.id,
    kind: asked.kind,
    text: asked.text,
    author: q.author,
    threadId: q.threadId,
    at: new Date(now()).toISOString(),
  };
  if (!(await addChangeRequest(mesh.board, cr))) {
    answer.answer += '\n\n(Not recorded as a change: this task already holds 100 change requests.)';
    return answer;
  }
  await mesh.bus.publish({
    id: `change:${cr.id}`,
    taskId: task.id,
    type: 'task.change_requested',
    at: cr.at,
    data: { changeId: cr.id, kind: cr.kind, text: cr.text, author: cr.author },
  });
  const when =
    task.status === 'awaiting_approval'
      ? 'the patch waiting at the gate predates it: ask for changes there to have it redone with this'
      : 'the next Coder and Reviewer steps of this task work to it';
  answer.answer += `\n\n(Recorded as a ${cr.kind} change ${cr.id}: ${when}.)`;
  return { ...answer, changeRequest: cr };
}

/** Subscribes (queue group `chat`) and answers every question until `stop`. */
export function startChatAgent(mesh: MeshConnection, opts: ChatAgentOptions): { stop(): void } {
  const sub: Subscription = mesh.nc.subscribe(chatSubjectAll, {
    queue: 'chat',
    callback: (err, msg) => {
      if (err) return;
      void (async () => {
        let answer: ChatAnswer;
        try {
          answer = await answerQuestion(mesh, ChatQuestion.parse(msg.json()), opts);
        } catch (e) {
          answer = {
            answer: `I could not read the task's state: ${(e as Error).message}`,
            by: CHAT_AGENT,
            links: [],
          };
        }
        msg.respond(JSON.stringify(answer));
      })();
    },
  });
  return { stop: () => sub.unsubscribe() };
}
