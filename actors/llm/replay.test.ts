// The replay model over the real wire: codemesh's own model client (the openai package) against the server.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Plan, ReviewVerdict } from '../../schemas/index.ts';
import { applyEdits, parseEditBlocks } from '../coder/edits.ts';
import { coderSystem } from '../coder/prompts.ts';
import { plannerSystem } from '../planner/prompts.ts';
import { reviewerSystem } from '../reviewer/prompts.ts';
import { git, makeFixtureRepo } from '../../test/fixture-repo.ts';
import {
  createModelClient,
  ModelConfigError,
  ModelRequestError,
  preflight,
  resolveModelConfig,
} from './index.ts';
import { REPLAY_MODEL, type ReplayServer, startReplayServer } from './replay.ts';
import type { ModelConfig } from './types.ts';

const CALC = 'def add(a, b):\n    return a + b\n\n\ndef subtract(a, b):\n    return a + b\n';
const GOLD = `diff --git a/calc.py b/calc.py
--- a/calc.py
+++ b/calc.py
@@ -4,3 +4,3 @@ def add(a, b):
 
 def subtract(a, b):
-    return a + b
+    return a - b
`;
// Longer than the part of it that identifies the instance, as real issues are.
const TASK = `subtract() adds its arguments\n\nCalling subtract(5, 3) returns 8 instead of 2.\n${'More detail. '.repeat(40)}`;

let replay: ReplayServer;
let cfg: ModelConfig;
const dir = mkdtempSync(join(tmpdir(), 'codemesh-replay-'));

beforeAll(async () => {
  replay = await startReplayServer([
    { id: 'acme__calc-1', task: TASK, patch: GOLD, read: async (p) => (p === 'calc.py' ? CALC : undefined) },
  ]);
  cfg = {
    baseURL: replay.url,
    apiKey: 'replay',
    model: REPLAY_MODEL,
    timeoutMs: 5000,
    maxRetries: 0,
    priceInPer1k: 0,
    priceOutPer1k: 0,
  };
});
afterAll(async () => {
  await replay.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The task the way agents put it in their prompts: after a title, before the repository overview. */
const user = (extra = '') => ({
  role: 'user' as const,
  content: `Task: ${TASK.split('\n')[0]}\n\n${TASK}\n${extra}`,
});

describe('replay model', () => {
  it('answers each role with the known answer, and counts the prompt as characters / 4', async () => {
    const llm = createModelClient(cfg);
    expect((await preflight(cfg)).modelListed).toBe(true);

    const planMsgs = [{ role: 'system' as const, content: plannerSystem() }, user('Repository: calc.py')];
    const plan = await llm.chat({
      role: 'planner',
      taskId: 't-1',
      messages: planMsgs,
      responseFormat: 'json',
    });
    const parsed = Plan.parse(JSON.parse(plan.message.content ?? ''));
    expect(parsed.subtasks[0]!.files).toEqual(['calc.py']);
    const chars = planMsgs.reduce((n, m) => n + m.content.length, 0);
    expect(plan.usage.promptTokens).toBe(Math.ceil(chars / 4));
    expect(plan.usage.estimated).toBeFalsy();

    const code = await llm.chat({
      role: 'coder',
      taskId: 't-1',
      messages: [{ role: 'system', content: coderSystem() }, user()],
    });
    const { edits, errors } = parseEditBlocks(code.message.content ?? '');
    expect(errors).toEqual([]);
    writeFileSync(join(dir, 'calc.py'), CALC);
    expect((await applyEdits(dir, edits)).errors).toEqual([]);
    expect(readFileSync(join(dir, 'calc.py'), 'utf8')).toBe(
      'def add(a, b):\n    return a + b\n\n\ndef subtract(a, b):\n    return a - b\n',
    );

    const review = await llm.chat({
      role: 'reviewer',
      taskId: 't-1',
      messages: [{ role: 'system', content: reviewerSystem() }, user(GOLD)],
      responseFormat: 'json',
    });
    expect(ReviewVerdict.parse(JSON.parse(review.message.content ?? '')).decision).toBe('approve');
    expect(replay.served.get('acme__calc-1')).toBe(3);
  });

  it('sends the tests that came with the fix as well (a new file and a changed one), the fix first', async () => {
    const TESTS_BEFORE =
      'from calc import subtract\n\n\ndef test_subtract():\n    assert subtract(5, 3) == 8\n';
    const TESTS = `diff --git a/test_calc.py b/test_calc.py
--- a/test_calc.py
+++ b/test_calc.py
@@ -4,2 +4,2 @@ from calc import subtract
 def test_subtract():
-    assert subtract(5, 3) == 8
+    assert subtract(5, 3) == 2
diff --git a/test_more.py b/test_more.py
new file mode 100644
--- /dev/null
+++ b/test_more.py
@@ -0,0 +1,2 @@
+def test_more():
+    assert True
diff --git a/calc.py b/calc.py
--- a/calc.py
+++ b/calc.py
@@ -1,2 +1,2 @@
-def add(a, b):
+def add(a, b):  # a test patch never decides the fix
     return a + b
`;
    const task = `${TASK} (with tests)`;
    const files: Record<string, string> = { 'calc.py': CALC, 'test_calc.py': TESTS_BEFORE };
    const r = await startReplayServer([
      { id: 'acme__calc-2', task, patch: GOLD, tests: TESTS, read: async (p) => files[p] },
    ]);
    try {
      const llm = createModelClient({ ...cfg, baseURL: r.url });
      const code = await llm.chat({
        role: 'coder',
        taskId: 't-2',
        messages: [
          { role: 'system', content: coderSystem() },
          { role: 'user', content: `Task: x\n\n${task}` },
        ],
      });
      const { edits, errors } = parseEditBlocks(code.message.content ?? '');
      expect(errors).toEqual([]);
      expect(edits.map((e) => e.path)).toEqual(['calc.py', 'test_calc.py', 'test_more.py']);
      const tree = mkdtempSync(join(tmpdir(), 'codemesh-replay-tests-'));
      for (const [p, text] of Object.entries(files)) writeFileSync(join(tree, p), text);
      expect((await applyEdits(tree, edits)).errors).toEqual([]);
      expect(readFileSync(join(tree, 'calc.py'), 'utf8')).toContain('return a - b');
      expect(readFileSync(join(tree, 'calc.py'), 'utf8')).not.toContain('never decides');
      expect(readFileSync(join(tree, 'test_calc.py'), 'utf8')).toContain('== 2');
      expect(readFileSync(join(tree, 'test_more.py'), 'utf8')).toContain('def test_more');
      rmSync(tree, { recursive: true, force: true });
    } finally {
      await r.close();
    }
  });

  it('refuses a prompt about no known instance with a 400 the client does not retry', async () => {
    const llm = createModelClient(cfg);
    const err = await llm
      .chat({
        role: 'coder',
        taskId: 't-2',
        messages: [
          { role: 'system', content: coderSystem() },
          { role: 'user', content: 'Task: something else' },
        ],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelRequestError);
    expect(String((err as Error).message)).toMatch(/no known instance/);
    expect(replay.errors.at(-1)).toMatch(/no known instance/);
  });

  it('recognises an instance added while running', async () => {
    replay.add({
      id: 'acme__calc-2',
      task: 'add() is slow on big ints',
      patch: GOLD,
      read: async () => CALC,
    });
    const llm = createModelClient(cfg);
    const r = await llm.chat({
      role: 'reviewer',
      taskId: 't-3',
      messages: [
        { role: 'system', content: reviewerSystem() },
        { role: 'user', content: 'Task: add() is slow on big ints' },
      ],
    });
    expect(r.message.content).toContain('acme__calc-2');
  });
});

describe('CODEMESH_LLM_PROVIDER=replay', () => {
  it('serves a SWE-bench dataset through the ordinary model settings', async () => {
    const repos = join(dir, 'repos');
    const repo = makeFixtureRepo('py-calc', repos);
    const base = git(repo, 'rev-parse', 'HEAD');
    const dataset = join(dir, 'd.jsonl');
    const row = {
      instance_id: 'acme__py-calc-1',
      repo: 'acme/py-calc',
      base_commit: base,
      problem_statement: TASK,
      patch: GOLD,
    };
    writeFileSync(dataset, `not json\n${JSON.stringify(row)}\n`);
    const { renameSync } = await import('node:fs');
    renameSync(repo, join(repos, 'acme__py-calc'));
    const env = {
      CODEMESH_LLM_PROVIDER: 'replay',
      CODEMESH_REPLAY_DATASET: dataset,
      CODEMESH_REPLAY_REPOS: repos,
    };
    const cfg = resolveModelConfig('coder', { env });
    expect(cfg.model).toBe(REPLAY_MODEL);
    expect((await preflight(cfg)).modelListed).toBe(true);
    const r = await createModelClient(cfg).chat({
      role: 'coder',
      taskId: 't-9',
      messages: [{ role: 'system', content: coderSystem() }, user()],
    });
    expect(r.message.content).toContain('    return a - b');
    expect(parseEditBlocks(r.message.content ?? '').edits).toHaveLength(1);
  });

  it('names the settings it needs, and refuses an unknown provider', () => {
    expect(() => resolveModelConfig('coder', { env: { CODEMESH_LLM_PROVIDER: 'replay' } })).toThrow(
      /CODEMESH_REPLAY_DATASET/,
    );
    expect(() => resolveModelConfig('coder', { env: { CODEMESH_LLM_PROVIDER: 'replya' } })).toThrow(
      ModelConfigError,
    );
  });
});
