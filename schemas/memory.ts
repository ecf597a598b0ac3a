// Experience memory (FR-013): what codemesh did on earlier tasks of a repository and how it ended, so the
// Planner and Coder of a similar task see "what fixed this before" (or what was rejected or reverted).
import { z } from 'zod';

export const MemoryOutcome = z.enum(['integrated', 'rejected', 'reverted']);
export type MemoryOutcome = z.infer<typeof MemoryOutcome>;

/**
 * `memory.<repoKey>.<taskId>.<patchId>`: last-writer-wins (an integrated patch later rolled back becomes
 * `reverted`). The record keeps each entry as a row (`memory_entries`), with its vector where pgvector and an
 * embedding model are configured.
 */
export const MemoryEntry = z.object({
  taskId: z.string(),
  repoPath: z.string(),
  orgId: z.string().optional(),
  title: z.string(),
  /** The issue text, cut to 4,000 characters. */
  description: z.string(),
  planSummary: z.string().optional(),
  patchId: z.string(),
  files: z.array(z.string()),
  /** The patch as stored on the blackboard (secrets already redacted), cut to 20,000 characters. */
  diff: z.string(),
  review: z
    .object({ decision: z.enum(['approve', 'revise']), confidence: z.number(), critique: z.string() })
    .optional(),
  tests: z
    .object({ outcome: z.string().optional(), fixed: z.number().int(), regressions: z.number().int() })
    .optional(),
  outcome: MemoryOutcome,
  /** Why it ended so: the task's failure reason, a person's change request (with the comment), the rollback. */
  note: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type MemoryEntry = z.infer<typeof MemoryEntry>;

/** How an entry was found: nearest by embedding (pgvector), by shared words (lexical), or both. */
export const RecallVia = z.enum(['vector', 'lexical']);
export type RecallVia = z.infer<typeof RecallVia>;

export const RecalledMemory = z.object({
  entry: MemoryEntry,
  /** Fused rank score (reciprocal ranks of each way that found it); higher is nearer. */
  score: z.number(),
  via: z.array(RecallVia),
  /** Cosine distance to the query when found by vector. */
  distance: z.number().optional(),
  /** Where it was read: the record's rows (the recorder answered) or the blackboard (no recorder did). */
  from: z.enum(['record', 'board']).optional(),
});
export type RecalledMemory = z.infer<typeof RecalledMemory>;

/** `cm.memory.recall` request/reply: an agent asks the recorder, which holds the entries as rows. */
export const MemoryRecallQuery = z.object({
  repoPath: z.string(),
  orgId: z.string().optional(),
  /** The asking task: never recalled itself. */
  taskId: z.string(),
  query: z.string().max(50_000),
  k: z.number().int().min(1).max(20).default(3),
});
export type MemoryRecallQuery = z.infer<typeof MemoryRecallQuery>;
export type MemoryRecallQueryInput = z.input<typeof MemoryRecallQuery>;

export const MemoryRecallReply = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    memories: z.array(RecalledMemory),
    /** Whether vectors were searched (pgvector and an embedding model), else why not. */
    vector: z.boolean(),
    vectorNote: z.string().optional(),
  }),
  z.object({ ok: z.literal(false), code: z.string(), error: z.string() }),
]);
export type MemoryRecallReply = z.infer<typeof MemoryRecallReply>;
