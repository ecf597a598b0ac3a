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
