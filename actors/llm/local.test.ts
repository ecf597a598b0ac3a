// The embedded local model (node-llama-cpp, an opt-in install) on a tiny GGUF the test writes itself: random
// weights, so the test checks loading, generation and that the grammar holds the answer to the JSON schema,
// not quality. Without node-llama-cpp (CI's default install) those tests are skipped with the reason in their
// name; the settings, the schema narrowing and the missing-package error are checked either way.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Blackboard } from '../../blackboard/index.ts';
import { type OrgModelSettings, PlanBody, ReviewVerdict } from '../../schemas/index.ts';
import { writeTinyGguf } from '../../test/tiny-gguf.ts';
import { modelsFromBoard } from '../runtime/models.ts';
import { resolveModelConfig } from './config.ts';
import { ModelAbortedError, ModelConfigError, ModelTimeoutError } from './errors.ts';
import { toGbnfJsonSchema } from './gbnf-schema.ts';
import {
  createLocalModelClient,
  disposeLocalModels,
  LOCAL_MODEL_INSTALL,
  type LlamaModule,
  localModelAvailable,
  toLlamaFunctions,
  toLlamaHistory,
} from './local.ts';
import { toolSpecs } from '../coder/tools.ts';
import { resolveOrgModelConfig } from './org-config.ts';
import { createModelClient } from './provider.ts';
import type { ChatRequest, ModelConfig } from './types.ts';

const installed = await localModelAvailable();
const SKIP_REASON = `node-llama-cpp is not installed (opt-in: ${LOCAL_MODEL_INSTALL})`;
if (!installed)
  console.warn(`actors/llm/local.test.ts: the embedded-model tests are skipped: ${SKIP_REASON}`);

const dir = mkdtempSync(join(tmpdir(), 'codemesh-local-model-'));
const models = join(dir, 'models');
mkdirSync(models);
const gguf = join(models, 'tiny.gguf');
afterAll(async () => {
  await disposeLocalModels();
  rmSync(dir, { recursive: true, force: true });
});

/** One thread: the test machine is shared, and llama.cpp's threads spin while they wait for each other. */
const ENV = {
  CODEMESH_LLM_PROVIDER: 'local',
  CODEMESH_LLM_MODEL_PATH: gguf,
  CODEMESH_LOCAL_THREADS: '1',
  CODEMESH_LOCAL_CONTEXT: '1024',
  CODEMESH_LOCAL_MAX_TOKENS: '600',
};
const env = (extra: Record<string, string> = {}) => ({ ...ENV, ...extra });
const ask = (messages: ChatRequest['messages'], more: Partial<ChatRequest> = {}): ChatRequest => ({
  role: 'reviewer',
  taskId: 't-local',
  messages,
  ...more,
});

describe('local model settings', () => {
  it('CODEMESH_LLM_PROVIDER=local names a GGUF file; the model is named after it and costs nothing', () => {
    const cfg = resolveModelConfig('planner', { env: env({ CODEMESH_LOCAL_SEED: '4' }) });
    expect(cfg.local).toEqual({ path: gguf, threads: 1, contextSize: 1024, maxTokens: 600, seed: 4 });
    expect(cfg.model).toBe('tiny');
    expect([cfg.priceInPer1k, cfg.priceOutPer1k]).toEqual([0, 0]);
    expect(() => resolveModelConfig('planner', { env: { CODEMESH_LLM_PROVIDER: 'local' } })).toThrow(
      /CODEMESH_LLM_MODEL_PATH/,
    );
  });

  it('an org may choose a local model only under the directories the operator allows', () => {
    writeTinyGguf(gguf);
    const settings: OrgModelSettings = {
      org: 'acme',
      roles: { reviewer: { provider: 'local', path: gguf } },
      updatedAt: '',
      updatedBy: '',
    };
    const resolve = (e: Record<string, string>) =>
      resolveOrgModelConfig('reviewer', { env: e, org: 'acme', settings });
    expect(() => resolve({})).toThrow(/CODEMESH_LOCAL_MODEL_DIRS/);
    expect(() => resolve({ CODEMESH_LOCAL_MODEL_DIRS: join(dir, 'elsewhere') })).toThrow(/outside/);
    const cfg = resolve({ CODEMESH_LOCAL_MODEL_DIRS: `/nonexistent:${models}`, CODEMESH_LOCAL_THREADS: '1' });
    expect(cfg.local).toEqual({ path: gguf, threads: 1 });
    expect(cfg.model).toBe('tiny');
    // Another role of the org keeps the environment's endpoint.
    expect(resolveOrgModelConfig('coder', { env: {}, org: 'acme', settings }).local).toBeUndefined();
  });

  it('without node-llama-cpp, a call fails with a ModelConfigError that names the install step', async () => {
    const missing = () =>
      Promise.reject(
        Object.assign(new Error("Cannot find package 'node-llama-cpp'"), { code: 'ERR_MODULE_NOT_FOUND' }),
      );
    const cfg: ModelConfig = resolveModelConfig('reviewer', { env: env() });
    const client = createLocalModelClient(cfg, { importer: missing });
    const err = await client.chat(ask([{ role: 'user', content: 'hi' }])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelConfigError);
    expect((err as Error).message).toContain('npm run setup -- --local-model');
    expect((err as Error).message).toContain('npm i -E --no-save node-llama-cpp@3.21.1');
  });

  it('turns OpenAI-shaped messages into a chat history with tool calls and their results', () => {
    const call = {
      id: 'c1',
      type: 'function' as const,
      function: { name: 'read_file', arguments: '{"path":"a.py"}' },
    };
    const convo: ChatRequest['messages'] = [
      { role: 'system', content: 'S' },
      { role: 'user', content: 'U1' },
      { role: 'assistant', content: null, tool_calls: [call] },
      { role: 'tool', tool_call_id: 'c1', content: 'file text' },
    ];
    const calledRead = {
      type: 'model',
      response: [{ type: 'functionCall', name: 'read_file', params: { path: 'a.py' }, result: 'file text' }],
    };
    // After tool results, the model turn that made the calls goes on (their results in it).
    expect(toLlamaHistory(convo)).toEqual([
      { type: 'system', text: 'S' },
      { type: 'user', text: 'U1' },
      calledRead,
    ]);
    // After a user turn, a new model turn; arguments that are not JSON are kept as text.
    const bad = { ...call, id: 'c2', function: { name: 'grep', arguments: 'x(' } };
    expect(
      toLlamaHistory([
        ...convo,
        { role: 'user', content: 'U2' },
        { role: 'assistant', content: 'Looking.', tool_calls: [bad] },
        { role: 'user', content: 'U3' },
      ]),
    ).toEqual([
      { type: 'system', text: 'S' },
      { type: 'user', text: 'U1' },
      calledRead,
      { type: 'user', text: 'U2' },
      {
        type: 'model',
        response: ['Looking.', { type: 'functionCall', name: 'grep', params: 'x(', result: '(no result)' }],
      },
      { type: 'user', text: 'U3' },
      { type: 'model', response: [] },
    ]);
  });

  it("offers the Coder's tools as functions, and maps the calls the model makes to tool_calls", async () => {
    const functions = toLlamaFunctions(toolSpecs);
    expect(Object.keys(functions ?? {})).toEqual(['read_file', 'list_files', 'search_code', 'grep']);
    expect(functions?.read_file?.params).toMatchObject({
      type: 'object',
      properties: { path: { type: 'string' }, startLine: { type: 'integer' } },
    });
    expect(toLlamaFunctions([])).toBeUndefined();

    // node-llama-cpp replaced by a double that records what it is given and answers with two calls.
    const seen: { history?: unknown; functions?: unknown; grammar?: unknown }[] = [];
    const fake: LlamaModule = {
      async getLlama() {
        return {
          async loadModel() {
            return {
              async createContext() {
                return {
                  getSequence: () => ({ tokenMeter: { usedInputTokens: 40, usedOutputTokens: 9 } }),
                  async dispose() {},
                };
              },
              async dispose() {},
            };
          },
          async createGrammarForJsonSchema() {
            return {};
          },
          async getGrammarFor() {
            return {};
          },
          async dispose() {},
        };
      },
      LlamaChat: class {
        async generateResponse(history: unknown, opts: { functions?: unknown; grammar?: unknown }) {
          seen.push({ history, functions: opts.functions, grammar: opts.grammar });
          return opts.functions
            ? {
                response: '',
                functionCalls: [
                  { functionName: 'read_file', params: { path: 'calc.py' } },
                  { functionName: 'grep', params: { pattern: 'def add' } },
                ],
                metadata: { stopReason: 'functionCalls' },
              }
            : { response: '{}', metadata: { stopReason: 'eogToken' } };
        }
        dispose() {}
      },
    };
    let n = 0;
    const cfg = resolveModelConfig('coder', {
      env: env({ CODEMESH_LLM_MODEL_PATH: join(dir, 'fake.gguf') }),
    });
    const client = createLocalModelClient(cfg, { importer: async () => fake, newCallId: () => `id${++n}` });
    const res = await client.chat({
      role: 'coder',
      taskId: 't',
      messages: [{ role: 'user', content: 'Fix add.' }],
      tools: toolSpecs,
    });
    expect(res.finishReason).toBe('tool_calls');
    expect(res.message).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: [
        {
          id: 'call_id1',
          type: 'function',
          function: { name: 'read_file', arguments: '{"path":"calc.py"}' },
        },
        { id: 'call_id2', type: 'function', function: { name: 'grep', arguments: '{"pattern":"def add"}' } },
      ],
    });
    expect(Object.keys(seen[0]!.functions as object)).toContain('search_code');
    expect(seen[0]!.history).toEqual([
      { type: 'user', text: 'Fix add.' },
      { type: 'model', response: [] },
    ]);
    // A JSON answer is held by its grammar, and no function is offered with it.
    const json = await client.chat({
      role: 'coder',
      taskId: 't',
      messages: [{ role: 'user', content: 'JSON please.' }],
      tools: toolSpecs,
      responseFormat: 'json',
    });
    expect(json.message).toEqual({ role: 'assistant', content: '{}' });
    expect(seen[1]!.functions).toBeUndefined();
    expect(seen[1]!.grammar).toBeDefined();
  });

  it("narrows a plan's and a review's JSON Schema to what a grammar can hold", () => {
    const plan = toGbnfJsonSchema(z.toJSONSchema(PlanBody));
    const text = JSON.stringify(plan);
    // A plan's 2,000-character summary and 30 subtasks are left to the zod check (llama.cpp refuses the
    // grammar otherwise); short bounds stay.
    expect(text).not.toContain('"maxLength":2000');
    expect(text).not.toContain('"maxItems":30');
    expect(text).not.toContain('$schema');
    expect(text).not.toContain('pattern');
    expect(toGbnfJsonSchema(z.toJSONSchema(z.object({ s: z.string().max(12) })))).toEqual({
      type: 'object',
      properties: { s: { type: 'string', maxLength: 12 } },
      additionalProperties: false,
    });
    expect(JSON.stringify(toGbnfJsonSchema(z.toJSONSchema(ReviewVerdict)))).toContain(
      '"enum":["approve","revise"]',
    );
  });
});

describe.skipIf(!installed)(`embedded local model on a tiny GGUF (skipped when ${SKIP_REASON})`, () => {
  beforeAll(() => {
    writeTinyGguf(gguf, { seed: 11 });
  });

  it('loads the GGUF and generates text, with token counts', async () => {
    const client = createModelClient(
      resolveModelConfig('reviewer', { env: env({ CODEMESH_LOCAL_MAX_TOKENS: '24' }) }),
    );
    expect(client.baseURL).toBe(`local:${gguf}`);
    const res = await client.chat(ask([{ role: 'user', content: 'Say something.' }]));
    expect(res.message.role).toBe('assistant');
    expect(res.message.content?.length).toBeGreaterThan(0);
    expect(res.usage.promptTokens).toBeGreaterThan(0);
    expect(res.usage.completionTokens).toBeGreaterThan(0);
    expect(res.usage.completionTokens).toBeLessThanOrEqual(24);
    expect(res.costUsd).toBe(0);
  });

  it("a call is cut at the environment's time limit, and by its caller's abort", async () => {
    const cfg = resolveModelConfig('reviewer', { env: env({ CODEMESH_LOCAL_MAX_TOKENS: '4000' }) });
    const long = ask([{ role: 'user', content: 'Write a long story.' }]);
    const slow = createModelClient({ ...cfg, timeoutMs: 20 });
    await slow.chat(ask([{ role: 'user', content: 'warm up' }])).catch(() => undefined);
    await expect(slow.chat(long)).rejects.toBeInstanceOf(ModelTimeoutError);
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 20);
    await expect(createModelClient(cfg).chat({ ...long, signal: ctl.signal })).rejects.toBeInstanceOf(
      ModelAbortedError,
    );
  });

  it('the grammar holds every answer to the JSON schema; the same sampling without it does not', async () => {
    const Verdict = z
      .object({
        decision: z.enum(['approve', 'revise']),
        blocking: z.boolean(),
        note: z.string().max(16),
        tags: z.array(z.enum(['tests', 'style', 'scope'])).max(3),
      })
      .strict();
    const jsonSchema = z.toJSONSchema(Verdict) as Record<string, unknown>;
    const messages: ChatRequest['messages'] = [
      { role: 'system', content: 'You review patches. Answer in JSON.' },
      { role: 'user', content: 'The patch renames a variable.' },
    ];
    const valid = (text: string | null) => {
      try {
        return Verdict.safeParse(JSON.parse(text ?? '')).success;
      } catch {
        return false;
      }
    };
    for (const seed of ['1', '2', '3']) {
      const cfg = resolveModelConfig('reviewer', {
        env: env({ CODEMESH_LOCAL_TEMPERATURE: '1', CODEMESH_LOCAL_SEED: seed }),
      });
      const client = createModelClient(cfg);
      const constrained = await client.chat(ask(messages, { responseFormat: 'json', jsonSchema }));
      expect(constrained.finishReason).toBe('stop');
      expect(valid(constrained.message.content), String(constrained.message.content)).toBe(true);
      const free = await createModelClient({ ...cfg, local: { ...cfg.local!, maxTokens: 60 } }).chat(
        ask(messages),
      );
      expect(valid(free.message.content), String(free.message.content)).toBe(false);
    }
  });

  it('offers tools to the real model: their documentation and earlier calls with results are in its context', async () => {
    const cfg = resolveModelConfig('coder', {
      env: env({ CODEMESH_LOCAL_MAX_TOKENS: '8', CODEMESH_LOCAL_CONTEXT: '4096' }),
    });
    const client = createModelClient(cfg);
    const messages: ChatRequest['messages'] = [
      { role: 'system', content: 'You fix bugs.' },
      { role: 'user', content: 'Fix add() in calc.py.' },
    ];
    const coder = (more: Partial<ChatRequest>) => ({ role: 'coder', taskId: 't-local', messages, ...more });
    const bare = await client.chat(coder({}));
    const offered = await client.chat(coder({ tools: toolSpecs }));
    // The four functions and their parameters are documented to the model (in its chat wrapper's syntax).
    expect(offered.usage.promptTokens).toBeGreaterThan(bare.usage.promptTokens + 50);
    const result = 'def add(a, b):\n    return a - b\n'.repeat(8);
    const after = await client.chat(
      coder({
        tools: toolSpecs,
        messages: [
          ...messages,
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              {
                id: 'c1',
                type: 'function',
                function: { name: 'read_file', arguments: '{"path":"calc.py"}' },
              },
            ],
          },
          { role: 'tool', tool_call_id: 'c1', content: result },
        ],
      }),
    );
    // The call and its result are rendered into the context the model continues from (this tiny vocabulary
    // is one token per character).
    expect(after.usage.promptTokens).toBeGreaterThan(offered.usage.promptTokens + result.length);
    for (const r of [offered, after])
      for (const c of r.message.tool_calls ?? [])
        expect(toolSpecs.map((t) => t.name)).toContain(c.function.name);
  });

  it("a review through the actors' model provider: an org's local setting, the review's own schema", async () => {
    const settings: OrgModelSettings = {
      org: 'acme',
      roles: { reviewer: { provider: 'local', path: gguf } },
      updatedAt: '',
      updatedBy: '',
    };
    // The blackboard is read for the org's settings only.
    const board = { get: async () => ({ value: settings, revision: 1 }) } as unknown as Blackboard;
    const provider = modelsFromBoard(board, {
      env: {
        CODEMESH_LOCAL_MODEL_DIRS: models,
        CODEMESH_LOCAL_THREADS: '1',
        CODEMESH_LOCAL_CONTEXT: '1024',
        CODEMESH_LOCAL_MAX_TOKENS: '600',
        CODEMESH_LOCAL_TEMPERATURE: '1',
        CODEMESH_LOCAL_SEED: '3',
      },
    });
    const client = provider('reviewer', { orgId: 'acme' });
    expect((await client.target?.())?.baseURL).toBe(`local:${gguf}`);
    const res = await client.chat(
      ask([{ role: 'user', content: 'Review: the patch adds a test.' }], {
        responseFormat: 'json',
        jsonSchema: z.toJSONSchema(ReviewVerdict) as Record<string, unknown>,
      }),
    );
    // Random weights: the values are nonsense (a confidence far above 1 is refused by the zod check and sent
    // back to the model by askJson), but the shape is the schema's.
    const v = JSON.parse(res.message.content ?? '') as Record<string, unknown>;
    expect(Object.keys(v).sort()).toEqual(['confidence', 'critique', 'decision', 'risks']);
    expect(['approve', 'revise']).toContain(v.decision);
    expect(typeof v.confidence).toBe('number');
    expect(typeof v.critique).toBe('string');
    expect(Array.isArray(v.risks)).toBe(true);
  });
});
