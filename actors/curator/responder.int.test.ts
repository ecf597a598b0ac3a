// The Curator on the mesh: request/reply over a real nats-server, as the Planner and Coder use it.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { subjects } from '../../schemas/index.ts';
import { git, makeFixtureRepo } from '../../test/fixture-repo.ts';
import { type NatsFixture, startNatsFixture } from '../../test/nats.ts';
import { type RunningActor, startActor } from '../mesh.ts';
import { curatorClient, curatorIndexer } from '../runtime/retrieve.ts';

let nats: NatsFixture;
let curator: RunningActor | undefined;
beforeAll(async () => {
  nats = await startNatsFixture();
});
afterAll(async () => {
  await curator?.stop();
  await nats?.stop();
});

it('answers with snippets and their sources; a bad query gets a typed error; no Curator means no snippets', async () => {
  const mesh = await nats.connect('agent');
  const repo = makeFixtureRepo('py-calc');
  const commit = git(repo, 'rev-parse', 'HEAD');
  // The first query starts the Curator's worker threads (tsx and the index code load in each): seconds on an
  // idle machine, more on a loaded one. The wait is for correctness, not speed.
  const retrieve = curatorClient(mesh, { timeoutMs: 100_000 });
  const ac = new AbortController();

  expect(await retrieve(repo, commit, 'subtract', ac.signal)).toEqual([]);

  curator = await startActor('curator', {
    natsUrl: nats.server.url,
    dataDir: mkdtempSync(join(tmpdir(), 'cm-cur-')),
  });
  const hits = await retrieve(repo, commit, 'subtract two numbers', ac.signal);
  expect(hits.length).toBeGreaterThan(0);
  expect(hits[0]).toMatchObject({ path: 'calc.py' });
  expect(hits.find((h) => h.text.includes('def subtract'))).toBeDefined();

  const bad = await mesh.nc.request(subjects.curator(), JSON.stringify({ repoPath: repo }), {
    timeout: 5000,
  });
  expect(bad.json()).toMatchObject({ ok: false, code: 'INVALID_QUERY' });
  const unknown = await mesh.nc.request(
    subjects.curator(),
    JSON.stringify({ repoPath: repo, commit: 'f'.repeat(40), query: 'x' }),
    { timeout: 5000 },
  );
  expect(unknown.json()).toMatchObject({ ok: false });

  // Index requests (what `POST /v1/repos/index` sends): the summary, or the Curator's error code.
  const indexer = curatorIndexer(mesh, { timeoutMs: 100_000 });
  expect(await indexer.index({ repoPath: repo, commit })).toMatchObject({ commit, files: 3 });
  await expect(indexer.index({ repoPath: repo, commit: 'f'.repeat(40) })).rejects.toMatchObject({
    code: 'curator.unknown_commit',
  });
  const badIndex = await mesh.nc.request(subjects.curatorIndex(), JSON.stringify({}), { timeout: 5000 });
  expect(badIndex.json()).toMatchObject({ ok: false, code: 'INVALID_QUERY' });
  await curator.stop();
  curator = undefined;
  await expect(indexer.index({ repoPath: repo })).rejects.toMatchObject({ code: 'curator.unavailable' });
}, 180_000);
