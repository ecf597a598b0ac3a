// Experience memory (FR-013): what codemesh did on earlier tasks of a repository and how it ended, so the
// Planner and Coder of a similar task see "what fixed this before" (or what was rejected or reverted).
import { z } from 'zod';

export const MemoryOutcome = z.enum(['integrated', 'rejected', 'reverted']);
export type MemoryOutcome = z.infer<typeof MemoryOutcome>;

/** `memory.<repoKey>.<taskId>`: last-writer-wins (an integrated patch later rolled back becomes `reverted`). */
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
  /** Why it ended so: the task's failure reason, or the rollback branch. */
  note: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type MemoryEntry = z.infer<typeof MemoryEntry>;
