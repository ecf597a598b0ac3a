// Chunk vectors of a repository at a commit in the record's `embeddings` table (pgvector, through drizzle),
// moved commit to commit without re-embedding unchanged files, and searched by cosine distance (HNSW).
import { createHash } from 'node:crypto';
import { and, cosineDistance, eq, inArray, sql } from 'drizzle-orm';
import { type RecordDb, tables } from '../recorder/index.ts';
import { EmbeddingError } from './embed-error.ts';
import type { EmbeddingProvider } from './embed-provider.ts';

const { embeddings } = tables;
/** What the table's `vector(384)` column holds (`EMBEDDING_DIMENSIONS` of the recorder's vector schema). */
export const DENSE_DIMS = 384;

/** One chunk to embed: its span and the text the provider sees. */
export interface DenseChunk {
  path: string;
  startLine: number;
  endLine: number;
  text: string;
}

export interface DenseIndexInput {
  /** Identity of the repository (e.g. its git common dir); rows of different repositories never mix. */
  repo: string;
  commit: string;
  /** Every chunk of the repository at `commit`. Rows of the commit not listed here are deleted. */
  chunks: DenseChunk[];
  /**
   * An already indexed commit and the paths whose content is the same at both commits: their rows are
   * copied inside the database instead of being embedded again.
   */
  reuse?: { commit: string; paths: Iterable<string> };
  signal?: AbortSignal;
}

export interface DenseIndexSummary {
  /** Chunks sent to the provider. */
  embedded: number;
  /** Rows copied from `reuse.commit`. */
  copied: number;
  /** Rows already present for this commit (an earlier, possibly interrupted, run). */
  present: number;
  /** Rows of the commit removed because their chunk no longer exists. */
  removed: number;
  /** Chunks whose vector came from the in-process cache of chunk texts. */
  cached: number;
}

export interface DenseHit {
  path: string;
  startLine: number;
  endLine: number;
  /** Cosine distance, 0 (same direction) to 2. */
  distance: number;
}

/** Vectors of chunks, per repository and commit. */
export interface DenseIndex {
  readonly provider: EmbeddingProvider;
  /** Makes the rows of `commit` match `chunks`, embedding only what cannot be copied or found. */
  index(input: DenseIndexInput): Promise<DenseIndexSummary>;
  /** The `k` chunks of `repo` at `commit` nearest to `query` by cosine distance, nearest first. */
  search(repo: string, commit: string, query: number[], k: number): Promise<DenseHit[]>;
  /** Embeds a query with the index's provider. */
  embedQuery(text: string, signal?: AbortSignal): Promise<number[]>;
  /** Whether any row of `repo` at `commit` exists. */
  has(repo: string, commit: string): Promise<boolean>;
}

/** Row key: the same in JS and SQL (`md5` of the same UTF-8 string), so copies can be made in SQL. */
export function denseRowId(repo: string, commit: string, path: string, start: number, end: number): string {
  return createHash('md5').update(`${repo}\n${commit}\n${path}\n${start}\n${end}`).digest('hex');
}

const WRITE_BATCH = 256;
const PATH_BATCH = 500;
const TEXT_CACHE_MAX = 50_000;

/**
 * A `DenseIndex` in the record's `embeddings` table (PGlite by default, or Postgres with pgvector):
 * `index_id` holds the commit, `repo_id` the repository. The table has no content-hash column, so reuse is
 * by unchanged file (copied in SQL) plus an in-process cache of chunk texts by hash.
 *
 * @example
 * const rec = await openRecord({ dir: '.codemesh/pg' });
 * const dense = new PgvectorDenseIndex(rec.db, createEmbeddingProvider(resolveEmbeddingConfig(process.env)));
 * await dense.index({ repo, commit, chunks });
 * const hits = await dense.search(repo, commit, await dense.embedQuery(issue), 20);
 */
export class PgvectorDenseIndex implements DenseIndex {
  private readonly textCache = new Map<string, number[]>();

  constructor(
    private readonly db: RecordDb,
    readonly provider: EmbeddingProvider,
  ) {
    if (provider.dims !== DENSE_DIMS) {
      throw new EmbeddingError(
        'curator.embedding_config',
        `the embeddings table holds vectors of ${DENSE_DIMS} numbers, the provider ${provider.model} gives ` +
          `${provider.dims}: set CODEMESH_EMBED_DIMS=${DENSE_DIMS} and a model of that size (e.g. all-MiniLM-L6-v2)`,
      );
    }
  }

  async has(repo: string, commit: string): Promise<boolean> {
    const rows = await this.db
      .select({ id: embeddings.id })
      .from(embeddings)
      .where(and(eq(embeddings.repoId, repo), eq(embeddings.indexId, commit)))
      .limit(1);
    return rows.length > 0;
  }

  async index(input: DenseIndexInput): Promise<DenseIndexSummary> {
    const { repo, commit } = input;
    const want = new Map<string, DenseChunk>();
    for (const c of input.chunks) want.set(denseRowId(repo, commit, c.path, c.startLine, c.endLine), c);
    const summary: DenseIndexSummary = { embedded: 0, copied: 0, present: 0, removed: 0, cached: 0 };

    const existing = await this.ids(repo, commit);
    const stale = [...existing].filter((id) => !want.has(id));
    for (let i = 0; i < stale.length; i += PATH_BATCH) {
      await this.db.delete(embeddings).where(inArray(embeddings.id, stale.slice(i, i + PATH_BATCH)));
    }
    summary.removed = stale.length;
    summary.present = existing.size - stale.length;

    if (input.reuse && input.reuse.commit !== commit) {
      const paths = [...new Set(input.reuse.paths)];
      for (let i = 0; i < paths.length; i += PATH_BATCH) {
        const part = paths.slice(i, i + PATH_BATCH);
        const newId = sql`md5(${embeddings.repoId} || E'\n' || ${commit}::text || E'\n' || ${embeddings.path} || E'\n' || ${embeddings.startLine}::text || E'\n' || ${embeddings.endLine}::text)`;
        await this.db.execute(sql`
          insert into ${embeddings} (id, index_id, repo_id, path, start_line, end_line, embedding)
          select ${newId}, ${commit}, ${embeddings.repoId}, ${embeddings.path}, ${embeddings.startLine},
                 ${embeddings.endLine}, ${embeddings.embedding}
          from ${embeddings}
          where ${embeddings.repoId} = ${repo} and ${embeddings.indexId} = ${input.reuse.commit}
            and ${inArray(embeddings.path, part)}
          on conflict (id) do nothing`);
      }
      const after = await this.ids(repo, commit);
      // Spans that no longer exist at `commit` (the caller's paths were wrong) must not stay.
      const extra = [...after].filter((id) => !want.has(id));
      for (let i = 0; i < extra.length; i += PATH_BATCH) {
        await this.db.delete(embeddings).where(inArray(embeddings.id, extra.slice(i, i + PATH_BATCH)));
      }
      summary.copied = after.size - extra.length - summary.present;
      existing.clear();
      for (const id of after) existing.add(id);
    }

    const missing = [...want].filter(([id]) => !existing.has(id));
    const vectors = new Map<string, number[]>();
    const toEmbed = new Map<string, string>();
    for (const [, c] of missing) {
      const h = textHash(c.text);
      const hit = this.textCache.get(h);
      if (hit) {
        vectors.set(h, hit);
        summary.cached++;
      } else toEmbed.set(h, c.text);
    }
    const hashes = [...toEmbed.keys()];
    for (let i = 0; i < hashes.length; i += WRITE_BATCH) {
      input.signal?.throwIfAborted();
      const part = hashes.slice(i, i + WRITE_BATCH);
      const vecs = await this.provider.embed(
        part.map((h) => toEmbed.get(h)!),
        input.signal,
      );
      part.forEach((h, j) => {
        vectors.set(h, vecs[j]!);
        this.remember(h, vecs[j]!);
      });
      summary.embedded += part.length;
    }
    const rows = missing.map(([id, c]) => ({
      id,
      indexId: commit,
      repoId: repo,
      path: c.path,
      startLine: c.startLine,
      endLine: c.endLine,
      embedding: vectors.get(textHash(c.text))!,
    }));
    for (let i = 0; i < rows.length; i += WRITE_BATCH) {
      await this.db
        .insert(embeddings)
        .values(rows.slice(i, i + WRITE_BATCH))
        .onConflictDoUpdate({ target: embeddings.id, set: { embedding: sql`excluded.embedding` } });
    }
    return summary;
  }

  async search(repo: string, commit: string, query: number[], k: number): Promise<DenseHit[]> {
    if (query.length !== DENSE_DIMS) {
      throw new EmbeddingError(
        'curator.embedding_failed',
        `query vector has ${query.length} numbers, the index ${DENSE_DIMS}`,
      );
    }
    const distance = cosineDistance(embeddings.embedding, query);
    const select = (db: Pick<RecordDb, 'select'>) =>
      db
        .select({
          path: embeddings.path,
          startLine: embeddings.startLine,
          endLine: embeddings.endLine,
          distance: sql<number>`${distance}`.mapWith(Number),
        })
        .from(embeddings)
        .where(and(eq(embeddings.repoId, repo), eq(embeddings.indexId, commit)))
        .orderBy(distance)
        .limit(k);
    let rows: DenseHit[];
    try {
      // With a filter an HNSW scan may stop short of k rows; pgvector 0.8's iterative scan keeps going.
      rows = await this.db.transaction(async (tx) => {
        await tx.execute(sql`select set_config('hnsw.iterative_scan', 'relaxed_order', true)`);
        return select(tx);
      });
    } catch {
      rows = await select(this.db); // pgvector before 0.8: no iterative scan.
    }
    // `relaxed_order` may return neighbours slightly out of order.
    return rows.sort((a, b) => a.distance - b.distance);
  }

  async embedQuery(text: string, signal?: AbortSignal): Promise<number[]> {
    const [v] = await this.provider.embed([text], signal);
    return v!;
  }

  private async ids(repo: string, commit: string): Promise<Set<string>> {
    const rows = await this.db
      .select({ id: embeddings.id })
      .from(embeddings)
      .where(and(eq(embeddings.repoId, repo), eq(embeddings.indexId, commit)));
    return new Set(rows.map((r) => r.id));
  }

  private remember(hash: string, v: number[]): void {
    if (this.textCache.size >= TEXT_CACHE_MAX) this.textCache.delete(this.textCache.keys().next().value!);
    this.textCache.set(hash, v);
  }
}

function textHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
