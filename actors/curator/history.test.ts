import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Curator } from './curator.ts';
import { CommitHistory, citedNumbers, citedShas, type HistoryLog, type HistoryLogCache } from './history.ts';
import { queryTerms } from './signals.ts';
import { makeTestRepo, type TestRepo } from './test-repo.ts';

const git = (repo: TestRepo, ...args: string[]) =>
  execFileSync('git', ['-C', repo.path, ...args], { encoding: 'utf8' }).trim();

describe('CommitHistory', () => {
  let repo: TestRepo;
  let c1: string;
  let c2: string;
  let c3: string;
  let side: string;
  let cacheDir: string;

  beforeAll(() => {
    repo = makeTestRepo();
    cacheDir = mkdtempSync(join(tmpdir(), 'curator-history-cache-'));
    c1 = repo.commit(
      {
        'lib/cache.py': 'def get(key):\n    return None\n',
        'lib/http.py': 'def fetch(url):\n    return url\n',
        'lib/util.py': 'def helper():\n    return 1\n',
      },
      'initial import',
    );
    c2 = repo.commit(
      { 'lib/cache.py': 'def get(key):\n    return STORE.get(key)\n' },
      'Fixed eviction of expired entries in the memcached backend',
    );
    c3 = repo.commit({ 'lib/util.py': 'def helper():\n    return 2\n' }, 'Tidied helpers');
    // A commit that is not an ancestor of c3 (a later fix on a side branch) must never count.
    git(repo, 'checkout', '-q', '-b', 'side', c3);
    side = repo.commit(
      { 'lib/http.py': 'def fetch(url):\n    return url.strip()\n' },
      'Fixed memcached eviction',
    );
    git(repo, 'checkout', '-q', 'main');
  });
  afterAll(() => {
    repo.cleanup();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('votes for the files of past commits whose messages match, ancestors only', async () => {
    const h = await CommitHistory.read(repo.path, c3);
    expect(h.size).toBe(3);
    const votes = h.similar(queryTerms('memcached entries are not evicted when expired'));
    expect([...votes.keys()]).toEqual(['lib/cache.py']);
    expect(votes.has('lib/http.py')).toBe(false);
  });

  it('scores files by the messages of the commits that changed them (history profile)', async () => {
    const h = await CommitHistory.read(repo.path, c3);
    const scores = h.profileScores(queryTerms('memcached backend eviction'));
    expect([...scores.keys()]).toEqual(['lib/cache.py']);
    const moved = await (await CommitHistory.read(repo.path, c3)).moveTo(repo.path, side);
    expect([...moved.profileScores(queryTerms('memcached eviction')).keys()].sort()).toEqual([
      'lib/cache.py',
      'lib/http.py',
    ]);
  });

  it('counts changes per path (churn), all history and recent', async () => {
    const { all } = (await CommitHistory.read(repo.path, c3)).churn();
    expect(all.get('lib/cache.py')).toBeCloseTo(Math.log1p(2));
    expect(all.get('lib/http.py')).toBeCloseTo(Math.log1p(1));
  });

  it('finds the files of commits the text cites, by id or by ticket number', async () => {
    const r = makeTestRepo();
    try {
      r.commit({ 'a.py': '1', 'b.py': '1', 'c.py': '1' }, 'start');
      const byId = r.commit({ 'a.py': '2' }, 'Changed the session format');
      r.commit({ 'b.py': '2' }, 'Fixed #31274 -- Kept old sessions readable');
      const head = r.commit({ 'c.py': '2' }, 'Unrelated (#999)');
      const h = await CommitHistory.read(r.path, head);
      expect([...h.cited(`In ${byId} we changed the format`).keys()]).toEqual(['a.py']);
      expect([...h.cited('As in ticket #31274, old sessions break').keys()]).toEqual(['b.py']);
      expect(h.cited('version 3.1 and deadbeef and 1234567 break').size).toBe(0);
    } finally {
      r.cleanup();
    }
  });

  it('reads cited numbers and ids from issue text', async () => {
    expect(
      citedNumbers('ticket:27200#comment:14, #29406, https://github.com/o/r/issues/12 and GH-77'),
    ).toEqual(['27200', '29406', '12', '77']);
    expect(citedShas('d4fff711d4c9 deadbeef 1234567 abc1234')).toEqual(['d4fff711d4c9', 'abc1234']);
  });

  it('finds files changed together with the seeds, in proportion to the seed commits', async () => {
    const r = makeTestRepo();
    try {
      r.commit({ 'a.py': '1', 'b.py': '1', 'c.py': '1' }, 'start');
      r.commit({ 'a.py': '2', 'b.py': '2' }, 'a and b');
      r.commit({ 'a.py': '3', 'b.py': '3' }, 'a and b again');
      const head = r.commit({ 'a.py': '4', 'c.py': '2' }, 'a and c');
      const co = (await CommitHistory.read(r.path, head)).coChanged(new Map([['a.py', 1]]));
      // The first commit (3 files) counts too: a.py changed in 4 commits, with b.py in 3, with c.py in 2.
      expect(co.get('b.py')).toBeCloseTo(3 / 4);
      expect(co.get('c.py')).toBeCloseTo(2 / 4);
      expect(co.has('a.py')).toBe(false);
    } finally {
      r.cleanup();
    }
  });

  it('keeps what git could read when history objects are missing, with a warning', async () => {
    const r = makeTestRepo();
    try {
      const first = r.commit({ 'a.py': '1' }, 'start');
      r.commit({ 'a.py': '2' }, 'second');
      const head = r.commit({ 'a.py': '3' }, 'third');
      const tree = execFileSync('git', ['-C', r.path, 'rev-parse', `${first}^{tree}`], {
        encoding: 'utf8',
      }).trim();
      rmSync(join(r.path, '.git', 'objects', tree.slice(0, 2), tree.slice(2)));
      const h = await CommitHistory.read(r.path, head);
      expect(h.warning).toMatch(/git log stopped early/);
      expect(h.size).toBeGreaterThanOrEqual(1);
      const warnings: string[] = [];
      const curator = new Curator({ cacheDir, history: true, onWarning: (m) => warnings.push(m) });
      // The index reads the head's tree (intact); only the history is cut short.
      const res = await curator.search({ repoPath: r.path, commit: head, query: 'third' });
      expect(res.commit).toBe(head);
      expect(warnings.join('\n')).toMatch(/history of .*stopped early/);
      curator.close();
    } finally {
      r.cleanup();
    }
  });

  it('moves forward by reading only the new commits, and re-reads when the target is not a descendant', async () => {
    const h = await CommitHistory.read(repo.path, c1);
    expect(h.size).toBe(1);
    const moved = await h.moveTo(repo.path, side);
    expect(moved).toBe(h);
    expect(moved.size).toBe(4);
    expect([...moved.similar(queryTerms('memcached eviction')).keys()].sort()).toEqual([
      'lib/cache.py',
      'lib/http.py',
    ]);
    const back = await moved.moveTo(repo.path, c2);
    expect(back).not.toBe(h);
    expect(back.size).toBe(2);
  });

  it('reuses a saved log: the same commit without git log, a descendant by reading only the commits since', async () => {
    let saved: { commit: string; commits: HistoryLog['commits'] } | undefined;
    const saves: string[] = [];
    const cache: HistoryLogCache = {
      loadHistoryLog: () => saved,
      saveHistoryLog: (commit, commits) => {
        saves.push(commit);
        saved = { commit, commits };
      },
    };
    const fresh = await CommitHistory.read(repo.path, c2, cache);
    expect(fresh.size).toBe(2);
    expect(saves).toEqual([c2]);
    // Same commit: nothing new is saved, and the saved log is what the history is built from.
    saved = {
      commit: c2,
      commits: saved!.commits.map((c) => (c.sha === c1 ? { ...c, message: 'Rewritten cached message' } : c)),
    };
    const again = await CommitHistory.read(repo.path, c2, cache);
    expect(saves).toEqual([c2]);
    expect([...again.similar(queryTerms('rewritten cached')).keys()].sort()).toEqual([
      'lib/cache.py',
      'lib/http.py',
      'lib/util.py',
    ]);
    // A descendant: the saved commits plus those since, saved again for the new commit.
    const later = await CommitHistory.read(repo.path, side, cache);
    expect(saves).toEqual([c2, side]);
    expect(later.size).toBe(4);
    expect(later.similar(queryTerms('rewritten cached')).has('lib/cache.py')).toBe(true);
    expect([...later.similar(queryTerms('tidied helpers')).keys()]).toEqual(['lib/util.py']);
    expect(saved!.commits.map((c) => c.sha)).toEqual([side, c3, c2, c1]);
    // Not a descendant: read from git, as without a cache.
    const back = await CommitHistory.read(repo.path, c1, cache);
    expect(back.size).toBe(1);
    expect(saves).toEqual([c2, side, c1]);
  });

  it('lifts the file a similar past fix changed in the Curator ranking, and can be turned off', async () => {
    const query = 'memcached expired entries eviction';
    const withHistory = new Curator({
      cacheDir,
      history: true,
      weights: { ...new Curator().weights, history: 5 },
    });
    const without = new Curator({ cacheDir, history: false, weights: withHistory.weights });
    const a = await withHistory.search({ repoPath: repo.path, commit: c3, query, topK: 3 });
    const b = await without.search({ repoPath: repo.path, commit: c3, query, topK: 3 });
    expect(a.files[0]?.path).toBe('lib/cache.py');
    expect(b.files.some((f) => f.path === 'lib/cache.py')).toBe(false);
    withHistory.close();
    without.close();
  });
});
