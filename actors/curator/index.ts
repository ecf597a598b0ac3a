// Public surface of the Curator: index a repository at a commit, search it, pack context for a model.
import { Curator } from './curator.ts';
import type { IndexRepoOptions, IndexSummary, SearchRepoOptions, SearchResult } from './types.ts';

export { Bm25Index } from './bm25.ts';
export { cmdEvalLocalize, cmdIndex, cmdSearch } from './cli.ts';
export { Curator, type CuratorOptions } from './curator.ts';
export {
  DENSE_DIMS,
  type DenseChunk,
  type DenseHit,
  type DenseIndex,
  type DenseIndexInput,
  type DenseIndexSummary,
  PgvectorDenseIndex,
} from './dense-index.ts';
export { DenseSignal, type DenseSignalOptions, denseSignalFromEnv } from './dense-signal.ts';
export { EmbeddingError } from './embed-error.ts';
export {
  createEmbeddingProvider,
  type EmbeddingConfig,
  type EmbeddingProvider,
  resolveEmbeddingConfig,
} from './embed-provider.ts';
export { ElasticLexicalIndex } from './elastic-lexical.ts';
export { CuratorError, GitError, NotAGitRepoError, StaleIndexError, UnknownCommitError } from './errors.ts';
export { packContext } from './pack-context.ts';
export { DEFAULT_WEIGHTS, type RankWeights } from './rank.ts';
export type * from './types.ts';

let shared: Curator | undefined;

/** The process-wide Curator behind `indexRepo`/`searchRepo` (one warm index per repository). */
export function defaultCurator(): Curator {
  shared ??= new Curator();
  return shared;
}

/** Indexes `repoPath` at `commit` (default HEAD), incrementally from the nearest index it has. */
export function indexRepo(opts: IndexRepoOptions): Promise<IndexSummary> {
  return defaultCurator().index(opts);
}

/** Ranks files and chunks of `repoPath` at `commit` for a free-text query (indexing first if needed). */
export function searchRepo(opts: SearchRepoOptions): Promise<SearchResult> {
  return defaultCurator().search(opts);
}
