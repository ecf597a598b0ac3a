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
import { parse as parseYaml } from 'yaml';
import { worktreeReader } from '../../actors/coder/policy-check.ts';
import { extractFile } from '../../actors/curator/extract-file.ts';
import { docContext } from '../../actors/docwriter/context.ts';
import { goLineCoverage, parseGoCoverProfile } from '../../actors/tester/cover-go.ts';
import { v8LineCoverage } from '../../actors/tester/cover-v8.ts';
import { readCoverage } from '../../actors/tester/coverage.ts';
import { detectRunner } from '../../actors/tester/detect.ts';
import { loadRepoConfig } from '../../actors/tester/repo-config.ts';
import { createGitHub, gitHubSettingsFromEnv } from '../../actors/integrator/github/index.ts';
import { startTestGateway } from '../../gateway/test-setup.ts';
import { parseRepoConfig, RepoConfigError } from '../../schemas/repo-config.ts';
import { startGitHubDouble } from '../github-double.ts';
import { BlobReader } from '../../actors/curator/blob-reader.ts';
import { readBlobs } from '../../actors/curator/git.ts';
import { grepScores } from '../../actors/curator/quick.ts';
import { pushBranch } from '../../actors/integrator/git-integrate.ts';
import { replayCasesFromDataset } from '../../actors/llm/replay.ts';
import { git } from '../../actors/runtime/git.ts';
import { exportTree, gitShow, gradedTreeId } from '../../cli/eval-swe/grade.ts';
import { freshClone } from '../../cli/eval-swe/mesh-run.ts';
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

  it("eval swe's private clone of a partial clone whose promisor remote runs a program: nothing runs", async () => {
    const trap = makeTrap();
    const { repo, head } = promisorClone(trap);
    await freshClone(repo, join(trap.root, 'runs', 'c1'), head).catch(() => undefined);
    expect(trap.fired()).toEqual([]);
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

const CANARY = `canary-${process.pid}-${Date.now()}`;

/** A secret file outside the repository (root-only), a FIFO nobody writes, and a helper to release it. */
function outsiders(trap: Trap, secretText: string): { secret: string; fifo: string; release: () => void } {
  const secret = join(trap.root, 'secret.txt');
  writeFileSync(secret, secretText);
  chmodSync(secret, 0o600);
  const fifo = join(trap.root, 'never.fifo');
  execFileSync('mkfifo', [fifo]);
  // A reader still blocked on the FIFO (the old code's) gets its end of file: the run can exit.
  const release = () => {
    for (let i = 0; i < 4; i++) closeSync(openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK));
  };
  return { secret, fifo, release };
}

/** A sparse file of `bytes` (costs no disk): a 'huge file' committed or written by the tests. */
function sparse(path: string, bytes: number): void {
  mkdirSync(join(path, '..'), { recursive: true });
  execFileSync('truncate', ['-s', String(bytes), path]);
}

/** `p`, or 'hung' after `ms`. */
const within = <T>(p: Promise<T>, ms: number): Promise<T | 'hung'> =>
  Promise.race([p, new Promise<'hung'>((res) => setTimeout(() => res('hung'), ms).unref())]);

describe('files of the work tree read on the host: symlinks out, FIFOs, huge files', () => {
  it("the Tester's runner detection: package.json linked to a secret, pyproject.toml to a FIFO, a huge setup.cfg", async () => {
    const trap = makeTrap();
    const { secret, fifo, release } = outsiders(
      trap,
      JSON.stringify({ scripts: { test: `echo ${CANARY}` }, devDependencies: { vitest: '1' } }),
    );
    const js = join(trap.root, 'js');
    mkdirSync(js);
    symlinkSync(secret, join(js, 'package.json'));
    writeFileSync(join(js, 'a.test.js'), 'test("a", () => {});\n');
    const py = join(trap.root, 'py');
    mkdirSync(join(py, 'tests'), { recursive: true });
    symlinkSync(fifo, join(py, 'pyproject.toml'));
    symlinkSync(fifo, join(py, 'pytest.ini'));
    sparse(join(py, 'setup.cfg'), 1 << 30);
    writeFileSync(join(py, 'tests', 'test_a.py'), 'def test_a():\n    pass\n');
    try {
      const jsRunner = await within(detectRunner(js, { files: ['package.json', 'a.test.js'] }), 15_000);
      const pyRunner = await within(
        detectRunner(py, { files: ['pyproject.toml', 'pytest.ini', 'setup.cfg', 'tests/test_a.py'] }),
        15_000,
      );
      expect(JSON.stringify(jsRunner)).not.toContain(CANARY);
      expect(pyRunner).not.toBe('hung');
    } finally {
      release();
    }
  }, 40_000);

  it("the Doc Writer's context: a README linked to a secret naming the symbol, a CHANGELOG linked to a FIFO, a 1 GB doc", async () => {
    const trap = makeTrap();
    const { secret, fifo, release } = outsiders(trap, `# Secret\n\nfrobnicate(): ${CANARY}\n`);
    const wt = join(trap.root, 'wt');
    mkdirSync(join(wt, 'docs'), { recursive: true });
    writeFileSync(join(wt, 'lib.py'), 'def frobnicate(x):\n    return x\n');
    symlinkSync(secret, join(wt, 'README.md'));
    symlinkSync(fifo, join(wt, 'CHANGELOG.md'));
    sparse(join(wt, 'docs', 'huge.md'), 1 << 30);
    writeFileSync(join(wt, 'docs', 'api.md'), '# API\n\nfrobnicate(x) returns x.\n');
    const symbol = {
      name: 'frobnicate',
      file: 'lib.py',
      before: 'def frobnicate():',
      after: 'def frobnicate(x):',
    };
    try {
      const t0 = Date.now();
      const ctx = await within(
        docContext(wt, ['README.md', 'CHANGELOG.md', 'docs/huge.md', 'docs/api.md', 'lib.py'], [symbol]),
        15_000,
      );
      expect(ctx).not.toBe('hung');
      expect(JSON.stringify(ctx)).not.toContain(CANARY);
      expect(JSON.stringify(ctx)).toContain('frobnicate(x) returns x');
      expect(Date.now() - t0).toBeLessThan(15_000);
    } finally {
      release();
    }
  }, 40_000);

  it("the policy check's worktree reader: a 200 MB file the patch or the repository holds is not read whole", async () => {
    const trap = makeTrap();
    const wt = join(trap.root, 'wt');
    sparse(join(wt, 'package-lock.json'), 200 * 1024 * 1024);
    writeFileSync(join(wt, 'package.json'), '{"name":"x"}\n');
    const read = worktreeReader(wt);
    expect(await read('package.json')).toBe('{"name":"x"}\n');
    expect(await read('package-lock.json')).toBeUndefined();
  }, 40_000);

  it("the policy check's worktree reader: a FIFO and a link to a secret read as absent", async () => {
    const trap = makeTrap();
    const { secret, fifo, release } = outsiders(trap, `${CANARY}\n`);
    const wt = join(trap.root, 'wt');
    mkdirSync(wt);
    execFileSync('mkfifo', [join(wt, 'requirements.txt')]);
    symlinkSync(secret, join(wt, 'go.mod'));
    symlinkSync(fifo, join(wt, 'pyproject.toml'));
    const read = worktreeReader(wt);
    try {
      for (const f of ['requirements.txt', 'go.mod', 'pyproject.toml'])
        expect(await within(read(f), 5_000)).toBeUndefined();
    } finally {
      release();
    }
  });
});

describe('the Curator: deeply nested sources', () => {
  it('100,000 nested classes in a .java file: indexed by line windows, no stack overflow', () => {
    const n = 100_000;
    const rec = extractFile('Deep.java', 'b1', Buffer.from(`${'class A{'.repeat(n)}${'}'.repeat(n)}\n`));
    expect(rec.chunks.length).toBeGreaterThan(0);
  });

  it('100,000 nested brackets in .js and .py files: parsed or windowed, within seconds', () => {
    const n = 100_000;
    const t0 = Date.now();
    const js = extractFile(
      'deep.js',
      'b2',
      Buffer.from(`x = ${'['.repeat(n)}${']'.repeat(n)};\nfunction f() {}\n`),
    );
    const py = extractFile(
      'deep.py',
      'b3',
      Buffer.from(`x = ${'('.repeat(n)}${')'.repeat(n)}\ndef f():\n    pass\n`),
    );
    expect(js.chunks.length + py.chunks.length).toBeGreaterThan(0);
    expect(Date.now() - t0).toBeLessThan(20_000);
  });
});

describe("coverage reports written by the repository's own tests", () => {
  it('V8: 199,999 ranges over a 20,000-line file are read in seconds, not lines × ranges', () => {
    const lines = 20_000;
    const source = 'x();\n'.repeat(lines);
    const ranges = [{ startOffset: 0, endOffset: source.length, count: 1 }];
    for (let i = 1; i < 200_000; i++) {
      const s = (i * 7919) % source.length;
      ranges.push({ startOffset: s, endOffset: Math.min(source.length, s + 1 + (i % 5000)), count: i % 2 });
    }
    const t0 = Date.now();
    const cov = v8LineCoverage(source, [{ ranges }]);
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(cov!.executed.size + cov!.missing.size).toBe(lines);
  }, 120_000);

  it('Go: blocks a million lines long (and huge counts) are read in seconds, not blocks × lines', () => {
    const source = 'x()\n'.repeat(1_000_000);
    const profile = ['mode: count'];
    // Distinct blocks (the same block listed twice is merged): 200 of them, each over the whole file.
    for (let i = 0; i < 200; i++)
      profile.push(`m/x/a.go:1.${i + 1},1000000.2 1 ${i === 0 ? '9007199254740991' : '0'}`);
    const t0 = Date.now();
    const blocks = parseGoCoverProfile(profile.join('\n'), 'm/x');
    const cov = goLineCoverage(blocks.get('a.go')!, source);
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(cov.executed.size).toBe(1_000_000);
  }, 120_000);

  it('a coverage report that is a FIFO, or a link to a secret, is not read', async () => {
    const trap = makeTrap();
    const { secret, release } = outsiders(
      trap,
      JSON.stringify({ files: { [CANARY]: { executed_lines: [1] } } }),
    );
    const wt = join(trap.root, 'wt');
    mkdirSync(join(wt, '.codemesh-cover'), { recursive: true });
    try {
      for (const make of [
        (p: string) => symlinkSync(secret, p),
        (p: string) => execFileSync('mkfifo', [p]),
      ]) {
        const { COVERAGE_REPORTS } = await import('../../actors/tester/cover-plan.ts');
        const report = join(wt, COVERAGE_REPORTS['coverage.py']);
        mkdirSync(join(report, '..'), { recursive: true });
        execFileSync('rm', ['-f', report]);
        make(report);
        const cov = await within(readCoverage(wt), 5_000);
        expect(cov).toBeUndefined();
      }
    } finally {
      release();
    }
  });
});

describe('.codemesh.yml with hostile values', () => {
  it('unknown keys, huge numbers, bad env names, an alias bomb: each refused with a clear error', async () => {
    const trap = makeTrap();
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 12; i++)
      bomb.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(',')}]`,
      );
    bomb.push('test: {timeout: *l}');
    const bad = [
      'test: {timeout: 1e308}',
      'test: {max_files: 99999999999}',
      'test: {timeout: -1}',
      'test: {env: {"A=B": "x"}}',
      'test: {runner: "../../bin/sh"}',
      `test: {setup: [${Array(50).fill('"x"').join(',')}]}`,
      'push: "yes please"',
      'hooks: {pre: "curl evil"}',
      '__proto__: {polluted: true}',
      bomb.join('\n'),
    ];
    for (const [i, text] of bad.entries()) {
      const { repo, head } = repoWith(trap, `cfg${i}`, { '.codemesh.yml': `${text}\n` });
      const t0 = Date.now();
      await expect(loadRepoConfig(repo, head), text.slice(0, 60)).rejects.toThrow(RepoConfigError);
      expect(Date.now() - t0).toBeLessThan(5_000);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // The same values from the API's registered settings.
    expect(() => parseRepoConfig(parseYaml('test: {timeout: 1e308}'), 'registered')).toThrow(/timeout/);
  }, 60_000);
});

describe('issue intake', () => {
  it("another org's checkout whose .git/config claims the issue's GitHub repository does not shadow the caller's own", async () => {
    const gh = await startGitHubDouble();
    gh.setIssue('acme', 'calc', 7, {
      title: 'subtract is wrong',
      body: 'subtract(5, 3) is 8.',
      comments: [],
    });
    const github = createGitHub(
      gitHubSettingsFromEnv({
        CODEMESH_GITHUB_API_URL: gh.url,
        CODEMESH_GITHUB_TOKEN: 'ghp_intake0123456789abc',
      }),
    );
    const t = await startTestGateway({ github });
    try {
      // repoA (org-a, registered first) is the attacker's: its remote merely claims acme/calc. repoB is org-b's
      // real checkout of acme/calc.
      sh(t.repoA, 'remote', 'add', 'origin', `${gh.url}/acme/calc.git`);
      sh(t.repoB, 'remote', 'add', 'origin', `${gh.url}/acme/calc.git`);
      const bob = await t.jwt('bob');
      const res = await t.call('POST', '/v1/tasks', bob, { issue_url: `${gh.url}/acme/calc/issues/7` });
      expect(res.status).toBe(201);
      expect(((await res.json()) as { task: { repo: string } }).task.repo).toBe(t.repoB);
    } finally {
      await t.stop();
      await gh.close();
    }
  }, 120_000);
});
