// Chat bridges' own state on the blackboard: `bridge.<consumer>`, where a bridge reading commands by polling
// (Matrix /sync) resumes after a restart.
import { z } from 'zod';

export const BridgeCursor = z.object({
  /** The Matrix `/sync` position (`next_batch`) after the last batch whose commands were carried out. */
  since: z.string().min(1).max(2000),
  at: z.string(),
});
export type BridgeCursor = z.infer<typeof BridgeCursor>;
