// Puts unfinished tasks back on an empty (or partly lost) blackboard from the record.
import { and, asc, eq, notInArray } from 'drizzle-orm';
import type { Blackboard } from '../../blackboard/index.ts';
import { ORG_POLICY_KIND, OrgPolicyHistory } from '../../schemas/api.ts';
import {
  Approval,
  CostLedger,
  keys,
  OrgPolicyEntry,
  Patch,
  Plan,
  Review,
  TaskRecord,
  TestRun,
} from '../../schemas/index.ts';
import type { RecordDb } from './db.ts';
import { restoreMemories } from './memory-rows.ts';
import { approvals, patches, plans, policies, reviews, tasks, testruns, toolCalls } from './schema.ts';

export interface RebuildReport {
  tasks: string[];
  /** Entries written, by kind; entries already on the board are left as they are. */
  written: Record<
    'task' | 'plan' | 'patch' | 'testrun' | 'review' | 'approval' | 'cost' | 'memory' | 'orgpolicy',
    number
  >;
}

const FINISHED = ['completed', 'failed', 'rolled_back', 'abstained'];

/**
 * Restores, for every task the record holds as unfinished: the task record (with its workflow state as last
 * projected), its plan, patches, test runs, reviews, approvals and cost ledger (model calls). It does not
 * restore awards or path locks: those are leases, and the conductor announces the current step again.
 * Partial by design: state written after the last projected event is not in the record. The experience
 * memory's entries (of every task, finished or not) are put back too: later tasks recall them. So is each
 * org's last policy bundle revision (`orgpolicy.<org>`), which every machine's policy check reads; a board
 * holding that revision or a later one is left as it is.
 */
export async function rebuildBlackboard(db: RecordDb, board: Blackboard): Promise<RebuildReport> {
  const report: RebuildReport = {
    tasks: [],
    written: {
      task: 0,
      plan: 0,
      patch: 0,
      testrun: 0,
      review: 0,
      approval: 0,
      cost: 0,
      memory: 0,
      orgpolicy: 0,
    },
  };
  const put = async (kind: keyof RebuildReport['written'], created: Promise<{ created: boolean }>) => {
    if ((await created).created) report.written[kind]++;
  };
  const keep = () => true;
  const open = await db
    .select()
    .from(tasks)
    .where(notInArray(tasks.status, FINISHED))
    .orderBy(asc(tasks.createdAt));
  for (const t of open) {
    const record = TaskRecord.safeParse(t.record);
    if (!record.success) continue;
    report.tasks.push(t.id);
    await put('task', board.putOnce(keys.task(t.id), TaskRecord, record.data, keep));
    const [plan] = await db.select().from(plans).where(eq(plans.taskId, t.id));
    if (plan) await put('plan', board.putOnce(keys.plan(t.id), Plan, plan.body as Plan, keep));
    for (const p of await db.select().from(patches).where(eq(patches.taskId, t.id))) {
      const value: Patch = {
        id: p.id,
        taskId: t.id,
        attempt: p.attempt,
        baseCommit: p.baseCommit,
        diff: p.diff,
        files: p.files,
        summary: p.summary,
        stats: { additions: p.additions, deletions: p.deletions },
        createdAt: p.createdAt.toISOString(),
      };
      await put('patch', board.putOnce(keys.patch(p.id), Patch, value, keep));
    }
    for (const r of await db.select().from(testruns).where(eq(testruns.taskId, t.id))) {
      const value = {
        id: r.id,
        taskId: t.id,
        attempt: r.attempt,
        patchId: r.patchId,
        runner: r.runner,
        command: r.command,
        exitCode: r.exitCode,
        timedOut: r.timedOut,
        passed: r.passed,
        counts: r.counts,
        tests: r.tests,
        log: r.log,
        durationMs: r.durationMs,
        createdAt: r.createdAt.toISOString(),
      } as TestRun;
      await put('testrun', board.putOnce(keys.testrun(t.id, r.attempt), TestRun, value, keep));
    }
    for (const r of await db.select().from(reviews).where(eq(reviews.taskId, t.id))) {
      const value = {
        id: r.id,
        taskId: t.id,
        attempt: r.attempt,
        patchId: r.patchId,
        decision: r.decision,
        confidence: r.confidence,
        critique: r.critique,
        risks: r.risks,
        createdAt: r.createdAt.toISOString(),
      } as Review;
      await put('review', board.putOnce(keys.review(t.id, r.attempt), Review, value, keep));
    }
    for (const a of await db.select().from(approvals).where(eq(approvals.taskId, t.id))) {
      const value = {
        patchId: a.patchId,
        taskId: t.id,
        decision: a.decision,
        comment: a.comment,
        by: a.by,
        at: a.at.toISOString(),
      } as Approval;
      await put('approval', board.putOnce(keys.approval(a.patchId), Approval, value, keep));
    }
    const calls = await db
      .select()
      .from(toolCalls)
      .where(and(eq(toolCalls.taskId, t.id), eq(toolCalls.kind, 'model')))
      .orderBy(asc(toolCalls.at));
    if (calls.length > 0) {
      const entries = calls.map((c) => ({
        callId: c.id,
        role: c.role,
        model: c.model ?? 'unknown',
        promptTokens: c.promptTokens,
        completionTokens: c.completionTokens,
        costUsd: c.costUsd,
        at: c.at.toISOString(),
      }));
      const ledger: CostLedger = {
        taskId: t.id,
        entries,
        totals: {
          promptTokens: entries.reduce((s, e) => s + e.promptTokens, 0),
          completionTokens: entries.reduce((s, e) => s + e.completionTokens, 0),
          costUsd: entries.reduce((s, e) => s + e.costUsd, 0),
          calls: entries.length,
        },
      };
      await put('cost', board.putOnce(keys.cost(t.id), CostLedger, ledger, keep));
    }
  }
  report.written.memory = await restoreMemories(db, board);
  for (const row of await db.select().from(policies).where(eq(policies.kind, ORG_POLICY_KIND))) {
    const history = OrgPolicyHistory.safeParse(row.body);
    const last = history.success ? history.data.versions.at(-1) : undefined;
    if (!last) continue;
    let wrote = false;
    await board.mutate(keys.orgPolicy(row.orgId), OrgPolicyEntry, (cur) => {
      wrote = !cur || cur.revision < last.revision;
      if (!wrote) return undefined;
      return {
        org: row.orgId,
        revision: last.revision,
        yaml: last.yaml,
        ...(last.sha256 ? { sha256: last.sha256 } : {}),
        updatedAt: last.at,
      };
    });
    if (wrote) report.written.orgpolicy++;
  }
  return report;
}
