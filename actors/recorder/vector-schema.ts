// Tables that need pgvector: migrated separately (migrations/vector) and only where the extension exists.
import { index, integer, pgTable, text, timestamp, vector } from 'drizzle-orm/pg-core';

export const EMBEDDING_DIMENSIONS = 384;

/** Chunk embeddings of an index (all-MiniLM-L6-v2 has 384 dimensions), searched by cosine distance. */
export const embeddings = pgTable(
  'embeddings',
  {
    id: text('id').primaryKey(),
    indexId: text('index_id').notNull(),
    repoId: text('repo_id').notNull(),
    path: text('path').notNull(),
    startLine: integer('start_line').notNull(),
    endLine: integer('end_line').notNull(),
    embedding: vector('embedding', { dimensions: EMBEDDING_DIMENSIONS }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    index('embeddings_hnsw_cosine_idx').using('hnsw', t.embedding.op('vector_cosine_ops')),
    index('embeddings_repo_idx').on(t.repoId),
  ],
);

/** Vectors of the experience memory's entries (`memory_entries`), one per patch, searched per repository. */
export const memoryEmbeddings = pgTable(
  'memory_embeddings',
  {
    patchId: text('patch_id').primaryKey(),
    repoKey: text('repo_key').notNull(),
    orgId: text('org_id').notNull(),
    /** The embedding model's name: vectors of another model are not compared with its queries. */
    model: text('model').notNull(),
    embedding: vector('embedding', { dimensions: EMBEDDING_DIMENSIONS }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    index('memory_embeddings_hnsw_cosine_idx').using('hnsw', t.embedding.op('vector_cosine_ops')),
    index('memory_embeddings_repo_idx').on(t.repoKey, t.orgId, t.model),
  ],
);
