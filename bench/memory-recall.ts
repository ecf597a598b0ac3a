// Experience-memory recall on the record (in-memory PGlite with pgvector): N entries per repository over a few
// repositories, then recall by words, and by vectors and words, against reading all of the repository's rows
// and ranking them in JS (what the blackboard fallback does). In-process vectors (no HTTP): the figure is the
// database's, not an embedding model's. Run: `npx tsx bench/memory-recall.ts [perRepo] [repos] [queries]`.
import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { EmbeddingProvider } from '../actors/curator/embed-provider.ts';
import { memoryRepoKey } from '../actors/memory/store.ts';
import { openRecord, tables } from '../actors/recorder/index.ts';
import { recallFromRecord } from '../actors/recorder/memory-recall.ts';
import {
  embedPendingMemories,
  memoryTermFrequencies,
  upsertMemoryRow,
} from '../actors/recorder/memory-rows.ts';
import { Bm25Index } from '../actors/curator/bm25.ts';
import { termFrequencies } from '../actors/curator/tokenize.ts';
import { MemoryEntry } from '../schemas/index.ts';
import { percentile } from './metric.ts';

const perRepo = Number(process.argv[2] ?? 1000);
const repos = Number(process.argv[3] ?? 4);
const queries = Number(process.argv[4] ?? 50);
const DIMS = 384;

const WORDS = (
  'cart total discount coupon tax invoice rounding currency refund order payment shipping parcel tariff ' +
  'login password session token cookie csrf header cache timeout retry queue worker cron schedule date ' +
  'timezone parse format locale unicode encode decode json yaml config env path file upload download ' +
  'image resize thumbnail email template render pagination filter sort search index query join migrate'
).split(' ');

let seed = 42;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
const pick = (n: number) => Array.from({ length: n }, () => WORDS[Math.floor(rnd() * WORDS.length)]!);

/** Bag-of-words hashing into 384 dims: texts sharing words point alike. */
const provider: EmbeddingProvider = {
  model: 'bench-bow',
  dims: DIMS,
  async embed(texts) {
    return texts.map((t) => {
      const v = new Array<number>(DIMS).fill(0);
      for (const w of t.toLowerCase().match(/[a-z]{3,}/g) ?? [])
        v[createHash('md5').update(w).digest().readUInt32BE(0) % DIMS]! += 1;
      v[0]! += 1e-3;
      const n = Math.hypot(...v);
      return v.map((x) => x / n);
    });
  },
};

const rec = await openRecord();
const at = '2026-12-02T00:00:00.000Z';
let t0 = performance.now();
for (let r = 0; r < repos; r++) {
  for (let i = 0; i < perRepo; i++) {
    const id = `t-bench${r}x${i}`;
    await upsertMemoryRow(
      rec.db,
      MemoryEntry.parse({
        taskId: id,
        repoPath: `/repos/r${r}`,
        title: pick(5).join(' '),
        description: pick(30).join(' '),
        planSummary: pick(8).join(' '),
        patchId: `${id}-p1`,
        files: [`src/${pick(1)[0]}.ts`],
        diff: '+x\n',
        outcome: 'integrated',
        createdAt: at,
        updatedAt: at,
      }),
    );
  }
  while ((await embedPendingMemories(rec.db, provider, memoryRepoKey(`/repos/r${r}`), 256)) > 0);
}
const loadMs = performance.now() - t0;

async function time(fn: () => Promise<unknown>): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < queries; i++) {
    t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return ms;
}
const q = () => ({ repoPath: '/repos/r0', taskId: 't-none', query: pick(20).join(' '), k: 3 });
const words = await time(() => recallFromRecord(rec.db, q(), { vector: false }));
const both = await time(() => recallFromRecord(rec.db, q(), { vector: true, provider }));
const readAll = await time(async () => {
  const query = q();
  const rows = await rec.db
    .select({ body: tables.memoryEntries.body })
    .from(tables.memoryEntries)
    .where(eq(tables.memoryEntries.repoKey, memoryRepoKey(query.repoPath)));
  const index = new Bm25Index();
  for (const r of rows) {
    const e = r.body as MemoryEntry;
    index.put(e.patchId, memoryTermFrequencies(e));
  }
  return index.searchSync(termFrequencies(query.query), 3);
});
const fmt = (ms: number[]) =>
  `p50 ${percentile(ms, 50).toFixed(1)} ms, p95 ${percentile(ms, 95).toFixed(1)} ms`;
console.log(
  `memory recall, ${repos} repositories × ${perRepo} entries (loaded and embedded in ${(loadMs / 1000).toFixed(1)} s), ${queries} queries each:`,
);
console.log(`  words (full-text candidates + BM25):        ${fmt(words)}`);
console.log(`  vectors (HNSW kNN) + words, fused:          ${fmt(both)}`);
console.log(`  read all the repository's rows + BM25 (JS): ${fmt(readAll)}`);
await rec.close();
