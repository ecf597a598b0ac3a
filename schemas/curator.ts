// Curator request/reply on `cm.curator.query`: ranked files and packed snippets with their sources.
import { z } from 'zod';

export const CuratorQuery = z.object({
  repoPath: z.string().min(1),
  commit: z.string().min(1),
  query: z.string().min(1).max(50_000),
  topK: z.number().int().min(1).max(100).default(10),
  tokenBudget: z.number().int().min(100).max(200_000).default(4000),
});
export type CuratorQuery = z.infer<typeof CuratorQuery>;
export type CuratorQueryInput = z.input<typeof CuratorQuery>;

export const CuratorSnippet = z.object({
  path: z.string(),
  startLine: z.number().int(),
  endLine: z.number().int(),
  symbol: z.string(),
  text: z.string(),
  score: z.number(),
  /** Why the Curator picked it, in words (its file's rank and the signals behind it). */
  why: z.string().default(''),
});
export type CuratorSnippet = z.infer<typeof CuratorSnippet>;

export const CuratorReply = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    commit: z.string(),
    files: z.array(z.object({ path: z.string(), score: z.number() })),
    snippets: z.array(CuratorSnippet),
    ms: z.number(),
  }),
  z.object({ ok: z.literal(false), code: z.string(), error: z.string() }),
]);
export type CuratorReply = z.infer<typeof CuratorReply>;

/** `cm.curator.index`: build (or load) the index of a repository at a commit, in the Curator's process. */
export const CuratorIndexRequest = z.object({
  repoPath: z.string().min(1),
  commit: z.string().min(1).optional(),
});
export type CuratorIndexRequest = z.infer<typeof CuratorIndexRequest>;

export const CuratorIndexReply = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    commit: z.string(),
    files: z.number().int(),
    chunks: z.number().int(),
    symbols: z.number().int(),
    source: z.string(),
    ms: z.number(),
    /** Counts per part, by mode (`ast`, `symbols`, `docs`). */
    modes: z.record(z.string(), z.record(z.string(), z.number())),
  }),
  z.object({ ok: z.literal(false), code: z.string(), error: z.string() }),
]);
export type CuratorIndexReply = z.infer<typeof CuratorIndexReply>;
