import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRecord, type RecordStore, tables } from '../recorder/index.ts';
import { type ScriptedLlm, startScriptedLlm } from '../../test/scripted-llm/index.ts';
import { Curator } from './curator.ts';
import { DENSE_DIMS, PgvectorDenseIndex } from './dense-index.ts';
import { DenseSignal, resolveDenseSignal } from './dense-signal.ts';
import { EmbeddingError } from './embed-error.ts';
import { createEmbeddingProvider, type EmbeddingProvider, resolveEmbeddingConfig } from './embed-provider.ts';
import { makeTestRepo, type TestRepo } from './test-repo.ts';

/** Bag-of-words hashing: texts sharing words point the same way, so "nearest" means something. */
function bagOfWords(): EmbeddingProvider & { texts: string[] } {
  const texts: string[] = [];
  return {
    model: 'bag-of-words',
    dims: DENSE_DIMS,
    texts,
    async embed(input) {
      texts.push(...input);
      return input.map((t) => {
        const v = new Array<number>(DENSE_DIMS).fill(0);
        for (const w of t.toLowerCase().match(/[a-z]{3,}/g) ?? []) {
          v[createHash('md5').update(w).digest().readUInt32BE(0) % DENSE_DIMS]! += 1;
        }
        v[0]! += 1e-3; // never the zero vector
        const n = Math.hypot(...v);
        return v.map((x) => x / n);
      });
    },
  };
}

/** Two topics: postage (parcel, tariff, postage) and everything else; words are not shared across them. */
function topics(): EmbeddingProvider {
  return {
    model: 'topics',
    dims: DENSE_DIMS,
    async embed(input) {
      return input.map((t) => {
        const v = new Array<number>(DENSE_DIMS).fill(0);
        v[/parcel|tariff|postage/i.test(t) ? 0 : 1] = 1;
        return v;
      });
    },
  };
}

const FILES = {
  'shop/cart.py':
    'class Cart:\n    def add_item(self, item):\n        self.items.append(item)\n\n    def total(self):\n        return sum(self.items)\n',
  'shop/pricing.py': 'def apply_discount(amount, coupon):\n    return amount / 2 if coupon else amount\n',
  'shop/shipping.py':
    'def shipping_cost(weight):\n    """Parcel weight tariff."""\n    return 5 + 2 * weight\n',
  'shop/mail.py': 'def send_receipt(order):\n    """Email the receipt."""\n    return order\n',
};

let llm: ScriptedLlm;
let record: RecordStore;
let repo: TestRepo;
let cacheDir: string;
const { embeddings } = tables;

const rows = async (commit: string) =>
  record.db
    .select({ path: embeddings.path, start: embeddings.startLine, end: embeddings.endLine })
    .from(embeddings)
    .where(eq(embeddings.indexId, commit));

const embedInputs = () =>
  llm.calls.filter((c) => c.path === '/v1/embeddings').flatMap((c) => (c.body as { input: string[] }).input);

beforeAll(async () => {
  llm = await startScriptedLlm(() => ({ content: '' }), { embeddingDims: DENSE_DIMS });
  record = await openRecord();
  repo = makeTestRepo();
  cacheDir = mkdtempSync(join(tmpdir(), 'dense-test-'));
});

afterAll(async () => {
  await llm.close();
  await record.close();
  repo.cleanup();
  rmSync(cacheDir, { recursive: true, force: true });
});

describe('dense index over the scripted /v1/embeddings', () => {
  it('stores one vector per chunk and re-embeds only changed files when the commit moves', async () => {
    const provider = createEmbeddingProvider(
      resolveEmbeddingConfig({
        CODEMESH_EMBED_BASE_URL: llm.url,
        CODEMESH_EMBED_MODEL: 'scripted-embedding',
      }),
    );
    const dense = new DenseSignal({ index: new PgvectorDenseIndex(record.db, provider) });
    const curator = new Curator({ cacheDir, dense });
    const c1 = repo.commit(FILES);
    const first = await curator.search({ repoPath: repo.path, commit: c1, query: 'cart total' });
    const summary = await curator.index({ repoPath: repo.path, commit: c1 });
    const stored = await rows(c1);
    expect(stored).toHaveLength(summary.chunks);
    expect(new Set(stored.map((r) => `${r.path}:${r.start}-${r.end}`)).size).toBe(summary.chunks);
    expect(embedInputs()).toHaveLength(summary.chunks + 1); // the chunks, then the query
    expect(first.files.length).toBeGreaterThan(0);

    const before = embedInputs().length;
    const c2 = repo.commit({ 'shop/pricing.py': 'def apply_discount(amount, coupon):\n    return amount\n' });
    await curator.search({ repoPath: repo.path, commit: c2, query: 'discount' });
    const sent = embedInputs().slice(before);
    // One chunk of the changed file, then the query: the other files' rows were copied in SQL.
    expect(sent).toHaveLength(2);
    expect(sent[0]).toContain('shop/pricing.py');
    expect(await rows(c2)).toHaveLength((await curator.index({ repoPath: repo.path, commit: c2 })).chunks);
    expect(await rows(c1)).toHaveLength(stored.length);
    curator.close();
  });

  it('finds a chunk by its own text (equal texts embed equally)', async () => {
    const provider = createEmbeddingProvider(
      resolveEmbeddingConfig({
        CODEMESH_EMBED_BASE_URL: llm.url,
        CODEMESH_EMBED_MODEL: 'scripted-embedding',
      }),
    );
    const index = new PgvectorDenseIndex(record.db, provider);
    const chunks = ['alpha', 'beta', 'gamma'].map((t, i) => ({
      path: `${t}.txt`,
      startLine: 1,
      endLine: i + 1,
      text: t,
    }));
    const s = await index.index({ repo: 'r-equal', commit: 'c', chunks });
    expect(s.embedded).toBe(3);
    const hits = await index.search('r-equal', 'c', await index.embedQuery('beta'), 3);
    expect(hits[0]).toMatchObject({ path: 'beta.txt', startLine: 1, endLine: 2 });
    expect(hits[0]!.distance).toBeCloseTo(0, 5);
    expect(hits).toHaveLength(3);
  });
});

describe('dense search with meaningful vectors', () => {
  it('returns the nearest chunk first and never mixes repositories or commits', async () => {
    const index = new PgvectorDenseIndex(record.db, bagOfWords());
    const chunks = [
      { path: 'a.py', startLine: 1, endLine: 5, text: 'parse the configuration file into settings' },
      { path: 'b.py', startLine: 1, endLine: 9, text: 'open a socket connection with a timeout and retry' },
      { path: 'c.py', startLine: 3, endLine: 4, text: 'render the template with html escaping' },
    ];
    await index.index({ repo: 'r-bow', commit: 'c1', chunks });
    await index.index({ repo: 'r-other', commit: 'c1', chunks: [{ ...chunks[1]!, path: 'x.py' }] });
    const q = await index.embedQuery('connection timeout on the socket');
    const hits = await index.search('r-bow', 'c1', q, 2);
    expect(hits.map((h) => h.path)).toEqual(['b.py', expect.any(String)]);
    expect(hits[0]!.distance).toBeLessThan(hits[1]!.distance);
    expect(await index.search('r-bow', 'c2', q, 2)).toEqual([]);
  });

  it('uses the HNSW index for an unfiltered nearest-neighbour query', async () => {
    const q = `[${new Array(DENSE_DIMS).fill(0.1).join(',')}]`;
    await record.db.execute(sql`set enable_seqscan = off`);
    const plan = await record.db.execute(
      sql`explain select id from ${embeddings} order by ${embeddings.embedding} <=> ${q}::vector limit 5`,
    );
    await record.db.execute(sql`set enable_seqscan = on`);
    expect(JSON.stringify(plan)).toContain('embeddings_hnsw_cosine_idx');
  });
});

describe('failures', () => {
  it('an unreachable provider is a clear EmbeddingError without the key, and search keeps the ranking', async () => {
    const provider = createEmbeddingProvider({
      ...resolveEmbeddingConfig({
        CODEMESH_EMBED_BASE_URL: 'http://127.0.0.1:9/v1',
        CODEMESH_EMBED_API_KEY: 'sk-secret-123',
      }),
      maxRetries: 0,
      timeoutMs: 2000,
    });
    const index = new PgvectorDenseIndex(record.db, provider);
    const err = await index
      .index({ repo: 'r-fail', commit: 'c', chunks: [{ path: 'a', startLine: 1, endLine: 1, text: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EmbeddingError);
    expect((err as EmbeddingError).code).toBe('curator.embedding_failed');
    expect((err as Error).message).toContain('127.0.0.1:9');
    expect((err as Error).message).not.toContain('sk-secret-123');

    const errors: unknown[] = [];
    const withDense = new Curator({
      cacheDir,
      dense: new DenseSignal({ index, onError: (e) => errors.push(e) }),
    });
    const plain = new Curator({ cacheDir, dense: false });
    const c = repo.commit({ 'shop/mail.py': 'def send_receipt(order):\n    return None\n' });
    const q = { repoPath: repo.path, commit: c, query: 'shipping cost weight' };
    expect((await withDense.search(q)).files).toEqual((await plain.search(q)).files);
    expect(errors[0]).toBeInstanceOf(EmbeddingError);
    withDense.close();
    plain.close();
  });

  it('refuses vectors of another length than the table holds', async () => {
    const wrong = createEmbeddingProvider(
      resolveEmbeddingConfig({ CODEMESH_EMBED_BASE_URL: llm.url, CODEMESH_EMBED_DIMS: '8' }),
    );
    expect(() => new PgvectorDenseIndex(record.db, wrong)).toThrow(/CODEMESH_EMBED_DIMS=384/);
    const lying = createEmbeddingProvider({
      ...resolveEmbeddingConfig({ CODEMESH_EMBED_BASE_URL: llm.url }),
      dims: 384,
    });
    const small = await startScriptedLlm(() => ({ content: '' }), { embeddingDims: 8 });
    const p = createEmbeddingProvider({ ...resolveEmbeddingConfig({ CODEMESH_EMBED_BASE_URL: small.url }) });
    await expect(p.embed(['a'])).rejects.toThrow(/expected vectors of 384 numbers/);
    await small.close();
    expect(lying.dims).toBe(384);
    expect(() => resolveEmbeddingConfig({ CODEMESH_EMBED_BATCH: '0' })).toThrow(EmbeddingError);
  });
});

describe('opt-in', () => {
  it('is off unless asked for, and changes the file ranking only when on', async () => {
    expect(resolveDenseSignal(undefined, {})).toBeUndefined();
    expect(resolveDenseSignal(undefined, { CODEMESH_CURATOR_DENSE: '0' })).toBeUndefined();
    expect(resolveDenseSignal(undefined, { CODEMESH_CURATOR_DENSE: '1' })).toBeInstanceOf(DenseSignal);
    expect(resolveDenseSignal(false, { CODEMESH_CURATOR_DENSE: '1' })).toBeUndefined();

    const c = repo.commit({ 'shop/shipping.py': FILES['shop/shipping.py'] });
    // Lexically about the discount; by "meaning" (postage is a parcel tariff) about shipping.
    const q = { repoPath: repo.path, commit: c, query: 'apply_discount coupon postage' };
    const off = new Curator({ cacheDir, dense: false });
    const deflt = new Curator({ cacheDir });
    const on = new Curator({
      cacheDir,
      dense: new DenseSignal({ index: new PgvectorDenseIndex(record.db, topics()), k: 1, weight: 2 }),
    });
    const a = (await off.search(q)).files.map((f) => f.path);
    const b = (await deflt.search(q)).files.map((f) => f.path);
    const d = (await on.search(q)).files.map((f) => f.path);
    expect(b).toEqual(a);
    expect(a[0]).not.toBe('shop/shipping.py');
    expect(d[0]).toBe('shop/shipping.py');
    expect(d).toContain(a[0]);
    for (const x of [off, deflt, on]) x.close();
  });
});
