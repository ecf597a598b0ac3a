// The outputs stream (ustar from inside the sandbox) is untrusted: only declared regular files come out, and
// writing them on the host never follows a symlink.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCleanRelative, parseOutputs, writeOutput } from './outputs.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'codemesh-outputs-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A ustar stream made by GNU tar, as the sandbox's wrapper makes it. */
async function tarOf(files: Record<string, string>, links: Record<string, string> = {}): Promise<Buffer> {
  const src = await mkdtemp(join(dir, 'src-'));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(src, name, '..'), { recursive: true });
    await writeFile(join(src, name), text);
  }
  for (const [name, target] of Object.entries(links)) await symlink(target, join(src, name));
  const names = [...Object.keys(files), ...Object.keys(links)].map((n) => `./${n}`);
  return execFileSync('tar', ['-c', '-f', '-', '--format=ustar', '--no-recursion', '-C', src, ...names]);
}

describe('isCleanRelative', () => {
  it('accepts plain relative paths only', () => {
    expect(isCleanRelative('.codemesh-report')).toBe(true);
    expect(isCleanRelative('a/b.xml')).toBe(true);
    for (const bad of ['', '/etc/passwd', '../x', 'a/../b', './a', 'a/', '.', 'a//b', 'a\0b']) {
      expect(isCleanRelative(bad), bad).toBe(false);
    }
  });
});

describe('parseOutputs', () => {
  it('keeps declared files and files directly inside declared directories', async () => {
    const stream = await tarOf({
      'report/a.xml': 'A',
      'report/deep/b.xml': 'B',
      'other.txt': 'O',
      'single.json': 'S',
    });
    const files = parseOutputs(stream, ['report', 'single.json']);
    expect(files.map((f) => [f.path, f.data.toString()])).toEqual([
      ['report/a.xml', 'A'],
      ['single.json', 'S'],
    ]);
  });

  it('drops symlinks, and survives a truncated or garbage stream', async () => {
    const stream = await tarOf({ 'report/ok.xml': 'fine' }, { 'report/link.xml': '/etc/shadow' });
    expect(parseOutputs(stream, ['report']).map((f) => f.path)).toEqual(['report/ok.xml']);
    expect(parseOutputs(stream.subarray(0, 700), ['report']).length).toBeLessThanOrEqual(1);
    expect(parseOutputs(Buffer.from('not a tar stream at all'.repeat(40)), ['report'])).toEqual([]);
    expect(parseOutputs(Buffer.alloc(0), ['report'])).toEqual([]);
  });

  it('refuses entry names that climb out of the tree', () => {
    const header = Buffer.alloc(1024);
    header.write('../report/x.xml', 0);
    header.write('00000000001\0', 124);
    header.write('0', 156);
    header.write('ustar\0', 257);
    expect(parseOutputs(header, ['report', '../report'])).toEqual([]);
  });
});

describe('writeOutput', () => {
  it('writes, creating missing directories', async () => {
    const root = await mkdtemp(join(dir, 'root-'));
    await writeOutput(root, { path: 'a/b/c.xml', data: Buffer.from('x') });
    expect(await readFile(join(root, 'a/b/c.xml'), 'utf8')).toBe('x');
  });

  it('refuses a symlink on the way or at the end, and leaves its target alone', async () => {
    const root = await mkdtemp(join(dir, 'root-'));
    const outside = await mkdtemp(join(dir, 'outside-'));
    await writeFile(join(outside, 'victim'), 'original');
    await symlink(outside, join(root, 'report'));
    await expect(writeOutput(root, { path: 'report/victim', data: Buffer.from('pwned') })).rejects.toThrow(
      /not a plain directory/,
    );
    await mkdir(join(root, 'real'));
    await symlink(join(outside, 'victim'), join(root, 'real', 'r.xml'));
    await expect(writeOutput(root, { path: 'real/r.xml', data: Buffer.from('pwned') })).rejects.toThrow(
      /cannot open/,
    );
    expect(await readFile(join(outside, 'victim'), 'utf8')).toBe('original');
  });
});
