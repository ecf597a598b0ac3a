// Bad input gets a clear error and loses nothing: malformed requests, missing repos, a model that keeps
// returning malformed edits, and a CLI with no reachable model.
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../blackboard/index.ts';
import { CODEMESH_ROOT, git, makeFixtureRepo } from './fixture-repo.ts';
import { type Harness, startHarness } from './harness.ts';

const run = promisify(execFile);

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.stop());

describe('gateway input', () => {
  it('malformed task JSON → 400 with the field errors', async () => {
    const bad = await h.api('/v1/tasks', { method: 'POST', body: '{"repo": 42' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('INVALID_JSON');
    const r = await h.api('/v1/tasks', {
      method: 'POST',
      body: JSON.stringify({ repo: 7, approve: 'maybe', extra: 1 }),
    });
    expect(r.status).toBe(400);
    const body = (await r.json()) as {
      error: { code: string; fields: Array<{ path: string; message: string }> };
    };
    expect(body.error.code).toBe('INVALID_REQUEST');
    const paths = body.error.fields.map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining(['repo', 'title', 'approve']));
  });

  it('a repository path that does not exist → 422 naming the path', async () => {
    const r = await h.api('/v1/tasks', {
      method: 'POST',
      body: JSON.stringify({ repo: '/nowhere/at/all', title: 'x' }),
    });
    expect(r.status).toBe(422);
    const body = (await r.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('REPO_NOT_FOUND');
    expect(body.error.message).toContain('/nowhere/at/all');
  });

  it('no token → 401 JSON; /healthz stays open', async () => {
    const r = await fetch(`${h.url}/v1/tasks/t-abcdef12`);
    expect(r.status).toBe(401);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
  });
});

describe('a model that keeps returning malformed edits', () => {
  it('gets each exact error back, then the step fails cleanly within budget; only codemesh/* is ever written', async () => {
    const coderPrompts: string[] = [];
    h.setScript(({ roleHint, body }) => {
      if (roleHint === 'planner')
        return {
          content: JSON.stringify({
            summary: 's',
            subtasks: [{ id: 'a', title: 'a', successCriteria: ['c'] }],
          }),
        };
      const last = body.messages?.at(-1);
      coderPrompts.push(String(last?.content ?? ''));
      // A block with no divider, then one whose SEARCH text is not in the file, then no block at all.
      const n = coderPrompts.length;
      if (n === 1) return { content: 'src/calc.ts\n<<<<<<< SEARCH\nreturn a + b;\n>>>>>>> REPLACE\n' };
      if (n === 2)
        return {
          content: 'src/calc.ts\n<<<<<<< SEARCH\nreturn x * y;\n=======\nreturn a - b;\n>>>>>>> REPLACE\n',
        };
      return { content: 'I think the code is fine.' };
    });
    const repo = makeFixtureRepo('ts-calc');
    const refsBefore = git(repo, 'for-each-ref', '--format=%(refname) %(objectname)');
    const r = await h.api('/v1/tasks', {
      method: 'POST',
      body: JSON.stringify({ repo, title: 'Fix subtract' }),
    });
    const { task } = (await r.json()) as { task: { id: string } };
    const deadline = Date.now() + 30_000;
    let t: { status: string; reason?: string };
    for (;;) {
      t = ((await (await h.api(`/v1/tasks/${task.id}`)).json()) as { task: typeof t }).task;
      if (t.status === 'failed' || t.status === 'completed' || Date.now() > deadline) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(t.status).toBe('failed');
    expect(t.reason).toMatch(/rejected 3 times/);
    // Each rejection went back to the model with the exact reason.
    expect(coderPrompts).toHaveLength(3);
    expect(coderPrompts[1]).toMatch(/=======/);
    expect(coderPrompts[2]).toMatch(/return x \* y;|not found/i);
    expect(git(repo, 'for-each-ref', '--format=%(refname) %(objectname)')).toBe(refsBefore);
    expect(git(repo, 'status', '--porcelain')).toBe('');
    const cost = ((await (await h.api(`/v1/tasks/${task.id}`)).json()) as { cost: { calls: number } }).cost;
    expect(cost.calls).toBe(4);
  });
});

describe('repository indexing over HTTP', () => {
  it('indexes a registered repository (files, chunks, symbols) and refuses an unregistered one', async () => {
    const repo = makeFixtureRepo('py-calc');
    const refused = await h.api('/v1/repos/index', { method: 'POST', body: JSON.stringify({ repo }) });
    expect(refused.status).toBe(403);
    // Submitting a task as the org admin registers the repository.
    await h.api('/v1/tasks', { method: 'POST', body: JSON.stringify({ repo, title: 'register' }) });
    const r = await h.api('/v1/repos/index', { method: 'POST', body: JSON.stringify({ repo }) });
    expect(r.status).toBe(201);
    const { index } = (await r.json()) as {
      index: { files: number; chunks: number; symbols: number; commit: string };
    };
    expect(index).toMatchObject({ files: 3 });
    expect(index.symbols).toBeGreaterThanOrEqual(4);
    expect(index.commit).toBe(git(repo, 'rev-parse', 'HEAD'));
    // Modes: only the parts asked for are reported, each with its own counts; an unknown mode is a 400.
    const some = await h.api('/v1/repos/index', {
      method: 'POST',
      body: JSON.stringify({ repo, modes: ['symbols', 'docs'] }),
    });
    expect(some.status).toBe(201);
    const { index: parts } = (await some.json()) as {
      index: { modes: Record<string, Record<string, number>> };
    };
    expect(Object.keys(parts.modes).sort()).toEqual(['docs', 'symbols']);
    expect(parts.modes.symbols!.symbols).toBe(index.symbols);
    expect(parts.modes.symbols!.definitions).toBeGreaterThanOrEqual(parts.modes.symbols!.symbols!);
    const all = (await (
      await h.api('/v1/repos/index', { method: 'POST', body: JSON.stringify({ repo }) })
    ).json()) as { index: { modes: Record<string, Record<string, number>> } };
    // calc.py and test_calc.py are parsed by tree-sitter; pyproject.toml is a text file.
    expect(all.index.modes.ast!.files).toBe(2);
    expect(all.index.modes.docs!.files).toBe(1);
    const bad = await h.api('/v1/repos/index', {
      method: 'POST',
      body: JSON.stringify({ repo, modes: ['vectors'] }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBeTruthy();
    // Built by the mesh's Curator, into the mesh's cache (not the gateway's loop, not ~/.cache).
    expect(readdirSync(join(h.dataDir, 'index')).length).toBeGreaterThan(0);
    const unknown = await h.api('/v1/repos/index', {
      method: 'POST',
      body: JSON.stringify({ repo, commit: 'f'.repeat(40) }),
    });
    expect(unknown.status).toBe(422);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('UNKNOWN_COMMIT');
  });
});

describe('budgets', () => {
  it('a task that spends more than its budget stops with the reason', async () => {
    h.setScript(({ roleHint }) =>
      roleHint === 'planner'
        ? {
            usage: { prompt_tokens: 1000, completion_tokens: 1000 },
            content: JSON.stringify({
              summary: 's',
              subtasks: [{ id: 'a', title: 'a', successCriteria: ['c'] }],
            }),
          }
        : { content: 'unreachable: the budget stops the task before any coder call' },
    );
    const repo = makeFixtureRepo('py-calc');
    const r = await h.api('/v1/tasks', {
      method: 'POST',
      // The planner's call reserves ~$0.94 (its prompt + 512 answer tokens) and fits; it then spends $2.
      body: JSON.stringify({ repo, title: 'x', budget: { maxCostUsd: 1.5 } }),
    });
    const { task } = (await r.json()) as { task: { id: string } };
    let t: { status: string; reason?: string } = { status: '' };
    for (let i = 0; i < 300 && t.status !== 'failed' && t.status !== 'completed'; i++) {
      t = ((await (await h.api(`/v1/tasks/${task.id}`)).json()) as { task: typeof t }).task;
      await new Promise((res) => setTimeout(res, 50));
    }
    // One planner call at $0.5/1k in + $1.5/1k out for 1000 + 1000 tokens = $2 > $1.5.
    expect(t.status).toBe('failed');
    expect(t.reason).toMatch(/budget: spent \$2\.0000 of \$1\.5/);
  });

  it('a call whose reservation would pass the hard limit is never made', async () => {
    h.setScript(() => ({ content: 'unreachable: the reservation is refused before the call' }));
    const before = h.llm.calls.length;
    const r = await h.api('/v1/tasks', {
      method: 'POST',
      body: JSON.stringify({ repo: makeFixtureRepo('py-calc'), title: 'x', budget: { maxCostUsd: 0.5 } }),
    });
    const { task } = (await r.json()) as { task: { id: string } };
    const t = (await h.waitForStatus(task.id, 'failed')) as { task: { reason: string } };
    expect(t.task.reason).toMatch(
      /^hard budget: \$0\.0000 \+ ~\$0\.\d{4} for this planner call would pass the task's limit of \$0\.5$/,
    );
    expect(h.llm.calls.slice(before).filter((c) => c.path === '/v1/chat/completions')).toEqual([]);
  });
});

describe('codemesh run (CLI)', () => {
  const cli = join(CODEMESH_ROOT, 'bin', 'codemesh.js');
  it('stops at once when no model is reachable, naming the settings to set', async () => {
    const port = await freePort();
    const repo = makeFixtureRepo('py-calc');
    const err = await run(process.execPath, [cli, 'run', '--repo', repo, '--title', 'x'], {
      env: {
        PATH: process.env.PATH,
        CODEMESH_LLM_BASE_URL: `http://127.0.0.1:${port}/v1`,
        CODEMESH_LLM_API_KEY: 'sk-secret-value',
      },
      timeout: 30_000,
    }).catch((e: { code: number; stdout: string; stderr: string }) => e);
    expect('code' in err && err.code).toBe(3);
    const text = `${err.stdout}${err.stderr}`;
    expect(text).toContain('CODEMESH_LLM_BASE_URL');
    expect(text).not.toContain('sk-secret-value');
  });

  it('missing flags → exit 2 with usage', async () => {
    const err = await run(process.execPath, [cli, 'run', '--title', 'x'], { timeout: 30_000 }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect('code' in err && err.code).toBe(2);
    expect(err.stderr).toContain('--repo');
  });
});
