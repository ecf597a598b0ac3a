// Issue 10: the Coder's tools over a worktree with committed symlinks leading out of the repository (to a
// root-only canary file, /root, /etc/shadow, a directory elsewhere) return nothing from outside it.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyEdits } from '../../actors/coder/edits.ts';
import { runTool } from '../../actors/coder/tools.ts';
import { listTree, readBlobs } from '../../actors/curator/git.ts';
import { addWorktree, removeWorktree } from '../../actors/runtime/git.ts';
import { makeTrap, sh } from './git-tools-harden-helpers.ts';

const CANARY = `canary-${process.pid}-${Date.now()}`;
let repo: string;
let wt: string;
let outside: string;
let base: string;

beforeAll(async () => {
  const trap = makeTrap();
  outside = join(trap.root, 'secret');
  mkdirSync(outside);
  writeFileSync(join(outside, 'canary.txt'), `${CANARY}\n`);
  chmodSync(join(outside, 'canary.txt'), 0o600);
  writeFileSync(join(outside, 'notes.md'), `${CANARY} in notes\n`);
  repo = join(trap.root, 'repo');
  mkdirSync(join(repo, 'src'), { recursive: true });
  sh(repo, 'init', '-q', '-b', 'main');
  writeFileSync(join(repo, 'src', 'a.ts'), 'export const a = 1; // needle\n');
  // A tracked regular file whose directory is swapped for a link below (git reads through it).
  mkdirSync(join(repo, 'docs'));
  writeFileSync(join(repo, 'docs', 'notes.md'), 'needle in docs\n');
  symlinkSync(join(outside, 'canary.txt'), join(repo, 'evil'));
  symlinkSync('/root', join(repo, 'hostroot'));
  symlinkSync('/etc/shadow', join(repo, 'shadow'));
  symlinkSync(outside, join(repo, 'outdir'));
  // Relative, from the worktree's src/ (<root>/data/work/<wt>/src) up to <root>/secret.
  symlinkSync('../../../../secret/canary.txt', join(repo, 'src', 'rel-escape'));
  symlinkSync('a.ts', join(repo, 'src', 'inlink.ts'));
  symlinkSync('src', join(repo, 'indir'));
  symlinkSync('.git/config', join(repo, 'gitlink'));
  sh(repo, 'add', '-A');
  sh(repo, '-c', 'user.name=D', '-c', 'user.email=d@e.f', 'commit', '-q', '-m', 'links');
  base = sh(repo, 'rev-parse', 'HEAD');
  mkdirSync(join(trap.root, 'data', 'work'), { recursive: true });
  wt = join(trap.root, 'data', 'work', 't-links001-code-1-r0');
  await addWorktree(repo, wt, base);
  // docs/ (tracked, holding docs/notes.md) becomes a link to the outside directory, whose notes.md holds the
  // canary: git still sees a tracked regular file there and reads it through the link.
  rmSync(join(wt, 'docs'), { recursive: true });
  symlinkSync(outside, join(wt, 'docs'));
});

afterAll(async () => {
  await removeWorktree(repo, wt);
});

const tool = (name: string, args: object) => runTool(wt, name, JSON.stringify(args));

describe('read_file', () => {
  it.each([
    'evil',
    'hostroot/.bashrc',
    'shadow',
    'outdir/canary.txt',
    'src/rel-escape',
    'docs/notes.md',
    'gitlink',
    '.git',
  ])('refuses %s', async (p) => {
    const out = await tool('read_file', { path: p });
    expect(out).toMatch(/^error: /);
    expect(out).not.toContain(CANARY);
  });

  it('follows links that stay inside the repository', async () => {
    expect(await tool('read_file', { path: 'src/inlink.ts' })).toContain('needle');
    expect(await tool('read_file', { path: 'indir/a.ts' })).toContain('needle');
  });
});

describe('list_files', () => {
  it.each(['hostroot', 'outdir', 'docs', 'shadow'])('refuses %s', async (dir) => {
    const out = await tool('list_files', { dir });
    expect(out).toMatch(/^error: /);
  });

  it('lists the repository without walking out of it', async () => {
    const out = await tool('list_files', {});
    const files = out.split('\n');
    expect(files).toContain('src/a.ts');
    expect(files).toContain('src/inlink.ts');
    for (const f of files) expect(f).not.toMatch(/^(hostroot|outdir|docs|evil|shadow)\/|canary|\.bashrc/);
  });

  it('lists a linked directory that stays inside', async () => {
    expect(await tool('list_files', { dir: 'indir' })).toMatch(/^(src|indir)\/a\.ts$/m);
  });
});

describe('grep', () => {
  it('finds matches inside and none through links leading out', async () => {
    const out = await tool('grep', { pattern: 'needle|canary' });
    expect(out).toContain('src/a.ts:1:');
    expect(out).not.toContain(CANARY);
    expect(await tool('grep', { pattern: CANARY })).toBe('no matches');
  });
});

describe('search_code (the Curator reads git objects, never the work tree)', () => {
  it('indexes no symlink, so no link target is ever read', async () => {
    const entries = listTree(repo, base);
    const paths = entries.map((e) => e.path);
    expect(paths).toContain('src/a.ts');
    expect(
      paths.filter((p) => /evil|hostroot|shadow|outdir|rel-escape|inlink|indir|gitlink/.test(p)),
    ).toEqual([]);
    const blobs = await readBlobs(
      repo,
      entries.map((e) => e.blob),
    );
    for (const b of blobs.values()) expect(b.toString('utf8')).not.toContain(CANARY);
  });
});

describe('edit blocks', () => {
  it('never write through a link out of the repository', async () => {
    const before = readFileSync(join(outside, 'canary.txt'), 'utf8');
    for (const path of ['evil', 'outdir/canary.txt', 'outdir/new.txt', 'docs/new.txt', 'src/rel-escape']) {
      const search = path.endsWith('new.txt') ? [] : [CANARY];
      const r = await applyEdits(wt, [{ path, search, replace: ['pwned'], block: 1 }]);
      expect(r.errors.length).toBe(1);
      expect(r.applied).toEqual([]);
    }
    expect(readFileSync(join(outside, 'canary.txt'), 'utf8')).toBe(before);
    expect(existsSync(join(outside, 'new.txt'))).toBe(false);
  });
});
