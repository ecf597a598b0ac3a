// The experience memory in the record: rows from `memory.stored`, vectors through an embedding double on
// loopback (PGlite with pgvector), recall by vector and by words over NATS, the fallback on PostgreSQL 15 (no
// pgvector), and rebuildBlackboard putting the entries back.
import { count, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MeshConnection } from '../../blackboard/index.ts';
import { keys, MemoryEntry, type TaskEvent, TaskRecord } from '../../schemas/index.ts';
import { type NatsFixture, startNatsFixture } from '../../test/nats.ts';
import { type ScriptedLlm, startScriptedLlm } from '../../test/scripted-llm/index.ts';
import { createEmbeddingProvider, resolveEmbeddingConfig } from '../curator/embed-provider.ts';
import { memoryRepoKey, recallMemories } from '../memory/index.ts';
import { openRecord, type RecordStore } from './db.ts';
import { importMemoriesFromBoard, upsertMemoryRow } from './memory-rows.ts';
import { recallFromRecord } from './memory-recall.ts';
import { memoryEmbedderFromEnv, startMemoryRecallResponder } from './memory-responder.ts';
import { rebuildBlackboard } from './rebuild.ts';
import { Recorder } from './recorder.ts';
import { memoryEntries } from './schema.ts';
import { createTestDatabase, type TestDatabase } from './test-postgres.ts';
import { memoryEmbeddings } from './vector-schema.ts';

const NOW = '2026-12-02T22:00:00.000Z';
const SHA = 'b'.repeat(40);
const REPO = '/repos/bank';

/**
 * Topic vectors: money words point one way, sign-in words another, anything else a third. Words differ
 * within a topic ("overdraft" vs "balance"), so only the vectors know that two such texts are alike.
 */
const TOPICS = [/overdraft|balance|withdraw|money/i, /login|password|sign.in/i];
function topicVector(text: string, dims: number): number[] {
  const v = new Array<number>(dims).fill(0);
  const t = TOPICS.findIndex((re) => re.test(text));
  v[t === -1 ? TOPICS.length : t] = 1;
  return v;
}

let nats: NatsFixture;
let mesh: MeshConnection;
let llm: ScriptedLlm;
beforeAll(async () => {
  nats = await startNatsFixture();
  mesh = await nats.connect('memory-record');
  llm = await startScriptedLlm(() => ({ content: '' }), { embeddingDims: 384, embed: topicVector });
});
afterAll(async () => {
  await llm?.close();
  await nats?.stop();
});

const provider = () =>
  createEmbeddingProvider(
    resolveEmbeddingConfig({ CODEMESH_EMBED_BASE_URL: llm.url, CODEMESH_EMBED_MODEL: 'topics' }),
  );
const embedCalls = () => llm.calls.filter((c) => c.path === '/v1/embeddings').length;

let n = 0;
function task(title: string, description: string, id = `t-memrec${++n}xx`): TaskRecord {
  return TaskRecord.parse({
    id,
    request: { repo: REPO, title, description },
    repoPath: REPO,
    baseCommit: SHA,
    status: 'completed',
    attempt: 1,
    workflow: { value: 'completed', context: {} },
    createdAt: NOW,
    updatedAt: NOW,
  });
}
function entry(t: TaskRecord, outcome: MemoryEntry['outcome'], note?: string): MemoryEntry {
  return MemoryEntry.parse({
    taskId: t.id,
    repoPath: t.repoPath,
    title: t.request.title,
    description: t.request.description,
    patchId: `${t.id}-p1`,
    files: ['bank/account.py'],
    diff: `diff --git a/bank/account.py b/bank/account.py\n+    # fix for ${t.request.title}\n`,
    outcome,
    ...(note ? { note } : {}),
    createdAt: NOW,
    updatedAt: NOW,
  });
}

/** As the memory role does: the task and its entry on the board, then `memory.stored` on the bus. */
async function stored(t: TaskRecord, e: MemoryEntry): Promise<void> {
  await mesh.board.putOnce(keys.task(t.id), TaskRecord, t, () => true);
  await mesh.board.mutate(keys.memory(memoryRepoKey(t.repoPath), t.id, e.patchId), MemoryEntry, () => e);
  const ev: TaskEvent = {
    id: `${e.patchId}:memory.stored:${e.outcome}`,
    taskId: t.id,
    type: 'memory.stored',
    at: NOW,
    data: { outcome: e.outcome, patchId: e.patchId },
  };
  await mesh.bus.publish(ev);
}

async function until(check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('memory in the record on PGlite with pgvector', () => {
  let rec: RecordStore;
  let recorder: Recorder;
  const overdraft = task('Overdraft allowed on withdrawal', 'withdraw lets the account go below zero');
  const login = task('Login form rejects valid password', 'sign-in fails with a correct password');
  const rejected = task(
    'Withdrawal fee charged twice on overdraft',
    'the overdraft withdrawal fee appears twice on the statement',
  );

  beforeAll(async () => {
    rec = await openRecord();
    expect(rec.vector).toBe(true);
    recorder = new Recorder(mesh, rec.db, { consumer: 'memory-record-test', memoryEmbedder: provider() });
    await recorder.start();
  });
  afterAll(async () => {
    await recorder?.stop();
    await rec?.close();
  });

  it('stores each memory.stored entry as a row and embeds it through the configured model', async () => {
    const before = embedCalls();
    await stored(overdraft, entry(overdraft, 'integrated'));
    await stored(login, entry(login, 'integrated'));
    await stored(rejected, entry(rejected, 'rejected', 'changes requested by ana: do not waive the fee'));
    await until(async () => (await rec.db.select({ n: count() }).from(memoryEntries))[0]!.n === 3);
    await until(async () => {
      await recorder.memoryEmbedded();
      return (await rec.db.select({ n: count() }).from(memoryEmbeddings))[0]!.n === 3;
    });
    expect(embedCalls()).toBeGreaterThan(before);
    const [row] = await rec.db
      .select()
      .from(memoryEntries)
      .where(eq(memoryEntries.patchId, `${rejected.id}-p1`));
    expect(row).toMatchObject({ taskId: rejected.id, outcome: 'rejected', repoKey: memoryRepoKey(REPO) });
    expect((row!.body as MemoryEntry).note).toBe('changes requested by ana: do not waive the fee');
    const models = await rec.db.select({ model: memoryEmbeddings.model }).from(memoryEmbeddings);
    expect(new Set(models.map((m) => m.model))).toEqual(new Set(['topics']));
  });

  it('recalls by vector what shares no words with the query; words and vectors merge, each entry once', async () => {
    const now = task('Negative balance after taking money out', 'a customer ends up negative');
    const q = {
      repoPath: REPO,
      taskId: now.id,
      query: `${now.request.title}\n${now.request.description}`,
      k: 3,
    };
    const byVector = await recallFromRecord(rec.db, q, { vector: true, provider: provider() });
    expect(byVector.vector).toBe(true);
    // Both money entries, nearest by vector (distance 0); the sign-in entry is orthogonal (distance 1).
    expect(byVector.memories.map((m) => m.entry.taskId).sort()).toEqual([overdraft.id, rejected.id].sort());
    for (const m of byVector.memories) {
      expect(m.via).toEqual(['vector']);
      expect(m.distance).toBeCloseTo(0, 5);
    }
    // Without vectors the same query finds nothing: it shares no three words with any entry.
    const byWords = await recallFromRecord(rec.db, q, { vector: false });
    expect(byWords.memories).toEqual([]);
    expect(byWords.vectorNote).toMatch(/no embedding model/);

    // A query that shares words with one entry: found both ways, listed once, first.
    const words = {
      ...q,
      query: 'withdrawal fee charged twice on the overdraft statement',
    };
    const both = await recallFromRecord(rec.db, words, { vector: true, provider: provider() });
    expect(both.memories[0]).toMatchObject({ entry: { taskId: rejected.id }, via: ['vector', 'lexical'] });
    expect(new Set(both.memories.map((m) => m.entry.patchId)).size).toBe(both.memories.length);
    // Never the asking task itself.
    const self = await recallFromRecord(
      rec.db,
      { ...words, taskId: rejected.id },
      { vector: true, provider: provider() },
    );
    expect(self.memories.map((m) => m.entry.taskId)).not.toContain(rejected.id);
  });

  it('an agent asks over NATS: the recorder answers from its rows (vector), not from the blackboard', async () => {
    const sub = startMemoryRecallResponder(mesh, rec.db, { vector: true, provider: provider() });
    try {
      await mesh.nc.flush();
      const now = task('Negative balance after taking money out', 'a customer ends up negative');
      const got = await recallMemories(mesh, now, `${now.request.title}\n${now.request.description}`);
      expect(got.map((m) => m.entry.taskId).sort()).toEqual([overdraft.id, rejected.id].sort());
      expect(got.every((m) => m.via.includes('vector') && m.from === 'record')).toBe(true);
    } finally {
      sub.unsubscribe();
    }
    // With no recorder answering, the blackboard's entries by words: nothing shares three words here.
    const now = task('Negative balance after taking money out', 'a customer ends up negative');
    expect(await recallMemories(mesh, now, now.request.title, 3, { timeoutMs: 500 })).toEqual([]);
  });

  it('rebuildBlackboard puts the entries back on an empty board', async () => {
    const fresh = await nats.connect('memory-rebuild');
    const { NatsKvBlackboard } = await import('../../blackboard/index.ts');
    const board = await NatsKvBlackboard.open(fresh.js, 'CM_REBUILD_MEMORY');
    const report = await rebuildBlackboard(rec.db, board);
    expect(report.written.memory).toBe(3);
    const key = keys.memory(memoryRepoKey(REPO), rejected.id, `${rejected.id}-p1`);
    expect((await board.get(key, MemoryEntry))?.value).toEqual(
      (await mesh.board.get(key, MemoryEntry))?.value,
    );
    expect((await rebuildBlackboard(rec.db, board)).written.memory).toBe(0);
    await fresh.close();
  });

  it('a record with no memory rows imports the entries already on the blackboard, once', async () => {
    const other = await openRecord();
    try {
      const onBoard = (await mesh.board.keys('memory.>')).length;
      expect(onBoard).toBe(3);
      expect(await importMemoriesFromBoard(other.db, mesh.board)).toBe(onBoard);
      expect((await other.db.select({ n: count() }).from(memoryEntries))[0]!.n).toBe(onBoard);
      expect(await importMemoriesFromBoard(other.db, mesh.board)).toBe(0);
    } finally {
      await other.close();
    }
  });
});

describe('memory in the record on PostgreSQL 15 (no pgvector)', () => {
  let pg: TestDatabase | undefined;
  let rec: RecordStore | undefined;
  beforeAll(async () => {
    const made = await createTestDatabase();
    if ('unavailable' in made) {
      console.warn(`skipping the PostgreSQL memory tests: ${made.unavailable}`);
      return;
    }
    pg = made;
    rec = await openRecord({ databaseUrl: made.url });
  });
  afterAll(async () => {
    await rec?.close();
    await pg?.drop();
  });

  it('keeps the rows without vectors and recalls by words, saying why not by vector', async (ctx) => {
    if (!rec) return ctx.skip();
    expect(rec.vector).toBe(false);
    const tables = await rec.db.execute(sql`select to_regclass('memory_embeddings') as t`);
    expect(JSON.stringify(tables)).toContain('"t":null');
    const cart = task('Cart total ignores the discount code', 'apply discount code to cart total');
    const tax = task('Tax is rounded twice', 'rounding of tax in invoice');
    await upsertMemoryRow(rec.db, entry(cart, 'integrated'));
    await upsertMemoryRow(rec.db, entry(tax, 'reverted', 'rolled back'));
    const now = task('Discount code not applied to the cart total', 'the cart total stays the same');
    const before = embedCalls();
    // An embedding model is configured, but the database has no pgvector: words only, and no model call.
    const got = await recallFromRecord(
      rec.db,
      { repoPath: REPO, taskId: now.id, query: `${now.request.title}\n${now.request.description}`, k: 3 },
      { vector: rec.vector, provider: provider() },
    );
    expect(got.vector).toBe(false);
    expect(got.vectorNote).toMatch(/no pgvector/);
    expect(got.memories.map((m) => [m.entry.taskId, m.via])).toEqual([[cart.id, ['lexical']]]);
    expect(embedCalls()).toBe(before);
  });
});

describe('which embedding model the memory uses', () => {
  it('none unless one is configured; the Curator’s variables when one is; CODEMESH_MEMORY_EMBED=0 turns it off', async () => {
    expect(await memoryEmbedderFromEnv({})).toBeUndefined();
    // An OpenAI key alone does not send the memory to api.openai.com.
    expect(await memoryEmbedderFromEnv({ OPENAI_API_KEY: 'sk-x' })).toBeUndefined();
    const on = await memoryEmbedderFromEnv({
      CODEMESH_EMBED_BASE_URL: 'http://127.0.0.1:9/v1',
      CODEMESH_EMBED_MODEL: 'all-minilm',
    });
    expect({ model: on?.model, dims: on?.dims }).toEqual({ model: 'all-minilm', dims: 384 });
    expect(
      (await memoryEmbedderFromEnv({ CODEMESH_MEMORY_EMBED: '1', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' }))
        ?.model,
    ).toBe('text-embedding-3-small');
    expect(
      await memoryEmbedderFromEnv({
        CODEMESH_MEMORY_EMBED: '0',
        CODEMESH_EMBED_BASE_URL: 'http://127.0.0.1:9/v1',
      }),
    ).toBeUndefined();
  });
});
