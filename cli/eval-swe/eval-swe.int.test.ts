// `codemesh eval swe` end to end on a synthetic SWE-bench instance built on test/fixtures/py-calc: the gold
// patch fixes subtract(), the test patch adds a failing test. Real git, bwrap, nats-server and the whole mesh
// with the replay model; no network, no real clones.
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox } from '../../sandbox-agent/index.ts';
import { git, makeFixtureRepo } from '../../test/fixture-repo.ts';
import { UsageError } from '../errors.ts';
import type { SweInstance } from './dataset.ts';
import { evalSwe } from './evaluate.ts';
import { grade, gradedTreeId } from './grade.ts';
import { cmdEvalSwe } from './main.ts';

let root: string;
let repos: string;
let inst: SweInstance;
const sandbox = createSandbox();

function diffOf(repo: string, edit: () => void): string {
  edit();
  const d = `${git(repo, 'diff')}\n`;
  git(repo, 'checkout', '--', '.');
  return d;
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'codemesh-eval-swe-'));
  repos = join(root, 'repos');
  mkdirSync(repos);
  const made = makeFixtureRepo('py-calc', root);
  const repo = join(repos, 'acme__py-calc');
  renameSync(made, repo);
  const base = git(repo, 'rev-parse', 'HEAD');
  const calc = 'def add(a, b):\n    return a + b\n\n\ndef subtract(a, b):\n    return a + b\n';
  const tests =
    'from calc import add, subtract\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\ndef test_subtract():\n    assert subtract(5, 3) == 2\n';
  const patch = diffOf(repo, () =>
    writeFileSync(join(repo, 'calc.py'), calc.replace(/a \+ b\n$/, 'a - b\n')),
  );
  const testPatch = diffOf(repo, () =>
    writeFileSync(
      join(repo, 'test_calc.py'),
      `${tests}\n\ndef test_subtract_negative():\n    assert subtract(2, 5) == -3\n`,
    ),
  );
  inst = {
    instance_id: 'acme__py-calc-1',
    repo: 'acme/py-calc',
    base_commit: base,
    problem_statement: 'subtract() adds its arguments\n\nsubtract(5, 3) returns 8; it should return 2.',
    patch,
    test_patch: testPatch,
    FAIL_TO_PASS: ['test_calc.py::test_subtract', 'test_calc.py::test_subtract_negative'],
    PASS_TO_PASS: ['test_calc.py::test_add'],
    eval_script: `#!/bin/bash\ncd /testbed\n: '>>>>> Start Test Output'\npytest -rA test_calc.py\n: '>>>>> End Test Output'\n`,
    log_parser: 'parse_log_pytest',
    version: '0.1',
  };
  writeFileSync(
    join(root, 'dataset.jsonl'),
    `${JSON.stringify({ ...inst, FAIL_TO_PASS: JSON.stringify(inst.FAIL_TO_PASS), PASS_TO_PASS: JSON.stringify(inst.PASS_TO_PASS) })}\n`,
  );
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('eval swe', () => {
  it('grading: the base tree fails FAIL_TO_PASS, the gold patch resolves it', async () => {
    const gitDir = join(repos, 'acme__py-calc');
    const common = { inst, gitDir, commit: inst.base_commit, sandbox, shimDir: join(root, 'no-shim') };
    const before = await grade(common);
    expect(before.resolved).toBe(false);
    expect(before.f2p_failed).toEqual(inst.FAIL_TO_PASS);
    expect(before.p2p_failed).toEqual([]);
    expect(before.env_error).toBeUndefined();
    const after = await grade({ ...common, patch: inst.patch });
    expect(after).toMatchObject({ resolved: true, f2p_failed: [], p2p_failed: [] });
    const broken = await grade({
      ...common,
      patch: 'diff --git a/nope.py b/nope.py\n--- a/nope.py\n+++ b/nope.py\n@@ -1 +1 @@\n-x\n+y\n',
    });
    expect(broken.env_error).toMatch(/does not apply/);
  });

  it('grading: a byte-identical tree is graded once (cache keyed by the whole tree), a different one runs', async () => {
    const gitDir = join(repos, 'acme__py-calc');
    const cacheDir = join(root, 'grade-cache');
    const common = {
      inst,
      gitDir,
      commit: inst.base_commit,
      sandbox,
      shimDir: join(root, 'no-shim'),
      cacheDir,
    };
    const first = await grade({ ...common, patch: inst.patch });
    expect(first).toMatchObject({ resolved: true });
    expect(first.cached).toBeUndefined();
    const again = await grade({ ...common, patch: inst.patch });
    expect(again).toMatchObject({ resolved: true, cached: true, f2p_failed: [], p2p_failed: [] });
    // One byte away from the gold tree (a comment): a real run, and its own verdict.
    const other = await grade({
      ...common,
      patch: inst.patch.replace('+    return a - b', '+    return a - b  #'),
    });
    expect(other.cached).toBeUndefined();
    expect(other.resolved).toBe(true);
    const base = await grade(common);
    expect(base.cached).toBeUndefined();
    expect(base.resolved).toBe(false);
    // The baseline decides P2P on a cached outcome too.
    const judged = await grade({ ...common, patch: inst.patch, p2pBaseline: [] });
    expect(judged).toMatchObject({ cached: true, p2p_env: inst.PASS_TO_PASS });
  });

  it('gradedTreeId: the gold route and a commit holding the same files name one tree; the repo is not written', async () => {
    const gitDir = join(repos, 'acme__py-calc');
    const objects = () => git(gitDir, 'count-objects', '-v');
    const before = objects();
    const scratch = () => mkdtempSync(join(tmpdir(), 'codemesh-treeid-'));
    const common = { inst, gitDir, sandbox, shimDir: join(root, 'no-shim') };
    const gold = await gradedTreeId({ ...common, commit: inst.base_commit, patch: inst.patch }, scratch());
    const base = await gradedTreeId({ ...common, commit: inst.base_commit }, scratch());
    expect(gold).toMatch(/^[0-9a-f]{40}$/);
    expect(base).toMatch(/^[0-9a-f]{40}$/);
    expect(base).not.toBe(gold);
    // A commit with the fix and the upstream tests, as the replay integrates it (in a throwaway clone).
    const clone = join(root, 'treeid-clone');
    git(root, 'clone', '-q', '--shared', gitDir, clone);
    git(clone, 'checkout', '-q', '--detach', inst.base_commit);
    writeFileSync(join(clone, 'fix.diff'), inst.patch + inst.test_patch);
    git(clone, 'apply', 'fix.diff');
    rmSync(join(clone, 'fix.diff'));
    git(clone, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qam', 'fix');
    const head = git(clone, 'rev-parse', 'HEAD');
    expect(await gradedTreeId({ ...common, gitDir: clone, commit: head }, scratch())).toBe(gold);
    expect(objects()).toBe(before);
  });

  it('replay: the whole mesh integrates the known fix, and it is graded resolved', async () => {
    const report = await evalSwe({
      instances: [inst],
      repos,
      provider: 'replay',
      home: join(root, 'home'),
      shimDir: join(root, 'no-shim'),
      sandbox,
      taskTimeoutMs: 120_000,
    });
    const row = report.instances[0]!;
    expect(row.status, row.reason).toBe('completed');
    expect(row.model_patch).toContain('+    return a - b');
    expect(row).toMatchObject({ resolved: true, gold_ok: true, f2p_failed: [], p2p_failed: [] });
    expect(row.tokens).toBeGreaterThan(100);
    expect(Object.keys(row.steps)).toEqual(
      expect.arrayContaining(['plan', 'code', 'test', 'review', 'integrate']),
    );
    // The replay integrates the gold fix and the upstream tests: graded, that is the gold run's very tree.
    expect(row.grade_cached).toBe(true);
    expect(row.verdict_s).toBeGreaterThan(0);
    expect(row.first_verdict_s).toBeGreaterThan(0);
    expect(row.first_verdict_s).toBeLessThanOrEqual(row.verdict_s!);
    expect(report).toMatchObject({
      n: 1,
      resolved: 1,
      resolved_pct: 100,
      gold_ok: 1,
      pass_at_k: { '1': 100 },
    });
    expect(report.tokens_mean).toBe(row.tokens);
  }, 300_000);

  it('an interrupted run stops the mesh and reports only what was finished', async () => {
    const interrupt = new AbortController();
    setTimeout(() => interrupt.abort(), 1500);
    const report = await evalSwe({
      instances: [inst, { ...inst, instance_id: 'acme__py-calc-2' }],
      repos,
      provider: 'replay',
      home: join(root, 'home-interrupted'),
      shimDir: join(root, 'no-shim'),
      sandbox,
      taskTimeoutMs: 120_000,
      signal: interrupt.signal,
    });
    // Neither instance is reported: the first was cut short, the second never started.
    expect(report).toMatchObject({ n: 0, resolved: 0, instances: [] });
  }, 120_000);

  it('CLI: --gold --json prints the report; bad flags are one-line usage errors', async () => {
    const chunks: string[] = [];
    const out = { write: (s: string) => chunks.push(s) };
    const prev = process.env.CODEMESH_HOME;
    process.env.CODEMESH_HOME = join(root, 'cli-home');
    try {
      const code = await cmdEvalSwe(
        ['--dataset', join(root, 'dataset.jsonl'), '--repos', repos, '--gold', '--json'],
        out,
      );
      expect(code).toBe(0);
      const report = JSON.parse(chunks.join(''));
      expect(report).toMatchObject({ mode: 'gold', n: 1, resolved: 1, gold_ok: 1 });
      expect(report.instances[0].model_patch).toBe(inst.patch);
      // --out writes each row as it is finished; --resume takes them instead of running the instance again.
      const outFile = join(root, 'gold-report.json');
      const args = ['--dataset', join(root, 'dataset.jsonl'), '--repos', repos, '--gold', '--out', outFile];
      expect(await cmdEvalSwe(args, out)).toBe(0);
      const rows = readFileSync(`${outFile}.rows.jsonl`, 'utf8').trim().split('\n');
      expect(rows).toHaveLength(1);
      const marked = { ...JSON.parse(rows[0]!), wall_s: 12345 };
      writeFileSync(`${outFile}.rows.jsonl`, `${JSON.stringify(marked)}\n{"cut`);
      expect(await cmdEvalSwe([...args, '--resume'], out)).toBe(0);
      const resumed = JSON.parse(readFileSync(outFile, 'utf8'));
      expect(resumed).toMatchObject({ n: 1, resolved: 1 });
      expect(resumed.instances[0].wall_s).toBe(12345);
      await expect(cmdEvalSwe([...args.filter((a) => a !== '--gold'), '--resume'], out)).rejects.toThrow(
        /rows of a gold run/,
      );
    } finally {
      if (prev === undefined) delete process.env.CODEMESH_HOME;
      else process.env.CODEMESH_HOME = prev;
    }
    await expect(cmdEvalSwe(['--repos', repos], out)).rejects.toThrow(UsageError);
    await expect(
      cmdEvalSwe(['--dataset', join(root, 'missing.jsonl'), '--repos', repos], out),
    ).rejects.toThrow(/does not exist/);
    await expect(
      cmdEvalSwe(
        ['--dataset', join(root, 'dataset.jsonl'), '--repos', repos, '--instances', 'acme__nope-9'],
        out,
      ),
    ).rejects.toThrow(/not in/);
    await expect(
      cmdEvalSwe(['--dataset', join(root, 'dataset.jsonl'), '--repos', root, '--gold'], out),
    ).rejects.toThrow(/no git clone of acme\/py-calc/);
    await expect(
      cmdEvalSwe(['--dataset', join(root, 'dataset.jsonl'), '--repos', repos, '--k', '0'], out),
    ).rejects.toThrow(/positive integer/);
  });
});
