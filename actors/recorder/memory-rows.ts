// The experience memory in the record: entries as rows (from the blackboard, on `memory.stored`), their
// vectors where pgvector and an embedding model exist, and restoring them onto an empty blackboard.
import { and, asc, eq, gt, isNull, sql } from 'drizzle-orm';
import type { Blackboard } from '../../blackboard/index.ts';
import { pathTerms, termFrequencies } from '../curator/tokenize.ts';
import type { EmbeddingProvider } from '../curator/embed-provider.ts';
import { memoryRepoKey } from '../memory/store.ts';
import { keys, MemoryEntry, type TaskEvent, TaskRecord } from '../../schemas/index.ts';
import type { RecordDb } from './db.ts';
import { memoryEntries } from './schema.ts';
import { EMBEDDING_DIMENSIONS, memoryEmbeddings } from './vector-schema.ts';

/** The org of an entry as rows hold it (tasks submitted outside the gateway have none). */
export const memoryOrg = (orgId: string | undefined): string => orgId ?? 'default';

/** Term frequencies recall matches on: title twice, issue text, plan summary, file names (Curator tokenizer). */
export function memoryTermFrequencies(e: MemoryEntry): Map<string, number> {
  const tf = termFrequencies(`${e.title}\n${e.title}\n${e.description}\n${e.planSummary ?? ''}`);
  for (const f of e.files) pathTerms(f, tf);
  return tf;
}

/** What an entry's vector is made of: the issue, the plan and the files (not the diff: it is code, cut). */
export function memoryEmbeddingText(e: MemoryEntry): string {
  return `${e.title}\n${e.description}\n${e.planSummary ?? ''}\n${e.files.join('\n')}`.slice(0, 4_000);
}

export async function upsertMemoryRow(db: RecordDb, e: MemoryEntry): Promise<void> {
  const terms = [...memoryTermFrequencies(e)].flatMap(([t, n]) => new Array<string>(n).fill(t)).join(' ');
  const row = {
    taskId: e.taskId,
    repoKey: memoryRepoKey(e.repoPath),
    orgId: memoryOrg(e.orgId),
    outcome: e.outcome,
    terms,
    body: e,
    createdAt: new Date(e.createdAt),
    updatedAt: new Date(e.updatedAt),
  };
  await db
    .insert(memoryEntries)
    .values({ patchId: e.patchId, ...row })
    .onConflictDoUpdate({ target: memoryEntries.patchId, set: row });
}

/** `memory.stored` (data `{ patchId }`): the entry the memory role wrote, read from the board, as a row. */
export async function projectMemoryStored(db: RecordDb, board: Blackboard, event: TaskEvent): Promise<void> {
  const patchId = typeof event.data.patchId === 'string' ? event.data.patchId : undefined;
  if (!patchId) return;
  const task = (await board.get(keys.task(event.taskId), TaskRecord))?.value;
  if (!task) return;
  const entry = (await board.get(keys.memory(memoryRepoKey(task.repoPath), task.id, patchId), MemoryEntry))
    ?.value;
  if (entry) await upsertMemoryRow(db, entry);
}

/**
 * Embeds up to `limit` entries of a repository that have no vector of `provider`'s model yet (the one just
 * stored, and any an earlier failure left out); returns how many were embedded.
 */
export async function embedPendingMemories(
  db: RecordDb,
  provider: EmbeddingProvider,
  repoKey: string,
  limit = 16,
  signal?: AbortSignal,
): Promise<number> {
  if (provider.dims !== EMBEDDING_DIMENSIONS)
    throw new Error(
      `memory_embeddings holds vectors of ${EMBEDDING_DIMENSIONS} numbers, ${provider.model} gives ${provider.dims}`,
    );
  const pending = await db
    .select({ patchId: memoryEntries.patchId, orgId: memoryEntries.orgId, body: memoryEntries.body })
    .from(memoryEntries)
    .leftJoin(
      memoryEmbeddings,
      and(eq(memoryEmbeddings.patchId, memoryEntries.patchId), eq(memoryEmbeddings.model, provider.model)),
    )
    .where(and(eq(memoryEntries.repoKey, repoKey), isNull(memoryEmbeddings.patchId)))
    .orderBy(asc(memoryEntries.createdAt))
    .limit(limit);
  if (pending.length === 0) return 0;
  const vectors = await provider.embed(
    pending.map((p) => memoryEmbeddingText(p.body as MemoryEntry)),
    signal,
  );
  for (const [i, p] of pending.entries()) {
    const row = { repoKey, orgId: p.orgId, model: provider.model, embedding: vectors[i]! };
    await db
      .insert(memoryEmbeddings)
      .values({ patchId: p.patchId, ...row })
      .onConflictDoUpdate({ target: memoryEmbeddings.patchId, set: { ...row, createdAt: sql`now()` } });
  }
  return pending.length;
}

/** Puts every entry the record holds back on the blackboard (entries already there are left as they are). */
export async function restoreMemories(db: RecordDb, board: Blackboard): Promise<number> {
  let written = 0;
  let after = '';
  for (;;) {
    const page = await db
      .select({ patchId: memoryEntries.patchId, body: memoryEntries.body })
      .from(memoryEntries)
      .where(gt(memoryEntries.patchId, after))
      .orderBy(asc(memoryEntries.patchId))
      .limit(500);
    for (const r of page) {
      const parsed = MemoryEntry.safeParse(r.body);
      if (!parsed.success) continue;
      const e = parsed.data;
      const key = keys.memory(memoryRepoKey(e.repoPath), e.taskId, e.patchId);
      if ((await board.putOnce(key, MemoryEntry, e, () => true)).created) written++;
    }
    if (page.length < 500) return written;
    after = page[page.length - 1]!.patchId;
  }
}

/**
 * Copies the blackboard's entries into an empty `memory_entries` (a record opened after entries were stored
 * before it kept them as rows, or a new database); does nothing once the table has rows. Returns the count.
 */
export async function importMemoriesFromBoard(db: RecordDb, board: Blackboard): Promise<number> {
  const [had] = await db.select({ patchId: memoryEntries.patchId }).from(memoryEntries).limit(1);
  if (had) return 0;
  let n = 0;
  for (const key of await board.keys('memory.>')) {
    const e = (await board.get(key, MemoryEntry).catch(() => undefined))?.value;
    if (!e) continue;
    await upsertMemoryRow(db, e);
    n++;
  }
  return n;
}
