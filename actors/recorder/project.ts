// Projects one task event (and the blackboard entries it points at) onto the record. Idempotent: every write
// is keyed by an event id or a natural key with ON CONFLICT, so replaying a stream leaves the same rows.
import { basename } from 'node:path';
import { and, eq, sql } from 'drizzle-orm';
import type { Blackboard } from '../../blackboard/index.ts';
import {
  Approval,
  candidateOf,
  DEFAULT_ORG,
  keys,
  newId,
  Patch,
  Plan,
  PlanApproval,
  patchId as patchIdOf,
  Review,
  stepId,
  type TaskEvent,
  TaskRecord,
  TestRun,
} from '../../schemas/index.ts';
import type { RecordDb } from './db.ts';
import { projectMemoryStored } from './memory-rows.ts';
import {
  agentRuns,
  approvals,
  budgets,
  confidences,
  orgs,
  patches,
  plans,
  prRecords,
  repos,
  reviews,
  tasks,
  testruns,
  toolCalls,
  traces,
} from './schema.ts';

const TERMINAL_STATUS: Partial<Record<TaskEvent['type'], string>> = {
  'task.completed': 'completed',
  'task.failed': 'failed',
  'task.rolled_back': 'rolled_back',
  'task.abstained': 'abstained',
};

const d = (iso: string) => new Date(iso);

/**
 * The registered repository of a task. A task with no org was submitted outside the gateway (`codemesh run`,
 * the local operator, trusted with any path of its machine): its repository is registered in org `default`,
 * as tasks with no org use that org's settings, so the record and the API name it. A task of an org always
 * comes through the gateway, which registered its repository first.
 */
async function repoOf(db: RecordDb, task: TaskRecord): Promise<{ id: string; orgId: string } | undefined> {
  const find = async () =>
    (
      await db.select({ id: repos.id, orgId: repos.orgId }).from(repos).where(eq(repos.path, task.repoPath))
    )[0];
  const found = await find();
  if (found || task.orgId) return found;
  await db.insert(orgs).values({ id: DEFAULT_ORG, name: DEFAULT_ORG }).onConflictDoNothing();
  // One row per path (unique): a concurrent registration wins, and the second select reads it.
  await db
    .insert(repos)
    .values({ id: newId('r'), orgId: DEFAULT_ORG, path: task.repoPath, name: basename(task.repoPath) })
    .onConflictDoNothing();
  return find();
}

/** Upserts the task row from its blackboard record; returns false when neither the record nor a row exists. */
export async function upsertTask(
  db: RecordDb,
  task: TaskRecord,
  opts: { seq?: number; createdBy?: string } = {},
): Promise<void> {
  const repo = await repoOf(db, task);
  const row = {
    id: task.id,
    repoId: repo?.id ?? null,
    orgId: repo?.orgId ?? null,
    repoPath: task.repoPath,
    title: task.request.title,
    status: task.status,
    attempt: task.attempt,
    approveMode: task.request.approve,
    baseCommit: task.baseCommit,
    branch: task.branch ?? null,
    commit: task.commit ?? null,
    reason: task.reason ?? null,
    createdBy: opts.createdBy ?? task.createdBy ?? null,
    record: task,
    lastSeq: opts.seq ?? 0,
    createdAt: d(task.createdAt),
    updatedAt: d(task.updatedAt),
  };
  await db
    .insert(tasks)
    .values(row)
    .onConflictDoUpdate({
      target: tasks.id,
      set: {
        repoId: sql`coalesce(${tasks.repoId}, excluded.repo_id)`,
        orgId: sql`coalesce(${tasks.orgId}, excluded.org_id)`,
        createdBy: sql`coalesce(${tasks.createdBy}, excluded.created_by)`,
        status: row.status,
        attempt: row.attempt,
        branch: row.branch,
        commit: row.commit,
        reason: row.reason,
        record: row.record,
        updatedAt: row.updatedAt,
        lastSeq: sql`greatest(${tasks.lastSeq}, excluded.last_seq)`,
      },
    });
}

/**
 * Writes what `event` (stream sequence `seq`) says into the record. Blackboard entries it refers to are read
 * now; they are write-once, so a replay reads the same values.
 */
export async function projectEvent(
  db: RecordDb,
  board: Blackboard,
  seq: number,
  event: TaskEvent,
): Promise<void> {
  const taskId = event.taskId;
  await db
    .insert(traces)
    .values({
      eventId: event.id,
      taskId,
      seq,
      type: event.type,
      step: event.step ?? null,
      data: event.data,
      at: d(event.at),
    })
    .onConflictDoNothing();

  const record = (await board.get(keys.task(taskId), TaskRecord).catch(() => undefined))?.value;
  if (record) await upsertTask(db, record, { seq });
  const exists = record
    ? true
    : (await db.select({ id: tasks.id }).from(tasks).where(eq(tasks.id, taskId))).length > 0;
  // Without a task row the child rows have nothing to belong to; the trace above still keeps the event.
  if (!exists) return;
  const terminal = TERMINAL_STATUS[event.type];
  if (terminal && !record) await db.update(tasks).set({ status: terminal }).where(eq(tasks.id, taskId));
  // The conductor's record stays `completed` after a rollback (its workflow is final); the record says more.
  if (record?.status === 'completed')
    await db
      .update(tasks)
      .set({ status: 'rolled_back' })
      .where(
        and(
          eq(tasks.id, taskId),
          sql`exists (select 1 from ${traces} where ${traces.taskId} = ${taskId} and ${traces.type} = 'task.rolled_back')`,
        ),
      );

  const attempt = event.step?.attempt ?? record?.attempt ?? 1;
  switch (event.type) {
    case 'task.created':
      if (record) {
        const b = record.request.budget;
        await db
          .insert(budgets)
          .values({ taskId, maxAttempts: b.maxAttempts, maxCostUsd: b.maxCostUsd, maxTokens: b.maxTokens })
          .onConflictDoNothing();
      }
      return;
    case 'plan.ready': {
      const plan = (await board.get(keys.plan(taskId), Plan))?.value;
      if (plan)
        await db
          .insert(plans)
          .values({ taskId, summary: plan.summary, body: plan, createdAt: d(event.at) })
          .onConflictDoNothing();
      return;
    }
    case 'plan.approved': {
      // An approver's edit replaces the plan the record keeps (the audit log keeps who changed it and to what).
      const edited = (await board.get(keys.planapproval(taskId), PlanApproval))?.value.plan;
      if (edited)
        await db
          .insert(plans)
          .values({ taskId, summary: edited.summary, body: edited, createdAt: d(event.at) })
          .onConflictDoUpdate({ target: plans.taskId, set: { summary: edited.summary, body: edited } });
      return;
    }
    case 'patch.proposed': {
      const pid = typeof event.data.patchId === 'string' ? event.data.patchId : patchIdOf(taskId, attempt);
      const p = (await board.get(keys.patch(pid), Patch))?.value;
      if (p)
        await db
          .insert(patches)
          .values({
            id: p.id,
            taskId,
            attempt: p.attempt,
            baseCommit: p.baseCommit,
            diff: p.diff,
            files: p.files,
            summary: p.summary,
            additions: p.stats.additions,
            deletions: p.stats.deletions,
            createdAt: d(p.createdAt),
          })
          .onConflictDoNothing();
      return;
    }
    case 'test.completed': {
      // A candidate's test run (`c<i>`) is its own row: the record keeps every candidate.
      const t = (await board.get(keys.testrun(taskId, attempt, candidateOf(event.step?.part)), TestRun))
        ?.value;
      if (t)
        await db
          .insert(testruns)
          .values({
            id: t.id,
            taskId,
            attempt: t.attempt,
            patchId: t.patchId,
            runner: t.runner,
            command: t.command,
            passed: t.passed,
            exitCode: t.exitCode,
            timedOut: t.timedOut,
            counts: t.counts,
            tests: t.tests,
            log: t.log,
            durationMs: t.durationMs,
            createdAt: d(t.createdAt),
          })
          .onConflictDoNothing();
      return;
    }
    case 'review.completed': {
      const r = (await board.get(keys.review(taskId, attempt), Review))?.value;
      if (r)
        await db
          .insert(reviews)
          .values({
            id: r.id,
            taskId,
            attempt: r.attempt,
            patchId: r.patchId,
            decision: r.decision,
            confidence: r.confidence,
            critique: r.critique,
            risks: r.risks,
            createdAt: d(r.createdAt),
          })
          .onConflictDoNothing();
      if (r?.calibration)
        await db
          .insert(confidences)
          .values({
            patchId: r.patchId,
            taskId,
            attempt: r.attempt,
            model: r.calibration.model,
            raw: r.calibration.raw,
            calibrated: r.calibration.calibrated,
            features: r.calibration.features,
            createdAt: d(r.createdAt),
          })
          .onConflictDoNothing();
      return;
    }
    case 'memory.stored':
      await projectMemoryStored(db, board, event);
      return;
    case 'approval.granted':
    case 'approval.changes_requested': {
      const pid = String(event.data.patchId ?? '');
      // The board holds the patch's latest decision (a change request may be followed by an approval): the
      // row follows it, whichever of the events is projected (or projected again) first.
      const a = pid ? (await board.get(keys.approval(pid), Approval))?.value : undefined;
      if (a) {
        const row = { decision: a.decision, comment: a.comment, by: a.by, at: d(a.at) };
        await db
          .insert(approvals)
          .values({ patchId: pid, taskId, ...row })
          .onConflictDoUpdate({ target: approvals.patchId, set: row });
        // The human decision labels the patch's confidence; a rollback (below) outranks a later replay of it.
        await db
          .update(confidences)
          .set({
            label: a.decision === 'approve' ? 'approved' : 'changes_requested',
            labelSource: 'human',
            labeledAt: d(a.at),
          })
          .where(and(eq(confidences.patchId, pid), sql`${confidences.label} is distinct from 'rolled_back'`));
      }
      return;
    }
    case 'step.awarded':
    case 'step.completed':
    case 'step.failed': {
      if (!event.step) return;
      const round = event.step.round ?? 1;
      const id = `${stepId(taskId, event.step.kind, event.step.attempt, event.step.part)}#${round}`;
      const awarded = event.type === 'step.awarded';
      const state = awarded ? 'awarded' : event.type === 'step.completed' ? 'done' : 'failed';
      await db
        .insert(agentRuns)
        .values({
          id,
          taskId,
          kind: event.step.kind,
          attempt: event.step.attempt,
          round,
          instanceId: awarded ? String(event.data.instanceId ?? '') || null : null,
          state,
          reason: event.type === 'step.failed' ? String(event.data.reason ?? '') : null,
          startedAt: awarded ? d(event.at) : null,
          finishedAt: awarded ? null : d(event.at),
        })
        .onConflictDoUpdate({
          target: agentRuns.id,
          set: awarded
            ? {
                instanceId: sql`excluded.instance_id`,
                startedAt: sql`excluded.started_at`,
                state: sql`case when ${agentRuns.state} in ('done', 'failed') then ${agentRuns.state} else excluded.state end`,
              }
            : { state, reason: sql`excluded.reason`, finishedAt: sql`excluded.finished_at` },
        });
      return;
    }
    case 'cost.recorded': {
      const n = (k: string) => (typeof event.data[k] === 'number' ? (event.data[k] as number) : 0);
      await db
        .insert(toolCalls)
        .values({
          id: event.id.replace(/^cost:/, ''),
          taskId,
          kind: 'model',
          role: String(event.data.role ?? 'unknown'),
          model: typeof event.data.model === 'string' ? event.data.model : null,
          stepKind: event.step?.kind ?? null,
          attempt: event.step?.attempt ?? null,
          promptTokens: n('promptTokens'),
          completionTokens: n('completionTokens'),
          costUsd: n('costUsd'),
          at: d(event.at),
        })
        .onConflictDoNothing();
      // Totals are recomputed from the calls, so a replay cannot count a call twice.
      await db.execute(sql`
        update ${budgets} set
          prompt_tokens = s.p, completion_tokens = s.c, cost_usd = s.u, calls = s.n
        from (select coalesce(sum(prompt_tokens), 0)::int as p, coalesce(sum(completion_tokens), 0)::int as c,
                     coalesce(sum(cost_usd), 0)::float8 as u, count(*)::int as n
              from ${toolCalls} where task_id = ${taskId} and kind = 'model') s
        where ${budgets.taskId} = ${taskId}`);
      return;
    }
    case 'integrate.committed':
    case 'task.rolled_back': {
      const branch = event.data.branch;
      const commit = event.data.commit;
      if (typeof branch !== 'string' || typeof commit !== 'string') return;
      const kind = event.type === 'integrate.committed' ? 'integrate' : 'rollback';
      if (kind === 'rollback')
        await db
          .update(confidences)
          .set({ label: 'rolled_back', labelSource: 'human', labeledAt: d(event.at) })
          .where(and(eq(confidences.taskId, taskId), eq(confidences.label, 'approved')));
      await db
        .insert(prRecords)
        .values({ id: `${taskId}:${kind}:${branch}`, taskId, kind, branch, commit, createdAt: d(event.at) })
        .onConflictDoNothing();
      return;
    }
    default:
      return;
  }
}
