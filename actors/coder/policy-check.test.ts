import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { worktreeReader } from './policy-check.ts';

describe('worktreeReader', () => {
  it('reads regular files of the tree, not symlinks nor what a symlinked directory leads to', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'codemesh-outside-'));
    writeFileSync(join(outside, 'secret.txt'), 'outside\n');
    const root = mkdtempSync(join(tmpdir(), 'codemesh-wt-'));
    mkdirSync(join(root, 'src'));
    writeFileSync(join(root, 'src', 'a.py'), 'x = 1\n');
    symlinkSync(join(outside, 'secret.txt'), join(root, 'link.txt'));
    symlinkSync(outside, join(root, 'out'));
    const read = worktreeReader(root);
    expect(await read('src/a.py')).toBe('x = 1\n');
    expect(await read('link.txt')).toBeUndefined();
    expect(await read('out/secret.txt')).toBeUndefined();
    expect(await read('../x')).toBeUndefined();
    expect(await read('missing.py')).toBeUndefined();
  });
});
