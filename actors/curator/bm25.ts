// An in-memory BM25 inverted index over pre-tokenised documents, updated in place document by document.
import type { LexicalDoc, LexicalHit, LexicalIndex } from './types.ts';

export interface Bm25Options {
  k1?: number;
  b?: number;
  /** Query terms whose idf is below this carry almost no signal and are skipped (speed). */
  minIdf?: number;
}

export class Bm25Index implements LexicalIndex {
  readonly k1: number;
  readonly b: number;
  readonly minIdf: number;
  private readonly ids: string[] = [];
  private readonly idOf = new Map<string, number>();
  private readonly free: number[] = [];
  private readonly lens: number[] = [];
  private readonly docTerms: Array<Map<string, number> | undefined> = [];
  private readonly groups: Array<string | undefined> = [];
  private acc = new Float64Array(0);
  private readonly postings = new Map<string, Map<number, number>>();
  private totalLen = 0;
  private n = 0;

  constructor(options: Bm25Options = {}) {
    this.k1 = options.k1 ?? 1.2;
    this.b = options.b ?? 0.75;
    this.minIdf = options.minIdf ?? 0.2;
  }

  get size(): number {
    return this.n;
  }

  /** Adds or replaces a document. The term map is kept by reference: do not mutate it afterwards. */
  put(id: string, terms: Map<string, number>, group?: string): void {
    this.delete(id);
    const doc = this.free.pop() ?? this.ids.length;
    this.ids[doc] = id;
    this.groups[doc] = group;
    this.idOf.set(id, doc);
    this.docTerms[doc] = terms;
    let len = 0;
    for (const [term, tf] of terms) {
      len += tf;
      let p = this.postings.get(term);
      if (!p) {
        p = new Map();
        this.postings.set(term, p);
      }
      p.set(doc, tf);
    }
    this.lens[doc] = len;
    this.totalLen += len;
    this.n++;
  }

  delete(id: string): boolean {
    const doc = this.idOf.get(id);
    if (doc === undefined) return false;
    const terms = this.docTerms[doc]!;
    for (const term of terms.keys()) {
      const p = this.postings.get(term);
      if (!p) continue;
      p.delete(doc);
      if (p.size === 0) this.postings.delete(term);
    }
    this.totalLen -= this.lens[doc]!;
    this.docTerms[doc] = undefined;
    this.groups[doc] = undefined;
    this.idOf.delete(id);
    this.free.push(doc);
    this.n--;
    return true;
  }

  idf(term: string): number {
    const df = this.postings.get(term)?.size ?? 0;
    return Math.log(1 + (this.n - df + 0.5) / (df + 0.5));
  }

  /**
   * Scores of the documents matching at least one query term (query weights multiply idf), as parallel
   * arrays of internal document numbers and scores; see `idAt` and `groupAt`.
   */
  scoreDocs(query: Map<string, number>): { docs: number[]; scores: Float64Array } {
    if (this.acc.length < this.ids.length) this.acc = new Float64Array(this.ids.length * 2);
    const acc = this.acc;
    const docs: number[] = [];
    const avg = this.n > 0 ? this.totalLen / this.n : 1;
    const { k1, b } = this;
    for (const [term, qw] of query) {
      const p = this.postings.get(term);
      if (!p) continue;
      const idf = Math.log(1 + (this.n - p.size + 0.5) / (p.size + 0.5));
      if (idf < this.minIdf) continue;
      const w = idf * qw * (k1 + 1);
      const c0 = k1 * (1 - b);
      const c1 = (k1 * b) / avg;
      for (const [doc, tf] of p) {
        if (acc[doc] === 0) docs.push(doc);
        acc[doc]! += (w * tf) / (tf + c0 + c1 * this.lens[doc]!);
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
  scoreAll(query: Map<string, number>): Map<string, number> {
    const { docs, scores } = this.scoreDocs(query);
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
