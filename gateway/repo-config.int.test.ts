// Registered repository settings: stored with POST /v1/repos or PUT /v1/repos/{id}/config, carried into each
// task under the task's own settings (registered < task), and refused with the key named when unknown.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { keys, TaskRecord } from '../schemas/index.ts';
import { makeRepo } from '../test/temp-repo.ts';
import { DEV, startTestGateway, type TestGateway } from './test-setup.ts';

let g: TestGateway;
let root: string;
beforeAll(async () => {
  g = await startTestGateway();
  // Repositories may be registered only under the gateway's configured root.
  root = mkdtempSync(join(g.repoRoot, 'codemesh-repo-config-'));
});
afterAll(async () => {
  await g?.stop();
});

it('merges the registered settings under the task settings, and PUT replaces them', async () => {
  const { dir } = makeRepo({ 'a.py': '' }, join(root, 'one'));
  const reg = await g.call('POST', '/v1/repos', DEV, {
    org: 'org-a',
    path: dir,
    config: { push: true, test: { timeout: 900, env: { A: '1', B: '1' } } },
  });
  expect(reg.status).toBe(201);
  const { repo } = (await reg.json()) as { repo: { id: string; config: unknown } };
  expect(repo.config).toEqual({ push: true, test: { timeout: 900, env: { A: '1', B: '1' } } });

  const submit = async (config?: unknown) => {
    const res = await g.call('POST', '/v1/tasks', DEV, {
      repo: dir,
      title: 'x',
      ...(config ? { config } : {}),
    });
    expect(res.status).toBe(201);
    const { task } = (await res.json()) as { task: { id: string } };
    return (await g.mesh.board.get(keys.task(task.id), TaskRecord))!.value.request.config;
  };
  expect(await submit({ push: false, test: { env: { B: '2' } } })).toEqual({
    push: false,
    test: { timeout: 900, env: { A: '1', B: '2' } },
  });

  const put = await g.call('PUT', `/v1/repos/${repo.id}/config`, DEV, { test: { scope: 'all' } });
  expect(put.status).toBe(200);
  expect(await submit()).toEqual({ test: { scope: 'all' } });
});

it('refuses an unknown setting with its path, and an unknown repository with 404', async () => {
  const { dir } = makeRepo({ 'a.py': '' }, join(root, 'two'));
  const res = await g.call('POST', '/v1/repos', DEV, {
    org: 'org-a',
    path: dir,
    config: { test: { timout: 5 } },
  });
  expect(res.status).toBe(400);
  const body = (await res.json()) as {
    error: { code: string; fields: Array<{ path: string; message: string }> };
  };
  expect(body.error.code).toBe('INVALID_REQUEST');
  expect(body.error.fields[0]).toMatchObject({
    path: 'config.test',
    message: expect.stringContaining('timout'),
  });
  expect((await g.call('PUT', '/v1/repos/r-nope/config', DEV, {})).status).toBe(404);
});
