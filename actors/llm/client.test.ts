// The model client against the scripted OpenAI-compatible server, over real HTTP on loopback.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { type ScriptedLlm, startScriptedLlm } from '../../test/scripted-llm/index.ts';
import {
  type ChatMessage,
  createModelClient,
  type ModelConfig,
  ModelAbortedError,
  ModelAuthError,
  ModelConfigError,
  ModelRateLimitError,
  ModelRequestError,
  ModelServerError,
  ModelTimeoutError,
  ModelUnreachableError,
  preflight,
  roleMarker,
  toCostEntry,
} from './index.ts';

const KEY = 'sk-test-SECRET-0123456789abcdef';
let servers: ScriptedLlm[] = [];

async function start(...args: Parameters<typeof startScriptedLlm>): Promise<ScriptedLlm> {
  const s = await startScriptedLlm(...args);
  servers.push(s);
  return s;
}

function cfgFor(url: string, over: Partial<ModelConfig> = {}): ModelConfig {
  return {
    baseURL: url,
    apiKey: KEY,
    model: 'scripted-model',
    timeoutMs: 5_000,
    maxRetries: 2,
    priceInPer1k: 0,
    priceOutPer1k: 0,
    ...over,
  };
}

const messages: ChatMessage[] = [
  { role: 'system', content: `${roleMarker('coder')} You write code.` },
  { role: 'user', content: 'Add a function.' },
];

afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

describe('chat', () => {
  it('sends tools in the OpenAI shape and returns tool calls that can be fed back', async () => {
    const llm = await start(({ callIndex }) =>
      callIndex === 0
        ? { toolCalls: [{ name: 'read_file', arguments: { path: 'src/a.ts' } }] }
        : { content: 'done' },
    );
    const client = createModelClient(cfgFor(llm.url));
    const tools = [
      {
        name: 'read_file',
        description: 'Read a file',
        parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
      },
    ];
    const first = await client.chat({ role: 'coder', taskId: 't-abc123', messages, tools });

    expect(first.finishReason).toBe('tool_calls');
    expect(first.message.content).toBeNull();
    expect(first.message.tool_calls).toEqual([
      { id: 'call_0_0', type: 'function', function: { name: 'read_file', arguments: '{"path":"src/a.ts"}' } },
    ]);
    const sent = llm.calls[0]!;
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(sent.headers['x-codemesh-role']).toBe('coder');
    expect(sent.headers['x-codemesh-task-id']).toBe('t-abc123');
    expect(sent.roleHint).toBe('coder');
    expect(sent.body).toMatchObject({
      model: 'scripted-model',
      messages,
      tools: [{ type: 'function', function: tools[0] }],
    });
    expect(sent.body).not.toHaveProperty('response_format');

    const second = await client.chat({
      role: 'coder',
      taskId: 't-abc123',
      messages: [
        ...messages,
        first.message,
        { role: 'tool', tool_call_id: 'call_0_0', content: 'export const a = 1;' },
      ],
      tools,
    });
    expect(second.message).toEqual({ role: 'assistant', content: 'done' });
    expect(second.finishReason).toBe('stop');
    const history = (llm.calls[1]!.body as { messages: unknown[] }).messages;
    expect(history.slice(2)).toEqual([
      first.message,
      { role: 'tool', tool_call_id: 'call_0_0', content: 'export const a = 1;' },
    ]);
  });

  it('asks for a JSON object when responseFormat is json', async () => {
    const llm = await start(() => ({ content: '{"ok":true}' }));
    const client = createModelClient(cfgFor(llm.url));
    await client.chat({ role: 'planner', taskId: 't-abc123', messages, responseFormat: 'json' });
    expect(llm.calls[0]!.body).toMatchObject({ response_format: { type: 'json_object' } });
  });

  it('sends a call’s own temperature and model (a candidate’s variant), and neither when not set', async () => {
    const llm = await start(() => ({ content: 'ok' }));
    const client = createModelClient(cfgFor(llm.url));
    await client.chat({
      role: 'coder',
      taskId: 't-abc123',
      messages,
      temperature: 0.6,
      model: 'other-model',
    });
    await client.chat({ role: 'coder', taskId: 't-abc123', messages });
    expect(llm.calls[0]!.body).toMatchObject({ temperature: 0.6, model: 'other-model' });
    expect(llm.calls[1]!.body).toMatchObject({ model: 'scripted-model' });
    expect(llm.calls[1]!.body).not.toHaveProperty('temperature');
  });

  it('reports usage and prices it per 1k tokens, with injected id and clock', async () => {
    const llm = await start(() => ({
      content: 'hi',
      usage: { prompt_tokens: 1500, completion_tokens: 500 },
    }));
    let t = 1_000;
    const client = createModelClient(cfgFor(llm.url, { priceInPer1k: 0.002, priceOutPer1k: 0.01 }), {
      newCallId: () => 'llm-fixed',
      now: () => (t += 250),
    });
    const res = await client.chat({ role: 'coder', taskId: 't-abc123', messages });

    expect(res.usage).toEqual({ promptTokens: 1500, completionTokens: 500 });
    expect(res.costUsd).toBeCloseTo(0.003 + 0.005, 12);
    expect(res.callId).toBe('llm-fixed');
    expect(res.latencyMs).toBe(250);
    expect(res.model).toBe('scripted-model');
    expect(toCostEntry(res, 'coder', new Date('2030-01-01T00:00:00Z'))).toEqual({
      callId: 'llm-fixed',
      role: 'coder',
      model: 'scripted-model',
      promptTokens: 1500,
      completionTokens: 500,
      costUsd: res.costUsd,
      at: '2030-01-01T00:00:00.000Z',
    });
  });

  it('estimates usage when the server reports none', async () => {
    const llm = await start(() => ({ content: 'x'.repeat(40) }));
    const stripUsage: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const json = (await res.json()) as Record<string, unknown>;
      delete json.usage;
      return new Response(JSON.stringify(json), { status: res.status, headers: res.headers });
    };
    const client = createModelClient(cfgFor(llm.url, { priceInPer1k: 1, priceOutPer1k: 1 }), {
      fetch: stripUsage,
    });
    const res = await client.chat({ role: 'coder', taskId: 't-abc123', messages });
    const promptChars = messages.reduce((n, m) => n + (m.content?.length ?? 0), 0);
    expect(res.usage).toEqual({
      promptTokens: Math.ceil(promptChars / 4),
      completionTokens: 10,
      estimated: true,
    });
    expect(res.costUsd).toBeGreaterThan(0);
  });

  it('retries after a 500 and then succeeds', async () => {
    const llm = await start(({ callIndex }) =>
      callIndex === 0 ? { status: 500, content: 'boom' } : { content: 'recovered' },
    );
    const client = createModelClient(cfgFor(llm.url, { maxRetries: 2 }));
    const res = await client.chat({ role: 'coder', taskId: 't-abc123', messages });
    expect(res.message.content).toBe('recovered');
    expect(llm.calls.map((c) => c.callIndex)).toEqual([0, 1]);
  });

  it('gives up after maxRetries with a ModelServerError carrying the status', async () => {
    const llm = await start(() => ({
      status: 503,
      content: 'overloaded',
      headers: { 'retry-after-ms': '1' },
    }));
    const client = createModelClient(cfgFor(llm.url, { maxRetries: 1 }));
    const err = await client.chat({ role: 'coder', taskId: 't-abc123', messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelServerError);
    expect(err).toMatchObject({ code: 'MODEL_SERVER', status: 503 });
    expect((err as Error).message).toContain('overloaded');
    expect(llm.calls).toHaveLength(2);
  });

  it('maps a persistent 429 to ModelRateLimitError', async () => {
    const llm = await start(() => ({
      status: 429,
      content: 'slow down',
      headers: { 'retry-after-ms': '1' },
    }));
    const client = createModelClient(cfgFor(llm.url, { maxRetries: 2 }));
    await expect(client.chat({ role: 'coder', taskId: 't-abc123', messages })).rejects.toBeInstanceOf(
      ModelRateLimitError,
    );
    expect(llm.calls).toHaveLength(3);
  });

  it('does not retry a 400 and reports it as ModelRequestError', async () => {
    const llm = await start(() => ({ status: 400, content: 'model "nope" not found' }));
    const client = createModelClient(cfgFor(llm.url, { maxRetries: 2 }));
    const err = await client.chat({ role: 'coder', taskId: 't-abc123', messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelRequestError);
    expect((err as Error).message).toContain('model "nope" not found');
    expect(llm.calls).toHaveLength(1);
  });

  it('retries an attempt that times out', async () => {
    const llm = await start(({ callIndex }) =>
      callIndex === 0 ? { content: 'late', delayMs: 3_000 } : { content: 'on time' },
    );
    const client = createModelClient(cfgFor(llm.url, { timeoutMs: 200, maxRetries: 1 }));
    const res = await client.chat({ role: 'coder', taskId: 't-abc123', messages });
    expect(res.message.content).toBe('on time');
    expect(llm.calls).toHaveLength(2);
  });

  it('fails with ModelTimeoutError when every attempt times out', async () => {
    const llm = await start(() => ({ content: 'late', delayMs: 3_000 }));
    const client = createModelClient(cfgFor(llm.url, { timeoutMs: 150, maxRetries: 1 }));
    const started = Date.now();
    const err = await client.chat({ role: 'coder', taskId: 't-abc123', messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelTimeoutError);
    expect((err as Error).message).toContain('150 ms');
    expect(llm.calls).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it('rejects promptly when the signal aborts a pending request', async () => {
    const llm = await start(() => ({ content: 'never', delayMs: 10_000 }));
    const client = createModelClient(cfgFor(llm.url, { timeoutMs: 30_000 }));
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('agent stopped')), 100);
    const started = Date.now();
    const err = await client
      .chat({ role: 'coder', taskId: 't-abc123', messages, signal: ac.signal })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelAbortedError);
    expect(err).toMatchObject({ code: 'MODEL_ABORTED' });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(llm.calls).toHaveLength(1);
  });

  it('rejects promptly when the signal aborts while waiting to retry', async () => {
    // The server asks for a 5 s pause before the retry; the abort must not wait for it.
    const llm = await start(() => ({ status: 500, headers: { 'retry-after-ms': '5000' } }));
    const client = createModelClient(cfgFor(llm.url, { maxRetries: 2 }));
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const started = Date.now();
    await expect(
      client.chat({ role: 'coder', taskId: 't-abc123', messages, signal: ac.signal }),
    ).rejects.toBeInstanceOf(ModelAbortedError);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(llm.calls).toHaveLength(1);
  });

  it('rejects at once with an already aborted signal, sending nothing', async () => {
    const llm = await start(() => ({ content: 'x' }));
    const client = createModelClient(cfgFor(llm.url));
    const signal = AbortSignal.abort();
    await expect(client.chat({ role: 'coder', taskId: 't-abc123', messages, signal })).rejects.toBeInstanceOf(
      ModelAbortedError,
    );
    expect(llm.calls).toHaveLength(0);
  });

  it('maps a refused key to ModelAuthError without echoing the key', async () => {
    const llm = await start(() => ({ content: 'x' }), { requireApiKey: 'the-right-key' });
    const client = createModelClient(cfgFor(llm.url));
    const err = await client.chat({ role: 'planner', taskId: 't-abc123', messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelAuthError);
    expect(err).toMatchObject({ code: 'MODEL_AUTH' });
    expect((err as Error).message).toContain('CODEMESH_LLM_API_KEY');
    expect((err as Error).message).toContain('CODEMESH_PLANNER_LLM_API_KEY');
    expect((err as Error).message).toContain(llm.url);
    expect((err as Error).message).not.toContain(KEY);
    expect(llm.calls).toHaveLength(1);
  });

  it('maps a closed port to ModelUnreachableError', async () => {
    const llm = await start(() => ({ content: 'x' }));
    await llm.close();
    const client = createModelClient(cfgFor(llm.url, { maxRetries: 0 }));
    const err = await client.chat({ role: 'coder', taskId: 't-abc123', messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelUnreachableError);
    expect((err as Error).message).toContain('ECONNREFUSED');
    expect((err as Error).message).toContain('CODEMESH_LLM_BASE_URL');
    expect((err as Error).message).not.toContain(KEY);
  });

  it('keeps the key out of the client object and its results', async () => {
    const llm = await start(() => ({ content: 'fine' }));
    const client = createModelClient(cfgFor(llm.url));
    const res = await client.chat({ role: 'coder', taskId: 't-abc123', messages });
    expect(JSON.stringify(res)).not.toContain(KEY);
    expect(inspect(client, { depth: 10, showHidden: true })).not.toContain(KEY);
    expect(client.baseURL).toBe(llm.url);
  });

  it('refuses a base URL with credentials without echoing the password', () => {
    const withPassword = cfgFor('http://user:s3cret-pass@127.0.0.1:9/v1');
    const err = (() => {
      try {
        createModelClient(withPassword);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ModelConfigError);
    expect((err as Error).message).not.toContain('s3cret-pass');
  });
});

describe('preflight', () => {
  it('lists the models of a reachable server', async () => {
    const llm = await start(() => ({ content: 'x' }), { models: ['scripted-model', 'other'] });
    const res = await preflight(cfgFor(llm.url));
    expect(res.models).toEqual(['scripted-model', 'other']);
    expect(res.modelListed).toBe(true);
    expect(llm.calls[0]).toMatchObject({ method: 'GET', path: '/v1/models' });
    expect(llm.calls[0]!.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it('says when the configured model is not listed', async () => {
    const llm = await start(() => ({ content: 'x' }), { models: ['llama3'] });
    expect((await preflight(cfgFor(llm.url))).modelListed).toBe(false);
  });

  it('throws ModelUnreachableError naming the settings, never the key, for a closed port', async () => {
    const llm = await start(() => ({ content: 'x' }));
    await llm.close();
    const err = await preflight(cfgFor(llm.url)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelUnreachableError);
    expect(err).toMatchObject({ name: 'ModelUnreachableError', code: 'MODEL_UNREACHABLE' });
    const message = (err as Error).message;
    expect(message).toContain('CODEMESH_LLM_BASE_URL');
    expect(message).toContain('CODEMESH_LLM_API_KEY');
    expect(message).toContain('CODEMESH_LLM_MODEL');
    expect(message).toContain('http://127.0.0.1:11434/v1');
    expect(message).toContain(llm.url);
    expect(message).not.toContain(KEY);
  });

  it('throws ModelUnreachableError when the server does not answer in time', async () => {
    // Accepts connections and never answers.
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const started = Date.now();
      const err = await preflight(cfgFor(`http://127.0.0.1:${port}/v1`), undefined, { timeoutMs: 150 }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ModelUnreachableError);
      expect((err as Error).message).toContain('no answer within 150 ms');
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('throws ModelAuthError on 401 without echoing the key', async () => {
    const llm = await start(() => ({ content: 'x' }), { requireApiKey: 'another-key' });
    const err = await preflight(cfgFor(llm.url)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelAuthError);
    expect(err).toMatchObject({ code: 'MODEL_AUTH' });
    expect((err as Error).message).not.toContain(KEY);
  });

  it('is aborted by the caller signal', async () => {
    const llm = await start(() => ({ content: 'x' }));
    await expect(preflight(cfgFor(llm.url), AbortSignal.abort())).rejects.toBeInstanceOf(ModelAbortedError);
  });
});
