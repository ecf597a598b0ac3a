// `codemesh doctor` through the codemesh command itself (a child process: main.ts loads the whole mesh).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { makeRepo } from '../test/temp-repo.ts';

const root = mkdtempSync(join(tmpdir(), 'codemesh-doctor-int-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

it('codemesh doctor prints the plan, and exits 2 with one line for a bad setting', async () => {
  const run = promisify(execFile);
  const main = join(import.meta.dirname, 'main.ts');
  const cwd = join(import.meta.dirname, '..');
  const { dir } = makeRepo({ 'pyproject.toml': '', 'tests/test_a.py': '' }, join(root, 'good'));
  const ok = await run('npx', ['tsx', main, 'doctor', '--repo', dir], { cwd });
  expect(ok.stdout).toMatch(/^runner: {3}pytest$/m);
  const bad = makeRepo({ '.codemesh.yml': 'push: maybe\n' }, join(root, 'bad')).dir;
  const err = await run('npx', ['tsx', main, 'doctor', '--repo', bad], { cwd }).catch((e) => e);
  expect(err.code).toBe(2);
  expect(err.stdout).toBe('codemesh doctor: .codemesh.yml: push: true or false\n');
}, 120_000);
