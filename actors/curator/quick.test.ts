// The bounded first answer (`quick.ts`) and the warm-up path (`codemesh index` fills the mesh's cache dir).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Curator } from './curator.ts';
import { main } from './main.ts';
import { quickSearch } from './quick.ts';
import { meshIndexDir } from './snapshot-store.ts';
import { makeTestRepo, type TestRepo } from './test-repo.ts';

let repo: TestRepo;
let commit: string;
beforeAll(() => {
  repo = makeTestRepo();
  const filler = Array.from({ length: 40 }, (_, i) => `def helper_${i}(x):\n    return x + ${i}\n`).join(
    '\n',
  );
  commit = repo.commit({
    'shop/alpha.py': `${filler}\ndef compute_total(items):\n    return sum(items)\n`,
    'shop/beta.py': `${filler}\ndef frobnicate_widget(w):\n    raise KeyError(w)\n`,
    'shop/tests/test_beta.py':
      'from shop.beta import frobnicate_widget\n\ndef test_it():\n    frobnicate_widget(1)\n',
    'docs/guide.txt': 'How to use the shop.\n',
  });
});
afterAll(() => repo.cleanup());

it('finds the file whose text holds the query’s specific words, and shows the lines around them', async () => {
  const r = await quickSearch({
    repoPath: repo.path,
    query: 'KeyError raised by frobnicate_widget',
    topK: 3,
  });
  expect(r.index).toBe('quick');
  expect(r.commit).toBe(commit);
  expect(r.files[0]?.path).toBe('shop/beta.py');
  // The test file holds the same word but ranks below the code it tests.
  expect(r.files.map((f) => f.path)).toContain('shop/tests/test_beta.py');
  const chunk = r.chunks.find((c) => c.path === 'shop/beta.py')!;
  expect(chunk.text).toContain('def frobnicate_widget');
  expect(chunk.text).not.toContain('def helper_0(');
});

it('puts a file the query names by path first', async () => {
  const r = await quickSearch({ repoPath: repo.path, query: 'wrong sum in shop/alpha.py', topK: 3 });
  expect(r.files[0]?.path).toBe('shop/alpha.py');
});

it('`codemesh index` warms the snapshots the mesh’s Curator reads ($CODEMESH_HOME/index)', async () => {
  const home = mkdtempSync(join(tmpdir(), 'cm-home-'));
  const saved = process.env.CODEMESH_HOME;
  process.env.CODEMESH_HOME = home;
  try {
    expect(await main(['index', '--repo', repo.path, '--json'])).toBe(0);
  } finally {
    if (saved === undefined) delete process.env.CODEMESH_HOME;
    else process.env.CODEMESH_HOME = saved;
  }
  // What `startActor('curator', { dataDir: home })` constructs its Curator with.
  const curator = new Curator({ cacheDir: meshIndexDir(home), history: false });
  try {
    expect((await curator.index({ repoPath: repo.path })).source).toBe('disk');
  } finally {
    curator.close();
    rmSync(home, { recursive: true, force: true });
  }
});
