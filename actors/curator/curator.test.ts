import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cmdSearch } from './cli.ts';
import { Curator } from './curator.ts';
import { NotAGitRepoError, StaleIndexError, UnknownCommitError } from './errors.ts';
import { packContext } from './pack-context.ts';
import { makeTestRepo, type TestRepo } from './test-repo.ts';

const FILES = {
  'shop/cart.py': [
    '"""Shopping cart."""',
    'from .pricing import apply_discount',
    '',
    'class Cart:',
    '    def add_item(self, item, quantity=1):',
    '        self.items.append((item, quantity))',
    '',
    '    def total(self):',
    '        return apply_discount(sum(p * q for p, q in self.items))',
    '',
  ].join('\n'),
  'shop/pricing.py': [
    'def apply_discount(amount, coupon_code=None):',
    '    """Apply a coupon discount to an amount."""',
    '    if coupon_code == "HALF":',
    '        return amount / 2',
    '    return amount',
    '',
  ].join('\n'),
  'shop/shipping.py': 'def shipping_cost(weight_kg):\n    return 5 + 2 * weight_kg\n',
  'tests/test_cart.py': 'from shop.cart import Cart\n\ndef test_total():\n    assert Cart().total() == 0\n',
  'README.md': '# Shop\nA tiny shop with carts, coupons and shipping.\n',
  'logo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 1]),
  'broken.py': 'def fine():\n    return 1\n\ndef broken(:\n    pass\n',
  'web/app.ts':
    "import { price } from './price.ts';\nexport function checkout(total: number) {\n  return price(total);\n}\n",
  'web/price.ts': 'export const price = (n: number) => Math.round(n * 100) / 100;\n',
};

describe('Curator', () => {
  let repo: TestRepo;
  let cacheDir: string;
  let c1: string;
  let c2: string;

  beforeAll(() => {
    repo = makeTestRepo();
    cacheDir = mkdtempSync(join(tmpdir(), 'curator-cache-'));
    c1 = repo.commit(FILES, 'initial');
    c2 = repo.commit(
      {
        'shop/shipping.py': 'def shipping_cost(weight_kg, express=False):\n    return 10 if express else 5\n',
        'README.md': null,
      },
      'express shipping',
    );
  });
  afterAll(() => {
    repo.cleanup();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('indexes a commit: counts files, chunks, symbols and skipped files', async () => {
    const curator = new Curator({ cacheDir });
    const s = await curator.index({ repoPath: repo.path, commit: c1 });
    expect(s.commit).toBe(c1);
    expect(s.source).toBe('full');
    expect(s.files).toBe(8);
    expect(s.skipped).toEqual({ binary: 1, tooLarge: 0, parseErrors: 1 });
    expect(s.symbols).toBeGreaterThan(5);
    expect(s.chunks).toBeGreaterThan(8);
    curator.close();
  });

  it('ranks the file that defines what the query talks about first, with chunk spans and text', async () => {
    const curator = new Curator({ cacheDir });
    const r = await curator.search({
      repoPath: repo.path,
      commit: c1,
      query: 'coupon discount is not applied',
      topK: 3,
    });
    expect(r.files[0]?.path).toBe('shop/pricing.py');
    expect(r.chunks[0]).toMatchObject({
      path: 'shop/pricing.py',
      symbol: 'apply_discount',
      startLine: 1,
      endLine: 5,
    });
    expect(r.chunks[0]?.text).toContain('def apply_discount');
    const q2 = await curator.search({
      repoPath: repo.path,
      commit: c1,
      query: 'Cart.add_item ignores quantity',
      topK: 3,
    });
    expect(q2.files[0]?.path).toBe('shop/cart.py');
    expect(q2.files.map((f) => f.path)).not.toContain('logo.png');
    curator.close();
  });

  it('moves the index to the next commit reading only the files the diff names', async () => {
    const curator = new Curator({ cacheDir, persist: false });
    await curator.index({ repoPath: repo.path, commit: c1 });
    const s = await curator.index({ repoPath: repo.path, commit: c2 });
    expect(s.source).toBe('incremental');
    expect(s.filesRead).toBe(1);
    expect(s.files).toBe(7);
    const r = await curator.search({
      repoPath: repo.path,
      commit: c2,
      query: 'express shipping cost',
      topK: 2,
    });
    expect(r.files[0]?.path).toBe('shop/shipping.py');
    expect(r.chunks[0]?.text).toContain('express');
    expect(curator.isStale(repo.path, c2)).toBe(false);
    expect(curator.isStale(repo.path, c1)).toBe(true);
    expect(() => curator.indexAt(repo.path, c1)).toThrow(StaleIndexError);
    curator.close();
  });

  it('loads a persisted snapshot instead of rebuilding', async () => {
    const first = new Curator({ cacheDir });
    await first.index({ repoPath: repo.path, commit: c1 });
    const again = new Curator({ cacheDir });
    const s = await again.index({ repoPath: repo.path, commit: c1 });
    expect(s.source).toBe('disk');
    expect(s.filesRead).toBe(0);
    const warm = await again.index({ repoPath: repo.path, commit: c1 });
    expect(warm.source).toBe('warm');
  });

  it('fails clearly for an unknown commit and for a path that is not a repository', async () => {
    const curator = new Curator({ cacheDir });
    await expect(curator.index({ repoPath: repo.path, commit: 'deadbeef' })).rejects.toBeInstanceOf(
      UnknownCommitError,
    );
    const plain = mkdtempSync(join(tmpdir(), 'not-a-repo-'));
    await expect(curator.index({ repoPath: plain })).rejects.toBeInstanceOf(NotAGitRepoError);
    await expect(curator.index({ repoPath: join(plain, 'missing') })).rejects.toMatchObject({
      code: 'curator.not_a_git_repo',
    });
    rmSync(plain, { recursive: true });
  });

  it('packs chunks into a token budget with sources and no duplicates', async () => {
    const curator = new Curator({ cacheDir });
    const r = await curator.search({
      repoPath: repo.path,
      commit: c1,
      query: 'cart total discount',
      topK: 10,
    });
    const packed = packContext([...r.chunks, ...r.chunks], { tokenBudget: 120 });
    expect(packed.tokens).toBeLessThanOrEqual(120);
    expect(packed.snippets.length).toBeGreaterThan(0);
    const keys = packed.snippets.map((s) => `${s.path}:${s.startLine}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(packed.text).toMatch(/^# shop\/\w+\.py:\d+-\d+/);
    curator.close();
  });

  it('prints JSON search results from the CLI command', async () => {
    const lines: string[] = [];
    const code = await cmdSearch(
      { repo: repo.path, query: 'checkout price', topK: 2, json: true, cacheDir },
      { out: (l) => lines.push(l), err: (l) => console.error(l) },
    );
    expect(code).toBe(0);
    const out = JSON.parse(lines[0]!);
    expect(out.files[0].path).toMatch(/^web\//);
    expect(out.chunks[0]).toHaveProperty('startLine');
    const errs: string[] = [];
    const bad = await cmdSearch(
      { repo: '/nonexistent', query: 'x', cacheDir },
      { out: () => {}, err: (l) => errs.push(l) },
    );
    expect(bad).toBe(2);
    expect(errs[0]).toContain('curator.not_a_git_repo');
  });
});
