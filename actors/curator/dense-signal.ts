// The Curator's opt-in dense signal: keeps chunk vectors of the searched commit in a `DenseIndex` and fuses
// the files of the nearest chunks with the existing file ranking by reciprocal rank. Off by default: it has
// not been measured to raise localization figures (no embedding model was reachable when it was written).
import { join } from 'node:path';
import type { RecordStore } from '../recorder/index.ts';
import type { DenseChunk, DenseIndex, DenseIndexSummary } from './dense-index.ts';
import { lineStarts, sliceLines } from './extract-file.ts';
import type { RepoIndex } from './repo-index.ts';
import { defaultCacheDir } from './snapshot-store.ts';
import type { FileHit } from './types.ts';

/** Characters of a chunk sent to the provider: small embedding models read ~256 tokens anyway. */
const MAX_CHUNK_CHARS = 2000;

export interface DenseSignalOptions {
  /** The index, or a function opening it on first use (so that an unused signal opens no database). */
  index: DenseIndex | (() => Promise<DenseIndex>);
  /** Nearest chunks asked for per query (default 50). */
  k?: number;
  /** Weight of the dense ranks against the existing ranking's (default 1). */
  weight?: number;
  /** The reciprocal-rank constant (default 60). */
  rrfK?: number;
  /** Told of each failure; the search then keeps the existing ranking. Default: one line on stderr. */
  onError?: (err: unknown) => void;
  /** Closes what the signal opened itself. */
  close?: () => Promise<void>;
}

export interface DenseFuseInput {
  /** Identity of the repository (the Curator passes its git common dir). */
  repo: string;
  index: RepoIndex;
  /** File texts at the index's commit. */
  readTexts: (paths: string[]) => Promise<Map<string, string>>;
  query: string;
  /** The existing ranking, best first. */
  files: FileHit[];
  signal?: AbortSignal;
}

/** Whether the dense signal is on: the `dense` option wins, else `CODEMESH_CURATOR_DENSE=1`. */
export function resolveDenseSignal(
  option: DenseSignal | boolean | undefined,
  env: Record<string, string | undefined>,
): DenseSignal | undefined {
  if (option instanceof DenseSignal) return option;
  const on = option ?? env.CODEMESH_CURATOR_DENSE === '1';
  return on ? denseSignalFromEnv(env) : undefined;
}

/**
 * A signal over `CODEMESH_EMBED_*` (see `resolveEmbeddingConfig`) and the record at `DATABASE_URL`, else an
 * embedded PGlite in `CODEMESH_DENSE_DIR` (default `<cache>/codemesh/dense-pg`). Opened on first search.
 */
export function denseSignalFromEnv(env: Record<string, string | undefined>): DenseSignal {
  let record: RecordStore | undefined;
  return new DenseSignal({
    index: async () => {
      // Loaded here so that a Curator with the signal off never loads a database driver.
      const { openRecord } = await import('../recorder/index.ts');
      const { PgvectorDenseIndex } = await import('./dense-index.ts');
      const { createEmbeddingProvider, resolveEmbeddingConfig } = await import('./embed-provider.ts');
      const provider = createEmbeddingProvider(resolveEmbeddingConfig(env));
      record = await openRecord({
        databaseUrl: env.DATABASE_URL || undefined,
        dir: env.CODEMESH_DENSE_DIR || join(defaultCacheDir(), '..', 'dense-pg'),
      });
      if (!record.vector) throw new Error(record.vectorNote);
      return new PgvectorDenseIndex(record.db, provider);
    },
    close: async () => record?.close(),
  });
}

/**
 * @example
 * const curator = new Curator({ dense: new DenseSignal({ index: new PgvectorDenseIndex(db, provider) }) });
 */
export class DenseSignal {
  private opened: Promise<DenseIndex> | undefined;
  /** Per repository: the commit last indexed and the blob of each path then (for reuse on the next move). */
  private readonly synced = new Map<string, { commit: string; blobs: Map<string, string> }>();
  private readonly reported = new Set<string>();

  constructor(private readonly options: DenseSignalOptions) {}

  /** Brings the vectors of `repo` to the index's commit; embeds only chunks of files changed since last time. */
  async sync(input: Omit<DenseFuseInput, 'query' | 'files'>): Promise<DenseIndexSummary | undefined> {
    // Records are taken before the first await: the Curator moves its index in place.
    const { repo, index } = input;
    const commit = index.commit;
    const records = new Map(index.records);
    const last = this.synced.get(repo);
    if (last?.commit === commit) return undefined;
    const blobs = new Map<string, string>();
    const unchanged: string[] = [];
    const changed: string[] = [];
    for (const r of records.values()) {
      if (r.skip || r.chunks.length === 0) continue;
      blobs.set(r.path, r.blob);
      if (last?.blobs.get(r.path) === r.blob) unchanged.push(r.path);
      else changed.push(r.path);
    }
    // A commit stored by an earlier process needs no texts: its rows are checked by id only.
    const dense = await this.dense();
    const fresh = !last && (await dense.has(repo, commit));
    const texts = await input.readTexts(fresh ? [] : changed);
    const chunks: DenseChunk[] = [];
    for (const path of [...unchanged, ...changed]) {
      const r = records.get(path)!;
      const text = texts.get(path);
      const starts = text === undefined ? undefined : lineStarts(text);
      for (const c of r.chunks) {
        const body = text && starts ? sliceLines(text, starts, c.startLine, c.endLine) : '';
        const head = c.symbol ? `${path} ${c.symbol}` : path;
        chunks.push({
          path,
          startLine: c.startLine,
          endLine: c.endLine,
          text: `${head}\n${body}`.slice(0, MAX_CHUNK_CHARS),
        });
      }
    }
    const summary = fresh
      ? undefined
      : await dense.index({
          repo,
          commit,
          chunks,
          ...(last ? { reuse: { commit: last.commit, paths: unchanged } } : {}),
          signal: input.signal,
        });
    this.synced.set(repo, { commit, blobs });
    return summary;
  }

  /**
   * The existing ranking fused with the files of the nearest chunks (a file scores by its best chunk):
   * score = 1/(rrfK + rank) + weight/(rrfK + denseRank). On any failure, `files` unchanged.
   */
  async fuse(input: DenseFuseInput): Promise<FileHit[]> {
    const commit = input.index.commit;
    try {
      await this.sync(input);
      const dense = await this.dense();
      const q = await dense.embedQuery(input.query, input.signal);
      const hits = await dense.search(input.repo, commit, q, this.options.k ?? 50);
      const denseFiles = [...new Set(hits.map((h) => h.path))];
      const k = this.options.rrfK ?? 60;
      const w = this.options.weight ?? 1;
      const score = new Map<string, number>();
      for (const [i, f] of input.files.entries()) score.set(f.path, 1 / (k + i + 1));
      for (const [i, p] of denseFiles.entries()) score.set(p, (score.get(p) ?? 0) + w / (k + i + 1));
      return [...score]
        .map(([path, s]) => ({ path, score: s }))
        .sort((a, b) => b.score - a.score || a.path.localeCompare(b.path));
    } catch (err) {
      this.report(err);
      return input.files;
    }
  }

  async close(): Promise<void> {
    await this.options.close?.();
  }

  private dense(): Promise<DenseIndex> {
    const idx = this.options.index;
    this.opened ??= typeof idx === 'function' ? idx() : Promise.resolve(idx);
    // A failed open is retried on the next search rather than remembered forever.
    this.opened.catch(() => {
      this.opened = undefined;
    });
    return this.opened;
  }

  private report(err: unknown): void {
    if (this.options.onError) {
      this.options.onError(err);
      return;
    }
    const msg = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    if (this.reported.has(msg)) return;
    this.reported.add(msg);
    process.stderr.write(`curator: dense signal off for this search (${msg})\n`);
  }
}
