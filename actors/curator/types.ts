// Contracts of the Curator: what an index of a repository at a commit holds and what a search returns.
// The Curator ranks a repository's files and chunks so that the files a fix must edit come first.

/** Languages the Curator chunks with tree-sitter; every other text file is cut into line windows. */
export type Language = 'python' | 'typescript' | 'tsx' | 'javascript' | 'go' | 'java' | 'text';

/**
 * The kind of a chunk. `module` is top-level code outside any definition (the first one is the
 * module header: docstring and imports); `window` is a fixed run of lines of a non-code text file.
 */
export type ChunkKind = 'function' | 'method' | 'class' | 'module' | 'window';

/** A contiguous span of a file at a commit. Lines are 1-based and inclusive. */
export interface Chunk {
  path: string;
  language: Language;
  /** `name` for functions and classes, `Class.method` for methods, `''` for module and window chunks. */
  symbol: string;
  kind: ChunkKind;
  startLine: number;
  endLine: number;
  commit: string;
}

/** How many files an index left out or could parse only partly. */
export interface SkippedCounts {
  /** Files with a NUL byte in their first 8 KiB. */
  binary: number;
  /** Files larger than the size limit (1 MiB by default), never read. */
  tooLarge: number;
  /** Files tree-sitter parsed with ERROR or MISSING nodes: still indexed (the tree is error-tolerant). */
  parseErrors: number;
}

export interface IndexRepoOptions {
  /** A git work tree or bare repository. */
  repoPath: string;
  /** Any revision git understands; defaults to `HEAD`. */
  commit?: string;
  /** Where snapshots are kept; defaults to `$XDG_CACHE_HOME/codemesh/index` or `~/.cache/codemesh/index`. */
  cacheDir?: string;
}

/** The parts of an index, each counted on its own (`POST /v1/repos/index` reports the `modes` asked for). */
export interface IndexModes {
  /** Source files chunked by tree-sitter (functions, methods, classes, module code). */
  ast: { files: number; chunks: number };
  /** Distinct names defined, definitions, distinct identifiers referenced per file (summed), import specs. */
  symbols: { symbols: number; definitions: number; references: number; imports: number };
  /** Non-code text files (docs, READMEs, config), cut into line windows. */
  docs: { files: number; chunks: number };
}

/** The result of `indexRepo`: counts for the index of `commit` (a full 40-hex id). */
export interface IndexSummary {
  commit: string;
  /** Text files indexed (skipped files not included). */
  files: number;
  chunks: number;
  /** Distinct symbols defined in the indexed files. */
  symbols: number;
  skipped: SkippedCounts;
  /** The same index, part by part. */
  modes: IndexModes;
  /** Wall time of this call. */
  ms: number;
  /** How the index was obtained: already in memory, loaded from disk, moved from another commit, built. */
  source: 'warm' | 'disk' | 'incremental' | 'full';
  /** Files read and parsed by this call (all files for a full build; the diff for an incremental one). */
  filesRead: number;
}

export interface SearchRepoOptions {
  repoPath: string;
  commit?: string;
  /** Free text: an issue, a question, a traceback. */
  query: string;
  /** How many files and how many chunks to return; defaults to 10. */
  topK?: number;
  cacheDir?: string;
}

export interface FileHit {
  path: string;
  score: number;
  /** The signals that ranked it, in words (empty for the quick answer of a cold repository). */
  why?: string;
}

export interface ChunkHit {
  path: string;
  startLine: number;
  endLine: number;
  symbol: string;
  kind: ChunkKind;
  score: number;
  /** The chunk's source text at the commit. */
  text: string;
}

export interface SearchResult {
  commit: string;
  /** Files, best first; scores are comparable within one result only. */
  files: FileHit[];
  /** Chunks, best first, at most a few per file (diversity). */
  chunks: ChunkHit[];
  ms: number;
  /**
   * What answered: the full index, or the bounded first answer over paths and mentions (`quick.ts`) given
   * while the full index of a cold repository is still building. Unset from `Curator.search` (full).
   */
  index?: 'full' | 'quick';
}

/** A document of a lexical index: pre-tokenised so every backend sees the same identifier splitting. */
export interface LexicalDoc {
  id: string;
  /** Term frequencies of the document (see `tokenize.ts`). */
  terms: Map<string, number>;
}

export interface LexicalHit {
  id: string;
  score: number;
}

/**
 * A lexical (BM25-like) index over pre-tokenised documents. `Bm25Index` is the in-memory implementation;
 * `ElasticLexicalIndex` stores the same documents in Elasticsearch.
 */
export interface LexicalIndex {
  /** Adds or replaces documents by id. */
  upsert(docs: LexicalDoc[]): Promise<void>;
  remove(ids: string[]): Promise<void>;
  /** Best `topK` documents for the weighted query terms, best first. */
  search(query: Map<string, number>, topK: number): Promise<LexicalHit[]>;
  count(): Promise<number>;
}

/** A snippet of context for a model, with its source. */
export interface PackedSnippet {
  path: string;
  startLine: number;
  endLine: number;
  symbol: string;
  text: string;
  tokens: number;
}

export interface PackedContext {
  snippets: PackedSnippet[];
  /** Estimated tokens used (≈ characters / 4). */
  tokens: number;
  /** Rendered text: each snippet preceded by `# path:start-end (symbol)`. */
  text: string;
}
