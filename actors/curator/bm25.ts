// An in-memory BM25 inverted index over pre-tokenised documents, updated in place document by document.
import type { LexicalDoc, LexicalHit, LexicalIndex } from './types.ts';

export interface Bm25Options {
  k1?: number;
  b?: number;
  /** Query terms whose idf is below this carry almost no signal and are skipped (speed). */
  minIdf?: number;
}

interface Posting {
  docs: number[];
  tfs: number[];
  /** Live documents in `docs` (deleted ones stay until the next compaction). */
  live: number;
}

export class Bm25Index implements LexicalIndex {
  readonly k1: number;
  readonly b: number;
  readonly minIdf: number;
  // Document numbers are never reused, so a deleted document's stale postings can simply be skipped.
  private readonly ids: string[] = [];
  private readonly idOf = new Map<string, number>();
  private readonly alive: boolean[] = [];
  private readonly lens: number[] = [];
  private readonly docTerms: Array<Map<string, number> | undefined> = [];
  private readonly groups: Array<string | undefined> = [];
  private readonly postings = new Map<string, Posting>();
  private acc = new Float64Array(0);
  private totalLen = 0;
  private n = 0;
  private dead = 0;

  constructor(options: Bm25Options = {}) {
    this.k1 = options.k1 ?? 1.2;
    this.b = options.b ?? 0.75;
    this.minIdf = options.minIdf ?? 0.2;
  }

  get size(): number {
    return this.n;
  }

  /** Internal document numbers handed out so far (live and deleted): bounds `idAt`/`groupAt`. */
  get docCount(): number {
    return this.ids.length;
  }

  /** False for a document number whose document was deleted or replaced. */
  isAlive(doc: number): boolean {
    return this.alive[doc] === true;
  }

  /** Adds or replaces a document. The term map is kept by reference: do not mutate it afterwards. */
  put(id: string, terms: Map<string, number>, group?: string): void {
    this.delete(id);
    const doc = this.ids.length;
    this.ids.push(id);
    this.idOf.set(id, doc);
    this.alive.push(true);
    this.groups.push(group);
    this.docTerms.push(terms);
    let len = 0;
    for (const [term, tf] of terms) {
      len += tf;
      let p = this.postings.get(term);
      if (!p) {
        p = { docs: [], tfs: [], live: 0 };
        this.postings.set(term, p);
      }
      p.docs.push(doc);
      p.tfs.push(tf);
      p.live++;
    }
    this.lens.push(len);
    this.totalLen += len;
    this.n++;
  }

  delete(id: string): boolean {
    const doc = this.idOf.get(id);
    if (doc === undefined) return false;
    for (const term of this.docTerms[doc]!.keys()) {
      const p = this.postings.get(term);
      if (p) p.live--;
    }
    this.alive[doc] = false;
    this.totalLen -= this.lens[doc]!;
    this.docTerms[doc] = undefined;
    this.groups[doc] = undefined;
    this.idOf.delete(id);
    this.n--;
    if (++this.dead > Math.max(1000, this.n * 0.3)) this.compact();
    return true;
  }

  /** Drops deleted documents from the postings. */
  private compact(): void {
    for (const [term, p] of this.postings) {
      if (p.live === 0) {
        this.postings.delete(term);
        continue;
      }
      if (p.live === p.docs.length) continue;
      const docs: number[] = [];
      const tfs: number[] = [];
      for (let i = 0; i < p.docs.length; i++) {
        if (this.alive[p.docs[i]!]) {
          docs.push(p.docs[i]!);
          tfs.push(p.tfs[i]!);
        }
      }
      p.docs = docs;
      p.tfs = tfs;
    }
    this.dead = 0;
  }

  idf(term: string): number {
    const df = this.postings.get(term)?.live ?? 0;
    return Math.log(1 + (this.n - df + 0.5) / (df + 0.5));
  }

  /**
   * Scores of the documents matching at least one query term (query weights multiply idf), as parallel
   * arrays of internal document numbers and scores; see `idAt` and `groupAt`.
   */
  scoreDocs(query: Map<string, number>, bOverride?: number): { docs: number[]; scores: Float64Array } {
    if (this.acc.length < this.ids.length) this.acc = new Float64Array(this.ids.length * 2);
    const acc = this.acc;
    const docs: number[] = [];
    const avg = this.n > 0 ? this.totalLen / this.n : 1;
    const { k1, alive, lens } = this;
    const b = bOverride ?? this.b;
    const c0 = k1 * (1 - b);
    const c1 = (k1 * b) / avg;
    for (const [term, qw] of query) {
      const p = this.postings.get(term);
      if (!p || p.live === 0) continue;
      const idf = Math.log(1 + (this.n - p.live + 0.5) / (p.live + 0.5));
      if (idf < this.minIdf) continue;
      const w = idf * qw * (k1 + 1);
      const pd = p.docs;
      const pt = p.tfs;
      // A posting without deleted documents (the usual case) needs no liveness check per document.
      const check = p.live !== pd.length;
      for (let i = 0; i < pd.length; i++) {
        const doc = pd[i]!;
        if (check && !alive[doc]) continue;
        const tf = pt[i]!;
        if (acc[doc] === 0) docs.push(doc);
        acc[doc]! += (w * tf) / (tf + c0 + c1 * lens[doc]!);
      }
    }
    const scores = new Float64Array(docs.length);
    for (let i = 0; i < docs.length; i++) {
      scores[i] = acc[docs[i]!]!;
      acc[docs[i]!] = 0;
    }
    return { docs, scores };
  }

  idAt(doc: number): string {
    return this.ids[doc]!;
  }

  /** The group given to `put` (the Curator groups chunks by file path). */
  groupAt(doc: number): string | undefined {
    return this.groups[doc];
  }

  /** BM25 score of every document matching at least one query term, by id. */
  scoreAll(query: Map<string, number>, bOverride?: number): Map<string, number> {
    const { docs, scores } = this.scoreDocs(query, bOverride);
    const out = new Map<string, number>();
    for (let i = 0; i < docs.length; i++) out.set(this.ids[docs[i]!]!, scores[i]!);
    return out;
  }

  searchSync(query: Map<string, number>, topK: number): LexicalHit[] {
    return [...this.scoreAll(query)]
      .map(([id, score]) => ({ id, score }))
      .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
      .slice(0, topK);
  }

  async upsert(docs: LexicalDoc[]): Promise<void> {
    for (const d of docs) this.put(d.id, d.terms);
  }

  async remove(ids: string[]): Promise<void> {
    for (const id of ids) this.delete(id);
  }

  async search(query: Map<string, number>, topK: number): Promise<LexicalHit[]> {
    return this.searchSync(query, topK);
  }

  async count(): Promise<number> {
    return this.n;
  }
}
