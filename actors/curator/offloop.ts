// The Curator off the caller's event loop: the same `index`/`search` as `Curator`, run in child processes
// (`engine-process.ts`) so that index builds (minutes of CPU on a large repository) and synchronous git calls
// never stall the actors that share the loop in `codemesh up`/`codemesh run`, and closing a busy engine can
// never abort the caller. Two engines: one holds the warm indexes and builds them; the other gives a bounded
// first answer from the tree alone (`quick.ts`) when the full index is not there within `firstAnswerMs`, so a
// cold repository costs a caller seconds, not minutes. The build goes on after such an answer; later searches
// get the full index as soon as it is ready.
import type { CuratorOptions } from './curator.ts';
import { EngineProcess, keyOf } from './engine-process.ts';
import type { IndexRepoOptions, IndexSummary, SearchRepoOptions, SearchResult } from './types.ts';

export interface OffloopCuratorOptions extends Omit<CuratorOptions, 'dense'> {
  /** The dense signal from `CODEMESH_EMBED_*` (`true`), none (`false`), or per `CODEMESH_CURATOR_DENSE`. */
  dense?: boolean;
  /** How long a search waits for the full index before answering from paths and mentions (default 3 s). */
  firstAnswerMs?: number;
  /**
   * The same wait when the index is built and the engine idle, so only ranking is left (default 15 s): a
   * ranking is never cut short by the first-answer wait, an engine stuck past this still is.
   */
  warmAnswerMs?: number;
}

/** The promise's value if it settles within `ms`, else undefined (the promise goes on; its failure is thrown). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, ms, undefined);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * @example
 * const curator = new OffloopCurator({ cacheDir });
 * const r = await curator.search({ repoPath, commit, query: issueText }); // r.index: 'full' | 'quick'
 * await curator.close();
 */
export class OffloopCurator {
  private readonly full: EngineProcess;
  private readonly quick: EngineProcess;
  private readonly firstAnswerMs: number;
  private readonly warmAnswerMs: number;
  /** Index builds asked of the full engine and not finished, by repository and commit. */
  private readonly indexing = new Map<string, Promise<IndexSummary>>();

  constructor(options: OffloopCuratorOptions = {}) {
    const { onWarning, firstAnswerMs, warmAnswerMs, ...rest } = options;
    this.full = new EngineProcess('full', rest, onWarning);
    this.quick = new EngineProcess('quick', { ...rest, persist: false, history: false });
    this.firstAnswerMs = firstAnswerMs ?? 3000;
    this.warmAnswerMs = Math.max(this.firstAnswerMs, warmAnswerMs ?? 15_000);
  }

  /** Brings the repository's index to `commit` in the full engine, however long that takes. */
  index(opts: IndexRepoOptions): Promise<IndexSummary> {
    const key = keyOf(opts);
    let building = this.indexing.get(key);
    if (!building) {
      building = this.full.request<IndexSummary>({ op: 'index', opts }).promise.finally(() => {
        this.indexing.delete(key);
      });
      // A search may stop waiting for the build; its failure must not go unobserved then.
      building.catch(() => undefined);
      this.indexing.set(key, building);
    }
    return building;
  }

  /**
   * The full index's answer if it comes within `firstAnswerMs`; otherwise the first answer from paths and
   * mentions (`index: 'quick'`) while the full index goes on building. One build per repository and commit,
   * however many searches wait for it; a search is sent to the full engine only once its index is built.
   */
  async search(opts: SearchRepoOptions): Promise<SearchResult> {
    // A cold index: the quick answer is worked out while the full one is awaited, so it is there at the
    // deadline (and thrown away when the full index answers in time).
    const quick = this.full.ready(opts)
      ? undefined
      : this.quick.request<SearchResult>({ op: 'quick', opts }).promise;
    quick?.catch(() => undefined);
    try {
      if (this.full.ready(opts) || (await within(this.index(opts), this.firstAnswerMs))) {
        const wait = this.full.ready(opts) ? this.warmAnswerMs : this.firstAnswerMs;
        const full = this.full.request<SearchResult | undefined>({ op: 'search', opts });
        const r = await within(full.promise, wait);
        if (r) return r;
        this.full.cancel(full.id);
      }
    } catch {
      // A failed full search (a bad commit, a dead engine) still gets the quick path's answer or its error.
    }
    return quick ?? this.quick.request<SearchResult>({ op: 'quick', opts }).promise;
  }

  /** Stops both engines (killed if busy); a later call starts them again (with cold indexes). */
  async close(): Promise<void> {
    await Promise.all([this.full.close(), this.quick.close()]);
  }
}
