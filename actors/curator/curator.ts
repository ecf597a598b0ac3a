// The Curator: keeps one warm index per repository, moves it commit to commit by re-reading only the files
// a diff names, persists a snapshot per commit, and answers searches against the requested commit.
import { buildAll, buildDelta } from './build.ts';
import { StaleIndexError } from './errors.ts';
import { lineStarts, sliceLines } from './extract-file.ts';
import { BlobReader } from './blob-reader.ts';
import { type DenseSignal, resolveDenseSignal } from './dense-signal.ts';
import { diffNames, gitCommonDir, resolveCommit } from './git.ts';
import { CommitHistory } from './history.ts';
import { DEFAULT_WEIGHTS, type RankWeights, rank } from './rank.ts';
import { RepoIndex } from './repo-index.ts';
import { defaultCacheDir, SnapshotStore } from './snapshot-store.ts';
import { whyRanked } from './why.ts';
import type { IndexRepoOptions, IndexSummary, SearchRepoOptions, SearchResult } from './types.ts';

export interface CuratorOptions {
  /** Snapshot directory; see `defaultCacheDir()`. */
  cacheDir?: string;
  /** Write a snapshot per indexed commit (default true). */
  persist?: boolean;
  /** Snapshots kept per repository (default 8). */
  maxSnapshots?: number;
  weights?: RankWeights;
  /**
   * Opt-in dense signal fused with the ranking by reciprocal rank (see `dense-signal.ts`): a `DenseSignal`,
   * `true` for one from `CODEMESH_EMBED_*`, `false` for none. Unset: on only when `CODEMESH_CURATOR_DENSE=1`.
   */
  dense?: DenseSignal | boolean;
  /**
   * Read the commit's git history for the history signals (similar past commits, churn; see `history.ts`).
   * Default: on, unless `CODEMESH_CURATOR_HISTORY=0`.
   */
  history?: boolean;
  /** Told when something was left out but the index still stands (a mirror missing history). */
  onWarning?: (message: string) => void;
}

/** Above this share of changed files, loading a snapshot of the target commit beats an incremental move. */
const INCREMENTAL_SHARE = 0.2;
const CONTENT_BUDGET_BYTES = 512 * 1024 * 1024;

interface Warm {
  index: RepoIndex;
  repoPath: string;
  store: SnapshotStore;
  reader: BlobReader;
}

/**
 * @example
 * const curator = new Curator();
 * await curator.index({ repoPath: '/src/app', commit: 'main' });
 * const { files, chunks } = await curator.search({ repoPath: '/src/app', query: issueText, topK: 5 });
 */
export class Curator {
  private readonly options: CuratorOptions;
  private readonly warm = new Map<string, Warm>();
  private readonly locks = new Map<string, Promise<unknown>>();
  // Contents by blob id, kept from indexing (reading a blob back from git can cost far more than
  // the query itself when it sits deep in a delta chain). Oldest first out past the byte budget.
  private readonly contents = new Map<string, Buffer>();
  private contentBytes = 0;
  private readonly keepContent: (blob: string, content: Buffer) => void = (blob, content) => {
    if (this.contents.has(blob)) return;
    this.contents.set(blob, content);
    this.contentBytes += content.length;
    while (this.contentBytes > CONTENT_BUDGET_BYTES) {
      const [oldest, buf] = this.contents.entries().next().value!;
      this.contents.delete(oldest);
      this.contentBytes -= buf.length;
    }
  };
  private readonly commonDirs = new Map<string, string>();
  weights: RankWeights;
  private readonly dense: DenseSignal | undefined;
  private readonly useHistory: boolean;

  constructor(options: CuratorOptions = {}) {
    this.options = options;
    this.weights = options.weights ?? DEFAULT_WEIGHTS;
    this.dense = resolveDenseSignal(options.dense, process.env);
    this.useHistory = options.history ?? process.env.CODEMESH_CURATOR_HISTORY !== '0';
  }

  /** Brings the repository's index to `commit` (default HEAD) and says how. */
  async index(opts: IndexRepoOptions): Promise<IndexSummary> {
    const { summary } = await this.ensure(opts);
    return summary;
  }

  async search(opts: SearchRepoOptions): Promise<SearchResult> {
    const { index, reader } = await this.ensure(opts);
    const t0 = performance.now();
    const topK = opts.topK ?? 10;
    // `explain` changes no score: it only keeps each file's signal values, for the `why` shown to humans.
    const ranking = rank(index, opts.query, topK, this.weights, { explain: true });
    const why = new Map(
      ranking.files.map((f) => [f.path, f.features ? whyRanked(f.features, this.weights) : ''] as const),
    );
    const chunks = ranking.chunks.map((c) => ({
      path: c.path,
      startLine: c.startLine,
      endLine: c.endLine,
      symbol: c.symbol,
      kind: c.kind,
      score: c.score,
      text: '',
    }));
    const texts = await this.fileTexts(reader, index, [...new Set(chunks.map((c) => c.path))]);
    const starts = new Map<string, number[]>();
    for (const c of chunks) {
      const text = texts.get(c.path);
      if (text === undefined) continue;
      if (!starts.has(c.path)) starts.set(c.path, lineStarts(text));
      c.text = sliceLines(text, starts.get(c.path)!, c.startLine, c.endLine);
    }
    // Opt-in dense signal (off by default): re-orders files after the ranking; a failure keeps the ranking.
    const files = this.dense
      ? await this.dense.fuse({
          repo: this.commonDir(opts.repoPath),
          index,
          readTexts: (paths) => this.fileTexts(reader, index, paths),
          query: opts.query,
          files: ranking.files,
        })
      : ranking.files;
    return {
      commit: index.commit,
      files: files.slice(0, topK).map((f) => ({ path: f.path, score: f.score, why: why.get(f.path) || '' })),
      chunks,
      ms: performance.now() - t0,
    };
  }

  /** True when the warm index of the repository is at another commit than the one asked for. */
  isStale(repoPath: string, commit = 'HEAD'): boolean {
    const warm = this.warm.get(this.commonDir(repoPath));
    return !warm || warm.index.commit !== resolveCommit(repoPath, commit);
  }

  /** The warm index, checked to be at `commit`; `StaleIndexError` otherwise. */
  indexAt(repoPath: string, commit: string): RepoIndex {
    const warm = this.warm.get(this.commonDir(repoPath));
    const sha = commit && commit === warm?.index.commit ? commit : resolveCommit(repoPath, commit);
    if (!warm || warm.index.commit !== sha) throw new StaleIndexError(warm?.index.commit ?? '(none)', sha);
    return warm.index;
  }

  /** Stops the helper processes (one `git cat-file` per repository); the Curator stays usable. */
  close(): void {
    for (const w of this.warm.values()) w.reader.close();
  }

  private async fileTexts(
    reader: BlobReader,
    index: RepoIndex,
    paths: string[],
  ): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const missing: string[] = [];
    for (const p of paths) {
      const blob = index.records.get(p)?.blob;
      if (!blob) continue;
      const content = this.contents.get(blob);
      if (content) out.set(p, content.toString('utf8'));
      else missing.push(blob);
    }
    if (missing.length > 0) {
      const blobs = await reader.readMany(missing);
      for (const [blob, content] of blobs) this.keepContent(blob, content);
      for (const p of paths) {
        const content = this.contents.get(index.records.get(p)?.blob ?? '');
        if (!out.has(p) && content) out.set(p, content.toString('utf8'));
      }
    }
    return out;
  }

  /** A repository's git common dir, asked of git once per path (a spawn costs milliseconds). */
  private commonDir(repoPath: string): string {
    let dir = this.commonDirs.get(repoPath);
    if (!dir) {
      dir = gitCommonDir(repoPath);
      this.commonDirs.set(repoPath, dir);
    }
    return dir;
  }

  /** Serialises work per repository: an index is moved in place, so two moves must not interleave. */
  private async ensure(opts: IndexRepoOptions): Promise<Warm & { summary: IndexSummary }> {
    const commonDir = this.commonDir(opts.repoPath);
    const prev = this.locks.get(commonDir) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(() => this.ensureLocked(commonDir, opts));
    this.locks.set(commonDir, run);
    return run;
  }

  private async ensureLocked(
    commonDir: string,
    opts: IndexRepoOptions,
  ): Promise<Warm & { summary: IndexSummary }> {
    const t0 = performance.now();
    let warm = this.warm.get(commonDir);
    // A full commit id the warm index already has needs no git call: commits are immutable.
    const sha =
      opts.commit && opts.commit === warm?.index.commit
        ? opts.commit
        : resolveCommit(opts.repoPath, opts.commit ?? 'HEAD');
    let source: IndexSummary['source'] = 'warm';
    let filesRead = 0;
    if (!warm || warm.index.commit !== sha) {
      const store =
        warm?.store ??
        new SnapshotStore(
          opts.cacheDir ?? this.options.cacheDir ?? defaultCacheDir(),
          commonDir,
          this.options.maxSnapshots,
        );
      let index = warm?.index;
      // A warm index moves by its diff when that is small; otherwise a snapshot of the commit is cheaper.
      let delta = index ? diffNames(opts.repoPath, index.commit, sha) : undefined;
      if (!index || (store.has(sha) && delta!.length > index.records.size * INCREMENTAL_SHARE)) {
        const records = store.load(sha);
        if (records) {
          index = new RepoIndex(sha, records);
          source = 'disk';
          delta = undefined;
        } else if (!index) {
          for (const other of store.list()) {
            const base = store.load(other);
            if (base) {
              index = new RepoIndex(other, base);
              break;
            }
          }
        }
      }
      if (!index) {
        const records = await buildAll(opts.repoPath, sha, this.keepContent);
        filesRead = records.length;
        index = new RepoIndex(sha, records);
        source = 'full';
      } else if (index.commit !== sha) {
        const d = await buildDelta(opts.repoPath, index.commit, sha, delta, this.keepContent);
        filesRead = d.changed.length;
        index.update(sha, d.changed, d.deleted);
        source = 'incremental';
      }
      if (source !== 'disk' && this.options.persist !== false) store.save(sha, index.records.values());
      warm = { index, repoPath: opts.repoPath, store, reader: warm?.reader ?? new BlobReader(opts.repoPath) };
      this.warm.set(commonDir, warm);
    }
    const { index } = warm;
    if (this.useHistory && index.history?.commit !== sha) {
      index.history = index.history
        ? await index.history.moveTo(opts.repoPath, sha)
        : await CommitHistory.read(
            opts.repoPath,
            sha,
            this.options.persist !== false ? warm.store : undefined,
          );
      if (index.history.warning)
        this.options.onWarning?.(`history of ${sha.slice(0, 12)}: ${index.history.warning}`);
    }
    const summary: IndexSummary = {
      commit: sha,
      ...warm.index.summary(),
      ms: performance.now() - t0,
      source,
      filesRead,
    };
    return { ...warm, repoPath: opts.repoPath, summary };
  }
}
