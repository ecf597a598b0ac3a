import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { git, makeFixtureRepo } from '../../test/fixture-repo.ts';
import { prepareTask } from './submit.ts';

describe('prepareTask: the test-writing step (test.reproduce)', () => {
  const repo = makeFixtureRepo('py-calc');
  const pending = async (config?: unknown, reproduce?: boolean, at = repo) =>
    (
      await prepareTask(
        { repo: at, title: 'Fix subtract', ...(config ? { config } : {}) },
        reproduce === undefined ? {} : { reproduce },
      )
    ).workflow.context.reproduce;

  it("follows the caller's default, which the task's own setting overrides", async () => {
    expect(await pending()).toBeUndefined();
    expect(await pending(undefined, true)).toEqual({ state: 'pending' });
    expect(await pending({ test: { reproduce: false } }, true)).toBeUndefined();
    expect(await pending({ test: { reproduce: true } }, false)).toEqual({ state: 'pending' });
  });

  it('reads .codemesh.yml at the base commit (the task still wins)', async () => {
    const off = makeFixtureRepo('py-calc');
    writeFileSync(join(off, '.codemesh.yml'), 'test:\n  reproduce: false\n');
    git(off, 'add', '.codemesh.yml');
    git(off, 'commit', '-qm', 'no test writing');
    expect(await pending(undefined, true, off)).toBeUndefined();
    expect(await pending({ test: { reproduce: true } }, true, off)).toEqual({ state: 'pending' });
  });
});

describe('prepareTask: the Doc Writer (docs)', () => {
  const docs = async (repo: string, request: { docs?: boolean; config?: { docs: boolean } } = {}) =>
    (await prepareTask({ repo, title: 'Fix subtract', ...request })).workflow.context.docs;

  it('is off by default, on with .codemesh.yml `docs: true`, and the task decides over both', async () => {
    const plain = makeFixtureRepo('py-calc');
    expect(await docs(plain)).toBeUndefined();
    expect(await docs(plain, { docs: true })).toBe(true);
    expect(await docs(plain, { config: { docs: true } })).toBe(true);

    const on = makeFixtureRepo('py-calc');
    writeFileSync(join(on, '.codemesh.yml'), 'docs: true\n');
    git(on, 'add', '.codemesh.yml');
    git(on, 'commit', '-qm', 'document every change');
    expect(await docs(on)).toBe(true);
    expect(await docs(on, { docs: false })).toBeUndefined();
    expect(await docs(on, { config: { docs: false } })).toBeUndefined();
  });

  it('a bad .codemesh.yml leaves it off (the Tester reports the file)', async () => {
    const bad = makeFixtureRepo('py-calc');
    writeFileSync(join(bad, '.codemesh.yml'), 'docs: sometimes\n');
    git(bad, 'add', '.codemesh.yml');
    git(bad, 'commit', '-qm', 'bad');
    expect(await docs(bad)).toBeUndefined();
  });
});
