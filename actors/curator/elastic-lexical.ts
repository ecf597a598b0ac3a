// The `LexicalIndex` contract backed by Elasticsearch: documents are stored as their pre-split terms in a
// whitespace-analysed field with BM25 similarity, so ranking matches the in-memory `Bm25Index` closely.
// No Elasticsearch server runs on the development machine: this adapter is tested against a mocked client.
import type { Client } from '@elastic/elasticsearch';
import type { LexicalDoc, LexicalHit, LexicalIndex } from './types.ts';

export interface ElasticLexicalOptions {
  client: Client;
  /** Index name, one per repository and granularity (files or chunks), e.g. `codemesh-django-files`. */
  index: string;
  /** Refresh after writes so a search sees them at once (tests, small indices). */
  refresh?: boolean;
}

/** Repeats each term by its frequency: the whitespace analyser then yields the same term frequencies. */
export function termsToText(terms: Map<string, number>): string {
  const words: string[] = [];
  for (const [t, n] of terms) for (let i = 0; i < Math.max(1, Math.round(n)); i++) words.push(t);
  return words.join(' ');
}

export class ElasticLexicalIndex implements LexicalIndex {
  private readonly client: Client;
  private readonly index: string;
  private readonly refresh: boolean;
  private created = false;

  constructor(opts: ElasticLexicalOptions) {
    this.client = opts.client;
    this.index = opts.index;
    this.refresh = opts.refresh ?? false;
  }

  /** Creates the index with its mapping unless it exists. */
  async ensureIndex(): Promise<void> {
    if (this.created) return;
    const exists = await this.client.indices.exists({ index: this.index });
    if (!exists) {
      await this.client.indices.create({
        index: this.index,
        settings: { similarity: { default: { type: 'BM25', k1: 1.2, b: 0.75 } } },
        mappings: { properties: { terms: { type: 'text', analyzer: 'whitespace' } } },
      });
    }
    this.created = true;
  }

  async upsert(docs: LexicalDoc[]): Promise<void> {
    if (docs.length === 0) return;
    await this.ensureIndex();
    const operations = docs.flatMap((d) => [
      { index: { _index: this.index, _id: d.id } },
      { terms: termsToText(d.terms) },
    ]);
    const res = await this.client.bulk({ operations, refresh: this.refresh });
    if (res.errors) {
      const first = res.items.find((i) => i.index?.error)?.index?.error;
      throw new Error(`elasticsearch bulk index failed: ${first?.reason ?? 'unknown reason'}`);
    }
  }

  async remove(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.ensureIndex();
    const operations = ids.map((id) => ({ delete: { _index: this.index, _id: id } }));
    await this.client.bulk({ operations, refresh: this.refresh });
  }

  async search(query: Map<string, number>, topK: number): Promise<LexicalHit[]> {
    await this.ensureIndex();
    const should = [...query].map(([term, weight]) => ({ term: { terms: { value: term, boost: weight } } }));
    const res = await this.client.search<{ terms: string }>({
      index: this.index,
      size: topK,
      _source: false,
      query: { bool: { should, minimum_should_match: 1 } },
    });
    return res.hits.hits.map((h) => ({ id: String(h._id), score: h._score ?? 0 }));
  }

  async count(): Promise<number> {
    await this.ensureIndex();
    const res = await this.client.count({ index: this.index });
    return res.count;
  }
}
