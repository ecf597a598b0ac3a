// The Doc Writer's output (issue 14 item 2, FR-007): a documentation patch on top of a reviewed code patch,
// kept apart from it (reviewed at the gate, committed as its own commit), and the pull request description.
import { z } from 'zod';
import { SecretFinding } from './policy.ts';

/** A public function whose signature the code patch changes (first line of its definition, before and after). */
export const ChangedSymbol = z.object({
  name: z.string(),
  file: z.string(),
  before: z.string(),
  after: z.string(),
});
export type ChangedSymbol = z.infer<typeof ChangedSymbol>;

/** The reviewer model's verdict on a documentation patch (a `revise` is sent back to the Doc Writer once). */
export const DocReview = z.object({
  verdict: z.enum(['approve', 'revise']),
  comments: z.string().max(4000).default(''),
});
export type DocReview = z.infer<typeof DocReview>;

/**
 * `docs.<patchId>`: written once per reviewed code patch by the Doc Writer. `diff` is against the tree of the
 * code patch (base commit + `patchId`'s diff), empty when nothing needed documenting (`skipped` says why;
 * no model was asked then).
 */
export const DocPatch = z.object({
  /** `<patchId>-docs`. */
  id: z.string(),
  /** The code patch it documents. */
  patchId: z.string(),
  taskId: z.string(),
  attempt: z.number().int().min(1),
  diff: z.string(),
  files: z.array(z.string()),
  stats: z.object({ additions: z.number().int(), deletions: z.number().int() }),
  symbols: z.array(ChangedSymbol),
  /** Why there is no documentation change. */
  skipped: z.string().optional(),
  /** Secrets found in the model's documentation edits: the diff is then the redacted one and never committed. */
  secrets: z.array(SecretFinding).optional(),
  /** The reviewer model's verdicts, in order (the last one decided); none when no documentation was written. */
  reviews: z.array(DocReview).optional(),
  /** The pull request description (Markdown): rationale per file, tests, risks, confidence, policy, cost, docs. */
  description: z.string(),
  createdAt: z.string(),
});
export type DocPatch = z.infer<typeof DocPatch>;
