// Issue 10, second round: a malicious repository attacks codemesh's own host-side code through what it
// contains — its .git/config (transports, partial-clone fetches, includes), committed symlinks and special files
// read by the Doc Writer, the Tester and the policy check, deeply nested sources given to the Curator, coverage
// reports its own tests write, and its .codemesh.yml. Each `it` is one attack; codemesh must refuse it cleanly,
// run nothing of the repository's, read nothing outside it, and neither hang nor blow up.
// (Sandboxed tests: sandbox.int.test.ts; the first round of git and agent-tool attacks: git.int.test.ts, tools.test.ts.)
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  constants,
  mkdirSync,
  openSync,
  mkdtempSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BlobReader } from '../../actors/curator/blob-reader.ts';
import { readBlobs } from '../../actors/curator/git.ts';
import { grepScores } from '../../actors/curator/quick.ts';
import { pushBranch } from '../../actors/integrator/git-integrate.ts';
import { replayCasesFromDataset } from '../../actors/llm/replay.ts';
import { git } from '../../actors/runtime/git.ts';
import { exportTree, gitShow, gradedTreeId } from '../../cli/eval-swe/grade.ts';
import { makeTrap, sh, type Trap } from './git-tools-harden-helpers.ts';

const commit = (repo: string, msg: string) =>
  sh(repo, '-c', 'user.name=D', '-c', 'user.email=d@e.f', 'commit', '-q', '-m', msg);

/** A repository with one commit of `files`; returns its path and the commit. */
function repoWith(trap: Trap, name: string, files: Record<string, string>): { repo: string; head: string } {
  const repo = join(trap.root, name);
  mkdirSync(repo);
  sh(repo, 'init', '-q', '-b', 'main');
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(repo, p, '..'), { recursive: true });
    writeFileSync(join(repo, p), text);
  }
  sh(repo, 'add', '-A');
  commit(repo, 'init');
  return { repo, head: sh(repo, 'rev-parse', 'HEAD') };
}

/**
 * A partial clone (blobs left on the "promisor" remote) whose remote's upload-pack is the attacker's program:
 * reading any blob makes git fetch it lazily, running that program.
 */
function promisorClone(trap: Trap): { repo: string; head: string; blob: string } {
  const { repo: src } = repoWith(trap, 'src', { 'lib.py': 'def needle_word():\n    return 1\n' });
  sh(src, 'config', 'uploadpack.allowFilter', 'true');
  const repo = join(trap.root, 'partial');
  sh(trap.root, 'clone', '-q', '--no-checkout', '--filter=blob:none', `file://${src}`, repo);
  sh(repo, 'config', 'remote.origin.uploadpack', trap.script('uploadpack'));
  const head = sh(repo, 'rev-parse', 'HEAD');
  const blob = sh(repo, 'rev-parse', `${head}:lib.py`);
  return { repo, head, blob };
}

describe('git: repository config that makes git fetch or run a program', () => {
  it('a partial clone whose promisor remote runs a program: the Curator reading blobs fetches nothing', async () => {
    const trap = makeTrap();
    const { repo, blob } = promisorClone(trap);
    await readBlobs(repo, [blob]).catch(() => undefined);
    const reader = new BlobReader(repo);
    await reader.read(blob).catch(() => undefined);
    reader.close();
    await git(repo, ['cat-file', '-p', blob], { allowFail: true });
    expect(trap.fired()).toEqual([]);
  });

  it("a partial clone's lazy fetch through the host's other git readers (quick search, replay provider, eval swe) runs nothing", async () => {
    const trap = makeTrap();
    const { repo, head } = promisorClone(trap);
    await grepScores(repo, head, ['needle_word'], 1, 10_000);
    const fired = { grep: trap.fired() };
    // The replay provider reads `<repos>/<owner>__<name>`; eval swe's grading reads files at a commit.
    const dataset = join(trap.root, 'set.jsonl');
    writeFileSync(
      dataset,
      `${JSON.stringify({ instance_id: 'o__partial-1', repo: 'o/partial', base_commit: head, problem_statement: 'p', patch: '' })}\n`,
    );
    const repos = join(trap.root, 'repos');
    mkdirSync(repos);
    symlinkSync(repo, join(repos, 'o__partial'));
    await replayCasesFromDataset(dataset, repos)[0]!.read('lib.py');
    await gitShow(repo, head, 'lib.py');
    expect({ ...fired, all: trap.fired() }).toEqual({ grep: [], all: [] });
  });

  it('protocol.ext.allow=always with an ext:: remote: a push runs no command', async () => {
    const trap = makeTrap();
    const { repo } = repoWith(trap, 'repo', { 'a.txt': 'a\n' });
    sh(repo, 'branch', 'codemesh/t-ext');
    sh(repo, 'config', 'protocol.ext.allow', 'always');
    sh(repo, 'remote', 'add', 'origin', `ext::${trap.script('ext-transport')} %S`);
    const r = await pushBranch(repo, 'codemesh/t-ext');
    expect(r.pushed).toBe(false);
    expect(trap.fired()).toEqual([]);
  });

  it('url.<ext::>.insteadOf rewriting an https remote, with protocol.allow=always: a push runs no command', async () => {
    const trap = makeTrap();
    const { repo } = repoWith(trap, 'repo', { 'a.txt': 'a\n' });
    sh(repo, 'branch', 'codemesh/t-insteadof');
    sh(repo, 'config', 'protocol.allow', 'always');
    sh(repo, 'config', `url.ext::${trap.script('insteadof-ext')} %S .insteadOf`, 'https://example.invalid/');
    sh(repo, 'remote', 'add', 'origin', 'https://example.invalid/o/r.git');
    const r = await pushBranch(repo, 'codemesh/t-insteadof');
    expect(r.pushed).toBe(false);
    expect(trap.fired()).toEqual([]);
  });

  it('core.gitProxy with protocol.git.allow=always and a git:// remote: a push runs no proxy', async () => {
    const trap = makeTrap();
    const { repo } = repoWith(trap, 'repo', { 'a.txt': 'a\n' });
    sh(repo, 'branch', 'codemesh/t-proxy');
    sh(repo, 'config', 'protocol.git.allow', 'always');
    sh(repo, 'config', 'core.gitProxy', trap.script('git-proxy'));
    sh(repo, 'remote', 'add', 'origin', 'git://127.0.0.1:1/x.git');
    const r = await pushBranch(repo, 'codemesh/t-proxy');
    expect(r.pushed).toBe(false);
    expect(trap.fired()).toEqual([]);
  });

  it('a textconv driver and a filter in the config of a replay / eval repository: reading files at the base commit runs neither', async () => {
    const trap = makeTrap();
    const { repo, head } = repoWith(trap, 'o__r', {
      '.gitattributes': '* diff=evil filter=evil\n',
      'm.py': 'x = 1\n',
    });
    sh(repo, 'config', 'diff.evil.textconv', trap.script('textconv'));
    sh(repo, 'config', 'filter.evil.smudge', trap.script('smudge'));
    sh(repo, 'config', 'filter.evil.clean', trap.script('clean'));
    // The replay provider's file reader (`<repos>/<owner>__<name>`).
    const dataset = join(trap.root, 'set.jsonl');
    writeFileSync(
      dataset,
      `${JSON.stringify({ instance_id: 'o__r-1', repo: 'o/r', base_commit: head, problem_statement: 'p', patch: '' })}\n`,
    );
    const [replay] = replayCasesFromDataset(dataset, trap.root);
    expect(await replay!.read('m.py')).toBe('x = 1\n');
    // eval swe's grading: a file at a commit, and the tree exported for the sandbox.
    expect((await gitShow(repo, head, 'm.py'))?.toString()).toBe('x = 1\n');
    const dest = join(trap.root, 'export');
    mkdirSync(dest);
    await exportTree(repo, head, dest);
    expect(trap.fired()).toEqual([]);
  });

  it("hooks of an eval repository: grading's private index (read-tree, update-index, apply --cached) runs none", async () => {
    const trap = makeTrap();
    const { repo, head } = repoWith(trap, 'repo', {
      'm.py': 'x = 1\n',
      'tests/test_m.py': 'def test(): pass\n',
    });
    const hooks = join(trap.root, 'hooks');
    mkdirSync(hooks);
    for (const h of ['post-index-change', 'reference-transaction']) {
      writeFileSync(join(hooks, h), `#!/bin/sh\ntouch '${join(trap.markers, h)}'\n`);
      chmodSync(join(hooks, h), 0o755);
    }
    sh(repo, 'config', 'core.hooksPath', hooks);
    sh(repo, 'config', 'core.fsmonitor', trap.script('fsmonitor'));
    const testPatch = [
      'diff --git a/tests/test_m.py b/tests/test_m.py',
      '--- a/tests/test_m.py',
      '+++ b/tests/test_m.py',
      '@@ -1 +1,2 @@',
      ' def test(): pass',
      '+def test2(): pass',
      '',
    ].join('\n');
    const inst = { instance_id: 'x', repo: 'o/r', base_commit: head, test_patch: testPatch } as never;
    const scratch = mkdtempSync(join(tmpdir(), 'codemesh-grade-'));
    const id = await gradedTreeId({ inst, gitDir: repo, commit: head } as never, scratch);
    expect(id).toMatch(/^[0-9a-f]{40}$/);
    expect(trap.fired()).toEqual([]);
  });

  it('an include.path naming a FIFO nobody writes: codemesh git fails within its time limit instead of hanging', async () => {
    const trap = makeTrap();
    const { repo } = repoWith(trap, 'repo', { 'a.txt': 'a\n' });
    const fifo = join(trap.root, 'cfg.fifo');
    execFileSync('mkfifo', [fifo]);
    sh(repo, 'config', 'include.path', fifo);
    const t0 = Date.now();
    const r = await Promise.race([
      git(repo, ['rev-parse', 'HEAD'], { allowFail: true }),
      new Promise<'hung'>((res) => setTimeout(() => res('hung'), 25_000).unref()),
    ]);
    expect(r).not.toBe('hung');
    expect(r === 'hung' ? 0 : r.exitCode).not.toBe(0);
    expect(Date.now() - t0).toBeLessThan(25_000);
    // Release a git process still waiting on the FIFO (the old code's): a read-write open never blocks, and
    // closing it gives the reader its end of file.
    closeSync(openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK));
  }, 40_000);
});
