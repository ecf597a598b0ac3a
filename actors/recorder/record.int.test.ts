// The record on PGlite and on the machine's PostgreSQL: migrations, idempotent projection, rebuild, vectors.
import { asc, cosineDistance, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsFixture, startNatsFixture } from '../../test/nats.ts';
import type { MeshConnection } from '../../blackboard/index.ts';
import { keys, OrgPolicyEntry, TaskRecord } from '../../schemas/index.ts';
import { openRecord, type RecordDb, type RecordStore } from './db.ts';
import { projectEvent } from './project.ts';
import { rebuildBlackboard } from './rebuild.ts';
import { Recorder } from './recorder.ts';
import * as s from './schema.ts';
import { seedApproval, seedTask } from './test-scenario.ts';
import { createTestDatabase, type TestDatabase } from './test-postgres.ts';
import { embeddings } from './vector-schema.ts';

const PROJECTED = [
  s.tasks,
  s.plans,
  s.patches,
  s.testruns,
  s.reviews,
  s.approvals,
  s.agentRuns,
  s.toolCalls,
  s.budgets,
  s.traces,
  s.prRecords,
  s.confidences,
] as const;

async function dump(db: RecordDb): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const t of PROJECTED) {
    const rows = await db.select().from(t);
    out[(t as unknown as { [k: symbol]: string })[Symbol.for('drizzle:Name')]!] = rows
      .map((r) => JSON.stringify(r))
      .sort();
  }
  return out;
}

let nats: NatsFixture;
let mesh: MeshConnection;
beforeAll(async () => {
  nats = await startNatsFixture();
  mesh = await nats.connect('record-test');
});
afterAll(async () => nats?.stop());

async function replayTwice(db: RecordDb, taskId: string) {
  const history = await mesh.bus.history(taskId);
  for (const { seq, event } of history) await projectEvent(db, mesh.board, seq, event);
  const first = await dump(db);
  for (const { seq, event } of history) await projectEvent(db, mesh.board, seq, event);
  const second = await dump(db);
  return { first, second, history };
}

function recordSuite(name: string, open: () => Promise<RecordStore | undefined>, idPrefix: string) {
  describe(name, () => {
    let rec: RecordStore | undefined;
    beforeAll(async () => {
      rec = await open();
    });
    afterAll(async () => rec?.close());

    it('projects a task and its entries; replaying the stream twice leaves the same rows', async (ctx) => {
      if (!rec) return ctx.skip();
      const db = rec.db;
      const id = `t-${idPrefix}00001`;
      await seedTask(mesh, { id, repoPath: '/srv/repo-a' });
      const { first, second, history } = await replayTwice(db, id);
      expect(history.length).toBe(9);
      expect(second).toEqual(first);
      const [task] = await db.select().from(s.tasks);
      expect(task).toMatchObject({ id, status: 'awaiting_approval', attempt: 1, title: 'Fix subtract' });
      // A task with no org (as `codemesh run` submits) registers its repository in org `default`.
      const [repo] = await db.select().from(s.repos).where(sql`${s.repos.path} = '/srv/repo-a'`);
      expect(repo).toMatchObject({ orgId: 'default', name: 'repo-a' });
      expect(task!.repoId).toBe(repo!.id);
      expect(await db.select().from(s.patches)).toHaveLength(1);
      expect(await db.select().from(s.testruns)).toHaveLength(1);
      expect(await db.select().from(s.reviews)).toHaveLength(1);
      expect(await db.select().from(s.traces)).toHaveLength(9);
      const runs = await db.select().from(s.agentRuns);
      expect(runs).toEqual([
        expect.objectContaining({ id: `${id}-plan-1#1`, state: 'done', instanceId: 'planner-1' }),
      ]);
      const [budget] = await db.select().from(s.budgets);
      expect(budget).toMatchObject({ promptTokens: 100, completionTokens: 20, calls: 1 });
      expect(budget!.costUsd).toBeCloseTo(0.08, 10);

      await seedApproval(mesh, id);
      const again = await replayTwice(db, id);
      expect(again.second).toEqual(again.first);
      expect(await db.select().from(s.approvals)).toEqual([
        expect.objectContaining({ decision: 'approve', by: 'u' }),
      ]);
      // The review's confidence keeps its evidence, and the human decision labels it; a rollback relabels it.
      const conf = async () => await db.select().from(s.confidences);
      expect(await conf()).toEqual([
        expect.objectContaining({
          patchId: `${id}-p1`,
          raw: 0.9,
          calibrated: 0.71,
          model: 'test-1',
          label: 'approved',
          labelSource: 'human',
          features: expect.objectContaining({ fixed: 1, retrievalMargin: 0.5 }),
        }),
      ]);
      await mesh.bus.publish({
        id: `${id}:rolled-back`,
        taskId: id,
        type: 'task.rolled_back',
        at: '2026-11-25T11:00:00.000Z',
        data: { branch: `codemesh/${id}-rollback`, commit: 'b'.repeat(40) },
      });
      const third = await replayTwice(db, id);
      expect(third.second).toEqual(third.first);
      expect((await conf())[0]).toMatchObject({ label: 'rolled_back' });
    });

    it('the recorder actor projects live events through its durable consumer and survives a restart', async (ctx) => {
      if (!rec) return ctx.skip();
      const id = `t-${idPrefix}00002`;
      const consumer = `recorder-${idPrefix}`;
      const r1 = new Recorder(mesh, rec.db, { consumer });
      await r1.start();
      await seedTask(mesh, { id, repoPath: '/srv/repo-b' });
      const last = (await mesh.bus.history(id)).at(-1)!.seq;
      await r1.waitForSeq(last);
      await r1.stop();
      await seedApproval(mesh, id);
      const r2 = new Recorder(mesh, rec.db, { consumer });
      await r2.start();
      await r2.waitForSeq(last + 1);
      await r2.stop();
      const rows = await rec.db
        .select()
        .from(s.traces)
        .where(sql`${s.traces.taskId} = ${id}`)
        .orderBy(asc(s.traces.seq));
      expect(rows.map((r) => r.type).at(-1)).toBe('approval.granted');
      expect(rows).toHaveLength(10);
    });

    it('rebuildBlackboard restores an unfinished task on an empty board', async (ctx) => {
      if (!rec) return ctx.skip();
      const id = `t-${idPrefix}00001`;
      const fresh = await nats.connect('rebuild');
      // An empty board: a second bucket stands in for a lost one.
      const { NatsKvBlackboard } = await import('../../blackboard/index.ts');
      const board = await NatsKvBlackboard.open(fresh.js, `CM_REBUILD_${idPrefix.toUpperCase()}`);
      // An org's policy bundle versions (as `PUT /v1/config/policy` stores them): the last one goes back on the
      // board, where every machine's policy check reads it; an org whose board entry is as new is left alone.
      const org = `pol-${idPrefix}`;
      const other = `pol2-${idPrefix}`;
      await rec.db.insert(s.orgs).values([
        { id: org, name: org },
        { id: other, name: other },
      ]);
      const version = (revision: number, yaml: string | null) => ({
        revision,
        yaml,
        by: 'u',
        at: `2026-12-0${revision}T00:00:00.000Z`,
      });
      await rec.db.insert(s.policies).values([
        {
          orgId: org,
          kind: 'bundle',
          body: { versions: [version(1, 'version: a\n'), version(2, 'version: b\n')] },
          updatedBy: 'u',
          updatedAt: new Date(),
        },
        {
          orgId: other,
          kind: 'bundle',
          body: { versions: [version(1, null)] },
          updatedBy: 'u',
          updatedAt: new Date(),
        },
      ]);
      await board.create(keys.orgPolicy(other), OrgPolicyEntry, {
        org: other,
        revision: 1,
        yaml: 'kept',
        updatedAt: 'x',
      });
      const report = await rebuildBlackboard(rec.db, board);
      expect(report.written.orgpolicy).toBe(1);
      expect((await board.get(keys.orgPolicy(org), OrgPolicyEntry))?.value).toEqual({
        org,
        revision: 2,
        yaml: 'version: b\n',
        updatedAt: '2026-12-02T00:00:00.000Z',
      });
      expect((await board.get(keys.orgPolicy(other), OrgPolicyEntry))?.value.yaml).toBe('kept');
      expect(report.tasks).toContain(id);
      const n = report.tasks.length;
      expect(n).toBeGreaterThanOrEqual(2);
      expect(report.written).toEqual({
        task: n,
        plan: n,
        patch: n,
        testrun: n,
        review: n,
        approval: n,
        cost: n,
        memory: 0,
        orgpolicy: 1,
      });
      const restored = await board.get(keys.task(id), TaskRecord);
      expect(restored?.value).toEqual((await mesh.board.get(keys.task(id), TaskRecord))?.value);
      const again = await rebuildBlackboard(rec.db, board);
      expect(Object.values(again.written).every((n) => n === 0)).toBe(true);
    });
  });
}

recordSuite('record on PGlite', () => openRecord(), 'lite');

let pg: TestDatabase | undefined;
const pgUnavailable: { reason?: string } = {};
recordSuite(
  'record on PostgreSQL 15 (DATABASE_URL-style, no pgvector)',
  async () => {
    const made = await createTestDatabase();
    if ('unavailable' in made) {
      pgUnavailable.reason = made.unavailable;
      console.warn(`skipping the PostgreSQL record tests: ${made.unavailable}`);
      return undefined;
    }
    pg = made;
    const lines: string[] = [];
    const rec = await openRecord({ databaseUrl: made.url, log: (l) => lines.push(l) });
    if (!rec.vector) expect(lines.join('\n')).toMatch(/pgvector.*PGlite/s);
    return rec;
  },
  'pgsql',
);
afterAll(async () => pg?.drop());

describe('vectors on PGlite', () => {
  it('stores 384-dim embeddings with an HNSW cosine index and ranks by cosine distance', async () => {
    const rec = await openRecord();
    try {
      expect(rec.vector).toBe(true);
      const unit = (i: number) =>
        Array.from({ length: 384 }, (_, k) => (k === i ? 1 : k === i + 1 ? 0.5 : 0));
      await rec.db.insert(embeddings).values(
        [0, 10, 20, 30].map((i) => ({
          id: `e${i}`,
          indexId: 'ix',
          repoId: 'r',
          path: `f${i}.ts`,
          startLine: 1,
          endLine: 2,
          embedding: unit(i),
        })),
      );
      const idx = await rec.db.execute(
        sql`select indexdef from pg_indexes where indexname = 'embeddings_hnsw_cosine_idx'`,
      );
      expect(JSON.stringify(idx)).toMatch(/USING hnsw \(embedding vector_cosine_ops\)/);
      const q = unit(20);
      const dist = cosineDistance(embeddings.embedding, q);
      await rec.db.execute(sql`set enable_seqscan = off`);
      const plan = await rec.db.execute(
        sql`explain select id from embeddings order by embedding <=> ${JSON.stringify(q)}::vector limit 2`,
      );
      expect(JSON.stringify(plan)).toMatch(/embeddings_hnsw_cosine_idx/);
      const rows = await rec.db
        .select({ id: embeddings.id, d: dist })
        .from(embeddings)
        .orderBy(dist)
        .limit(2);
      expect(rows[0]).toEqual({ id: 'e20', d: expect.closeTo(0, 6) });
      expect(rows[1]!.d).toBeGreaterThan(0.5);
    } finally {
      await rec.close();
    }
  });
});
