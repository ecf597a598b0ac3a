// Recall from the record's experience memory: the nearest entries of a repository by vector (pgvector kNN,
// when an embedding model is configured and the database has pgvector) and by words (a full-text query, then
// BM25 over those candidates), fused by reciprocal rank. Each way reads only its best rows, never all entries.
import { and, cosineDistance, desc, eq, ne, sql } from 'drizzle-orm';
import { Bm25Index } from '../curator/bm25.ts';
import type { EmbeddingProvider } from '../curator/embed-provider.ts';
import { termFrequencies } from '../curator/tokenize.ts';
import { memoryRepoKey } from '../memory/store.ts';
import {
  MemoryEntry,
  type MemoryRecallQuery,
  type RecalledMemory,
  type RecallVia,
} from '../../schemas/index.ts';
import type { RecordDb } from './db.ts';
import { memoryOrg, memoryTermFrequencies } from './memory-rows.ts';
import { memoryEntries } from './schema.ts';
import { memoryEmbeddings } from './vector-schema.ts';

/** Distinct terms an earlier task must share with this one to count as similar by words. */
export const MIN_SHARED_TERMS = 3;
/** Full-text candidates read per recall (then ranked by BM25). */
const LEXICAL_CANDIDATES = 50;
/** Query terms sent to the full-text query at most (the longest issues name hundreds). */
const MAX_QUERY_TERMS = 64;
/** Cosine distance beyond which a neighbour is not "similar" (a kNN always finds someone). */
export const DEFAULT_MAX_DISTANCE = 0.5;
const RRF_K = 60;

export interface MemoryRecallOptions {
  /** Whether the database has the `memory_embeddings` table (pgvector). */
  vector: boolean;
  provider?: EmbeddingProvider;
  maxDistance?: number;
  signal?: AbortSignal;
}

interface Ranked {
  entry: MemoryEntry;
  rank: number;
  distance?: number;
}

/** Words: a full-text query over the repository's rows (OR of the query's terms), then BM25 on those. */
async function lexical(db: RecordDb, q: MemoryRecallQuery, k: number): Promise<Ranked[]> {
  const qtf = termFrequencies(q.query);
  // Only plain words go into the tsquery (no operators); `a_b` would parse as a phrase there.
  const words = [...qtf.keys()].filter((t) => /^[a-z0-9]+$/.test(t)).slice(0, MAX_QUERY_TERMS);
  if (words.length === 0) return [];
  const tsq = sql`to_tsquery('simple', ${words.join(' | ')})`;
  const doc = memoryEntries.tsv;
  const rows = await db
    .select({ body: memoryEntries.body })
    .from(memoryEntries)
    .where(
      and(
        eq(memoryEntries.repoKey, memoryRepoKey(q.repoPath)),
        eq(memoryEntries.orgId, memoryOrg(q.orgId)),
        ne(memoryEntries.taskId, q.taskId),
        sql`${doc} @@ ${tsq}`,
      ),
    )
    .orderBy(desc(sql`ts_rank(${doc}, ${tsq})`), desc(memoryEntries.updatedAt))
    .limit(LEXICAL_CANDIDATES);
  const entries = rows.map((r) => MemoryEntry.safeParse(r.body)).flatMap((p) => (p.success ? [p.data] : []));
  const index = new Bm25Index();
  const terms = new Map<string, Map<string, number>>();
  for (const e of entries) {
    const tf = memoryTermFrequencies(e);
    terms.set(e.patchId, tf);
    index.put(e.patchId, tf);
  }
  const byId = new Map(entries.map((e) => [e.patchId, e]));
  return index
    .searchSync(qtf, k * 4)
    .filter((h) => [...qtf.keys()].filter((t) => terms.get(h.id)?.has(t)).length >= MIN_SHARED_TERMS)
    .slice(0, k)
    .map((h, i) => ({ entry: byId.get(h.id)!, rank: i + 1 }));
}

/** Vectors: the k nearest rows of the repository with a vector of the provider's model, within `maxDistance`. */
async function nearest(
  db: RecordDb,
  provider: EmbeddingProvider,
  q: MemoryRecallQuery,
  k: number,
  maxDistance: number,
  signal?: AbortSignal,
): Promise<Ranked[]> {
  const [v] = await provider.embed([q.query.slice(0, 4_000)], signal);
  const distance = cosineDistance(memoryEmbeddings.embedding, v!);
  const select = (tx: Pick<RecordDb, 'select'>) =>
    tx
      .select({ body: memoryEntries.body, distance: sql<number>`${distance}`.mapWith(Number) })
      .from(memoryEmbeddings)
      .innerJoin(memoryEntries, eq(memoryEntries.patchId, memoryEmbeddings.patchId))
      .where(
        and(
          eq(memoryEmbeddings.repoKey, memoryRepoKey(q.repoPath)),
          eq(memoryEmbeddings.orgId, memoryOrg(q.orgId)),
          eq(memoryEmbeddings.model, provider.model),
          ne(memoryEntries.taskId, q.taskId),
        ),
      )
      .orderBy(distance)
      .limit(k);
  let rows: { body: unknown; distance: number }[];
  try {
    // With a filter an HNSW scan may stop short of k rows; pgvector 0.8's iterative scan keeps going.
    rows = await db.transaction(async (tx) => {
      await tx.execute(sql`select set_config('hnsw.iterative_scan', 'relaxed_order', true)`);
      return select(tx);
    });
  } catch {
    rows = await select(db); // pgvector before 0.8
  }
  return rows
    .sort((a, b) => a.distance - b.distance)
    .filter((r) => r.distance <= maxDistance)
    .flatMap((r) => {
      const p = MemoryEntry.safeParse(r.body);
      return p.success ? [{ entry: p.data, distance: r.distance }] : [];
    })
    .map((r, i) => ({ ...r, rank: i + 1 }));
}

/**
 * Up to `q.k` earlier patches of the repository (and org) like the query, never of the asking task: by
 * vector when `opts.vector` and a provider are given, and by words always; merged by patch, fused by
 * reciprocal rank (an entry both ways found ranks first). A failing embedding leaves the words' answer.
 *
 * @example const got = await recallFromRecord(rec.db, { repoPath, taskId, query, k: 3 }, { vector: rec.vector, provider });
 */
export async function recallFromRecord(
  db: RecordDb,
  q: MemoryRecallQuery,
  opts: MemoryRecallOptions,
): Promise<{ memories: RecalledMemory[]; vector: boolean; vectorNote?: string }> {
  const k = q.k;
  let vectorNote: string | undefined;
  const byVector =
    opts.vector && opts.provider
      ? await nearest(
          db,
          opts.provider,
          q,
          k * 2,
          opts.maxDistance ?? DEFAULT_MAX_DISTANCE,
          opts.signal,
        ).catch((err: unknown) => {
          vectorNote = `vector recall failed: ${err instanceof Error ? err.message : String(err)}`;
          return undefined;
        })
      : undefined;
  if (!opts.provider) vectorNote = 'no embedding model configured (CODEMESH_EMBED_BASE_URL)';
  else if (!opts.vector) vectorNote = 'the record has no pgvector';
  const byWords = await lexical(db, q, k * 2);
  const fused = new Map<string, RecalledMemory>();
  const add = (list: Ranked[] | undefined, via: RecallVia) => {
    for (const r of list ?? []) {
      const was = fused.get(r.entry.patchId);
      const score = (was?.score ?? 0) + 1 / (RRF_K + r.rank);
      fused.set(r.entry.patchId, {
        entry: r.entry,
        score,
        via: [...(was?.via ?? []), via],
        ...((r.distance ?? was?.distance) !== undefined ? { distance: r.distance ?? was?.distance } : {}),
      });
    }
  };
  add(byVector, 'vector');
  add(byWords, 'lexical');
  const memories = [...fused.values()]
    .sort((a, b) => b.score - a.score || b.entry.updatedAt.localeCompare(a.entry.updatedAt))
    .slice(0, k)
    .map((m) => ({
      ...m,
      score: Math.round(m.score * 1e5) / 1e5,
      ...(m.distance !== undefined ? { distance: Math.round(m.distance * 1e4) / 1e4 } : {}),
    }));
  return { memories, vector: byVector !== undefined, ...(vectorNote ? { vectorNote } : {}) };
}
