// Operations: index a repository (Curator), Prometheus metrics, redacted trace export, chat with a task.
import { and, asc, type Column, count, eq, sum } from 'drizzle-orm';
import type { Hono } from 'hono';
import { resolve as resolvePath } from 'node:path';
import { schema } from '../../actors/recorder/index.ts';
import {
  DeadLetterGoneError,
  DeadLetterNotFoundError,
  DeadLetterTaskEndedError,
  getDeadLetter,
  listDeadLetters,
  redriveDeadLetter,
} from '../../blackboard/index.ts';
import {
  CalibrationQuery,
  ChatAnswer,
  ChatBody,
  chatSubject,
  IndexMode,
  IndexRepoBody,
  ListDeadLettersQuery,
} from '../../schemas/api.ts';
import { newId } from '../../schemas/index.ts';
import { atLeast, visibleTaskIds } from '../access.ts';
import { requireScope } from '../auth.ts';
import { type Env, type Gateway, jsonBody, taskIdParam } from '../context.ts';
import { ApiError } from '../errors.ts';
import { calibrationMetrics } from '../calibration.ts';
import { gauge } from '../metrics.ts';
import { INDEXER_ERROR_STATUS } from '../types.ts';
import { redact } from '../redact.ts';

export function opsRoutes(app: Hono<Env>, gw: Gateway): void {
  const { db } = gw;

  app.post('/v1/repos/index', async (c) => {
    const p = c.get('principal');
    requireScope(p, 'repos:index');
    const req = IndexRepoBody.parse(await jsonBody(c, gw.limits.maxBodyBytes));
    const repo = req.repo.startsWith('/')
      ? await gw.access.repoByPath(resolvePath(req.repo))
      : await gw.access.repoById(req.repo);
    if (!repo || !atLeast(await gw.access.repoRole(p, repo), 'developer'))
      throw new ApiError(
        403,
        'REPO_NOT_REGISTERED',
        'this repository is not registered in any org where you are a developer',
      );
    if (!gw.opts.indexer)
      throw new ApiError(
        501,
        'INDEXER_NOT_WIRED',
        'repository indexing is not wired into this gateway (start it with the Curator: `codemesh up`)',
      );
    const s = await gw.opts.indexer
      .index({ repoPath: repo.path, commit: req.commit })
      .catch((err: unknown) => {
        const code = (err as { code?: unknown }).code;
        const status = typeof code === 'string' ? INDEXER_ERROR_STATUS[code] : undefined;
        if (!status || typeof code !== 'string') throw err;
        throw new ApiError(status, code.replace(/^curator\./, '').toUpperCase(), (err as Error).message);
      });
    const row = {
      id: newId('ix'),
      repoId: repo.id,
      commit: s.commit,
      files: s.files,
      chunks: s.chunks,
      symbols: s.symbols,
      source: s.source,
      ms: s.ms,
    };
    await db
      .insert(schema.indices)
      .values(row)
      .onConflictDoUpdate({
        target: [schema.indices.repoId, schema.indices.commit],
        set: { files: s.files, chunks: s.chunks, symbols: s.symbols, source: s.source, ms: s.ms },
      });
    const modes = Object.fromEntries((req.modes ?? IndexMode.options).map((m) => [m, s.modes[m] ?? {}]));
    return c.json({ index: { ...row, repoPath: repo.path, modes } }, 201);
  });

  app.get('/v1/metrics', async (c) => {
    const p = c.get('principal');
    requireScope(p, 'metrics:read');
    // The record's figures are the caller's orgs' (an instance admin: all of them). The HTTP figures below
    // (route patterns, statuses, latencies, open streams) are the process's: they name no task, repo or org.
    const vis = await gw.access.visibility(p);
    const visible = (taskId: Column) => visibleTaskIds(db, vis, taskId);
    const byStatus = await db
      .select({ status: schema.tasks.status, n: count() })
      .from(schema.tasks)
      .where(visible(schema.tasks.id))
      .groupBy(schema.tasks.status);
    const byType = await db
      .select({ type: schema.traces.type, n: count() })
      .from(schema.traces)
      .where(visible(schema.traces.taskId))
      .groupBy(schema.traces.type);
    const [tok] = await db
      .select({
        p: sum(schema.toolCalls.promptTokens),
        c: sum(schema.toolCalls.completionTokens),
        u: sum(schema.toolCalls.costUsd),
      })
      .from(schema.toolCalls)
      .where(visible(schema.toolCalls.taskId));
    const { calibration: cal } = await calibrationMetrics(db, 10, visible);
    const lines = [
      ...gauge(
        'codemesh_tasks',
        'Tasks in the record by status.',
        'gauge',
        byStatus.map((r) => [{ status: r.status }, r.n]),
      ),
      ...gauge(
        'codemesh_events_total',
        'Task events recorded, by type.',
        'counter',
        byType.map((r) => [{ type: r.type }, r.n]),
      ),
      ...gauge('codemesh_tokens_total', 'Model tokens used.', 'counter', [
        [{ kind: 'prompt' }, Number(tok?.p ?? 0)],
        [{ kind: 'completion' }, Number(tok?.c ?? 0)],
      ]),
      ...gauge('codemesh_cost_usd_total', 'Model cost in US dollars.', 'counter', [
        [{}, Number(tok?.u ?? 0)],
      ]),
      ...gauge('codemesh_sse_streams', 'Open event streams.', 'gauge', [[{}, gw.slots.total]]),
      ...gauge(
        'codemesh_confidence_labelled',
        'Reviewed patches whose outcome is labelled (human decision or evaluation).',
        'gauge',
        [[{}, cal.n]],
      ),
      ...gauge(
        'codemesh_confidence_brier',
        "Brier score of the labelled patches' confidence: the Reviewer model's own (raw) and the calibrated one.",
        'gauge',
        cal.n
          ? [
              [{ kind: 'raw' }, cal.raw.brier ?? 0],
              [{ kind: 'calibrated' }, cal.calibrated.brier ?? 0],
            ]
          : [],
      ),
      ...gw.metrics.render(),
    ];
    return c.body(`${lines.join('\n')}\n`, 200, {
      'content-type': 'text/plain; version=0.0.4; charset=utf-8',
    });
  });

  // Calibration of the recorded confidences against the outcomes labelled since (human decisions, evaluations).
  app.get('/v1/metrics/calibration', async (c) => {
    const p = c.get('principal');
    requireScope(p, 'metrics:read');
    const q = CalibrationQuery.parse(c.req.query());
    // Labelled outcomes are decisions about another org's patches: each caller sees its orgs' only.
    const vis = await gw.access.visibility(p);
    return c.json(await calibrationMetrics(db, q.bins, (taskId) => visibleTaskIds(db, vis, taskId)));
  });

  // What the durable consumers gave up on, and why. Instance administrators see every letter; a metrics:read
  // token sees the letters of tasks it may view (a letter carries the event: it must not cross orgs).
  app.get('/v1/deadletters', async (c) => {
    const p = c.get('principal');
    if (!p.superuser) requireScope(p, 'metrics:read');
    const q = ListDeadLettersQuery.parse(c.req.query());
    const items: Array<Record<string, unknown>> = [];
    let before = q.before;
    let scanned = 0;
    // Filtering may drop letters: read pages until the answer is full or 1000 letters were looked at.
    while (items.length < q.limit && scanned < 1000) {
      const page = await listDeadLetters(gw.mesh.jsm, { limit: q.limit, beforeSeq: before });
      if (page.length === 0) break;
      scanned += page.length;
      for (const { dlqSeq, letter } of page) {
        before = dlqSeq;
        if (!p.superuser) {
          if (!letter.taskId) continue;
          const ok = await gw.access.authorizeTask(p, letter.taskId, 'viewer').then(
            () => true,
            () => false,
          );
          if (!ok) continue;
        }
        items.push({ dlqSeq, ...(redact(letter) as object), payload: redact(letter.payload.slice(0, 4096)) });
        if (items.length >= q.limit) break;
      }
    }
    return c.json({ items, nextCursor: items.length >= q.limit && before ? before : null });
  });

  // Re-drive: the letter's message goes back on its original subject (every consumer sees it again) and the
  // letter leaves the dead-letter stream. An admin of the letter's task's repository, or an instance admin
  // (the only one for letters that name no task). Audited.
  app.post('/v1/deadletters/:seq/redrive', async (c) => {
    const p = c.get('principal');
    if (!p.superuser) requireScope(p, 'config:write');
    const raw = c.req.param('seq');
    if (!/^[1-9][0-9]{0,15}$/.test(raw))
      throw new ApiError(400, 'INVALID_ID', 'the id is not a dead-letter sequence (a positive integer)');
    const dlqSeq = Number(raw);
    const noLetter = () => new ApiError(404, 'DEAD_LETTER_NOT_FOUND', `no dead letter ${dlqSeq}`);
    const letter = await getDeadLetter(gw.mesh.jsm, dlqSeq);
    if (!letter) throw noLetter();
    let orgId: string | null = null;
    // A letter the caller may not view (GET /v1/deadletters would not list it) answers as a missing one.
    if (letter.taskId) {
      const { repo } = await gw.access.authorizeTask(p, letter.taskId, 'admin').catch((err: unknown) => {
        throw !p.superuser && err instanceof ApiError && err.status === 404 ? noLetter() : err;
      });
      orgId = repo?.orgId ?? null;
    } else if (!p.superuser) {
      throw noLetter();
    }
    let r: Awaited<ReturnType<typeof redriveDeadLetter>>;
    try {
      r = await redriveDeadLetter(gw.mesh.js, gw.mesh.jsm, dlqSeq, { board: gw.mesh.board });
    } catch (err) {
      if (err instanceof DeadLetterNotFoundError)
        throw new ApiError(404, 'DEAD_LETTER_NOT_FOUND', `no dead letter ${dlqSeq}`);
      if (err instanceof DeadLetterGoneError || err instanceof DeadLetterTaskEndedError)
        throw new ApiError(409, err.code, err.message);
      throw err;
    }
    const redriven = {
      dlqSeq,
      consumer: letter.consumer,
      stream: letter.stream,
      originalSeq: letter.seq,
      eventId: letter.eventId ?? null,
      taskId: letter.taskId ?? null,
      type: letter.type ?? null,
      subject: r.subject,
      seq: r.seq,
      duplicate: r.duplicate,
    };
    await gw.audit(p, 'deadletter.redrive', String(dlqSeq), orgId, redriven);
    return c.json({ redriven });
  });

  app.get('/v1/traces/:id', async (c) => {
    const p = c.get('principal');
    requireScope(p, 'traces:read');
    const id = taskIdParam(c.req.param('id'));
    await gw.access.authorizeTask(p, id, 'viewer');
    const byTask = <T extends { taskId: unknown }>(t: T) => eq(t.taskId as never, id);
    const lines: string[] = [];
    const emit = (kind: string, data: unknown) => lines.push(JSON.stringify({ kind, data: redact(data) }));
    const events = await db
      .select()
      .from(schema.traces)
      .where(eq(schema.traces.taskId, id))
      .orderBy(asc(schema.traces.seq));
    if (events.length > 0) for (const e of events) emit('event', e);
    else for (const e of await gw.mesh.bus.history(id)) emit('event', { seq: e.seq, ...e.event });
    const [task] = await db.select().from(schema.tasks).where(eq(schema.tasks.id, id));
    if (task) emit('task', task);
    for (const [kind, table] of [
      ['plan', schema.plans],
      ['patch', schema.patches],
      ['testrun', schema.testruns],
      ['review', schema.reviews],
      ['approval', schema.approvals],
      ['agent_run', schema.agentRuns],
      ['model_call', schema.toolCalls],
      ['branch', schema.prRecords],
      ['budget', schema.budgets],
    ] as const)
      for (const row of await db.select().from(table).where(byTask(table))) emit(kind, row);
    return c.body(`${lines.join('\n')}\n`, 200, {
      'content-type': 'application/x-ndjson; charset=utf-8',
      'content-disposition': `attachment; filename="${id}.jsonl"`,
    });
  });

  app.post('/v1/chat/:id', async (c) => {
    const p = c.get('principal');
    // Writing to a task's thread is a write: tasks:write, as documented.
    requireScope(p, 'tasks:write');
    const id = taskIdParam(c.req.param('id'));
    // The agent acts on the message (it reads the repository, may queue a change): a developer of the task's
    // repository, as for submitting a task; a viewer reads the task but does not talk to its agent.
    const { role, repo } = await gw.access.authorizeTask(p, id, 'developer');
    // A message may become a change request for the running task: only from those who may approve its gates.
    const mayChange = atLeast(role, 'approver') && p.scopes.has('patches:approve');
    const req = ChatBody.parse(await jsonBody(c, gw.limits.maxBodyBytes));
    const threadId = req.threadId ?? newId('th');
    const m = schema.chatMessages;
    const history = await db
      .select({ role: m.role, content: m.content, author: m.author })
      .from(m)
      .where(and(eq(m.taskId, id), eq(m.threadId, threadId)))
      .orderBy(asc(m.at), asc(m.id))
      .limit(200);
    if (req.threadId && history.length === 0)
      throw new ApiError(404, 'THREAD_NOT_FOUND', `no thread ${req.threadId} on task ${id}`);
    // Someone else's thread answers as a missing one: its id does not leak.
    if (req.threadId && !p.superuser && !history.some((h) => h.author === p.userId))
      throw new ApiError(404, 'THREAD_NOT_FOUND', `no thread ${req.threadId} on task ${id}`);
    const at = new Date(gw.now());
    await db.insert(m).values({
      id: newId('msg'),
      taskId: id,
      threadId,
      author: p.userId,
      role: 'user',
      content: req.message,
      at,
    });
    let answer: ChatAnswer;
    try {
      const reply = await gw.mesh.nc.request(
        chatSubject(id),
        JSON.stringify({
          taskId: id,
          threadId,
          message: req.message,
          history: history.map(({ role, content }) => ({ role, content })),
          author: p.userId,
          mayChange,
        }),
        // A model answers: seconds to a minute.
        { timeout: gw.opts.chatTimeoutMs ?? 90_000 },
      );
      answer = ChatAnswer.parse(reply.json());
    } catch {
      throw new ApiError(
        503,
        'NO_AGENT_ANSWER',
        'no agent answered; is the chat agent running (`codemesh actor chat`, or `codemesh up`)?',
      );
    }
    await db.insert(m).values({
      id: newId('msg'),
      taskId: id,
      threadId,
      author: answer.by,
      role: 'agent',
      content: answer.answer,
      at: new Date(at.getTime() + 1),
    });
    if (answer.changeRequest) {
      const cr = answer.changeRequest;
      await gw.audit(p, 'task.change_requested', id, repo?.orgId ?? null, {
        changeId: cr.id,
        kind: cr.kind,
        text: cr.text,
        threadId,
      });
    }
    return c.json({
      threadId,
      answer: answer.answer,
      by: answer.by,
      links: answer.links,
      ...(answer.changeRequest ? { changeRequest: answer.changeRequest } : {}),
      messages: history.length + 2,
    });
  });
}
