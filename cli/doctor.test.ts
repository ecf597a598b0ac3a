// `codemesh doctor`: the plan printed for a repository at a commit, as text and JSON, and one-line errors.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { commitFiles, makeRepo } from '../test/temp-repo.ts';
import { cmdDoctor } from './doctor.ts';

const roots: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'codemesh-doctor-test-'));
  roots.push(d);
  return d;
};
afterAll(() => {
  for (const d of roots) rmSync(d, { recursive: true, force: true });
});

async function doctor(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const sink = new Writable({
    write(chunk, _enc, done) {
      out += String(chunk);
      done();
    },
  });
  const code = await cmdDoctor(args, sink);
  return { code, out };
}

const FILES = {
  '.codemesh.yml': 'test:\n  timeout: 120\n  env:\n    EXTRA: "1"\n',
  'pyproject.toml': '',
  'src/app/__init__.py': '',
  'src/app/core.py': '',
  'tests/test_core.py': 'from app.core import x\n',
  'tests/test_other.py': '',
};

describe('codemesh doctor', () => {
  it('prints runner, command, env, timeout, the selected tests and why, at the commit asked for', async () => {
    const { dir, commit } = makeRepo(FILES, tmp());
    // A later commit changes the settings; --commit reads the earlier one.
    commitFiles(dir, { '.codemesh.yml': 'test:\n  timeout: 7\n' });
    const { code, out } = await doctor(['--repo', dir, '--commit', commit, '--files', 'src/app/core.py']);
    expect(code).toBe(0);
    expect(out).toMatch(/^runner: {3}pytest$/m);
    expect(out).toMatch(
      /^command: .* -m pytest .*--junitxml=<checkout>\/\.codemesh-report\/junit\.xml tests\/test_core\.py$/m,
    );
    expect(out).toMatch(/^env: .*PYTHONPATH=src:\. EXTRA=1$/m);
    expect(out).toMatch(/^timeout: {2}120 s$/m);
    expect(out).toContain('selected: 1\n  - tests/test_core.py');
    expect(out).toContain('  - settings from .codemesh.yml');
    expect(out).toContain('  - tests/test_core.py: named after src/app/core.py');
    expect(out).toMatch(/^push: {5}no$/m);
    const head = await doctor(['--repo', dir]);
    expect(head.out).toMatch(/^timeout: {2}7 s$/m);
  });

  it('prints the same plan as JSON', async () => {
    const { dir, commit } = makeRepo(FILES, tmp());
    const { code, out } = await doctor(['--repo', dir, '--files', 'src/app/core.py', '--json']);
    expect(code).toBe(0);
    const plan = JSON.parse(out);
    expect(plan).toMatchObject({
      commit,
      kind: 'pytest',
      timeoutMs: 120_000,
      selected: ['tests/test_core.py'],
      scope: 'selected',
      push: false,
    });
    expect(plan.why.length).toBeGreaterThan(2);
  });

  it('names a bad setting and a bad repository in one line, exit 2', async () => {
    const { dir } = makeRepo({ ...FILES, '.codemesh.yml': 'test:\n  timout: 5\n' }, tmp());
    expect(await doctor(['--repo', dir])).toEqual({
      code: 2,
      out: 'codemesh doctor: .codemesh.yml: test.timout is not a setting (did you mean test.timeout?)\n',
    });
    const notRepo = tmp();
    expect(await doctor(['--repo', notRepo])).toEqual({
      code: 2,
      out: `codemesh doctor: ${notRepo} is not a git repository (git init it, or pass --repo)\n`,
    });
  });
});
