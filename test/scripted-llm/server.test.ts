// The scripted server speaks the OpenAI wire format, scripts by role, and fails loudly when a script runs out.
import { afterEach, describe, expect, it } from 'vitest';
import { roleMarker } from '../../actors/llm/index.ts';
import { byRole, type ScriptedLlm, startScriptedLlm } from './index.ts';

let servers: ScriptedLlm[] = [];
async function start(...args: Parameters<typeof startScriptedLlm>): Promise<ScriptedLlm> {
  const s = await startScriptedLlm(...args);
  servers.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

const post = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

const chatAs = (role: string, text = 'hello') => ({
  model: 'm1',
  messages: [
    { role: 'system', content: `${roleMarker(role)} You are the ${role}.` },
    { role: 'user', content: text },
  ],
});

describe('startScriptedLlm', () => {
  it('binds to 127.0.0.1 on a free port', async () => {
    const llm = await start(() => ({ content: 'x' }));
    expect(llm.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    expect(llm.url).not.toMatch(/:0\/v1$/);
  });

  it('answers with the exact chat.completion shape', async () => {
    const llm = await start(() => ({
      content: 'thinking',
      toolCalls: [{ name: 'write_file', arguments: { path: 'a.ts', text: 'x' } }],
      usage: { prompt_tokens: 11, completion_tokens: 7 },
    }));
    const res = await post(`${llm.url}/chat/completions`, chatAs('coder'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const json = await res.json();
    expect(json).toEqual({
      id: 'chatcmpl-scripted-0',
      object: 'chat.completion',
      created: expect.any(Number),
      model: 'm1',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'thinking',
            refusal: null,
            tool_calls: [
              {
                id: 'call_0_0',
                type: 'function',
                function: { name: 'write_file', arguments: '{"path":"a.ts","text":"x"}' },
              },
            ],
          },
          logprobs: null,
          finish_reason: 'tool_calls',
        },
      ],
      usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
    });
    expect(llm.calls).toHaveLength(1);
    expect(llm.calls[0]).toMatchObject({
      method: 'POST',
      path: '/v1/chat/completions',
      callIndex: 0,
      roleHint: 'coder',
    });
    expect(llm.calls[0]!.body).toEqual(chatAs('coder'));
  });

  it('computes default usage from message lengths and omits tool_calls when there are none', async () => {
    const llm = await start(() => ({ content: '12345678' }));
    const body = chatAs('planner');
    const json = (await (await post(`${llm.url}/chat/completions`, body)).json()) as {
      choices: { message: Record<string, unknown>; finish_reason: string }[];
      usage: { prompt_tokens: number; completion_tokens: number };
    };
    expect(json.choices[0]!.message).not.toHaveProperty('tool_calls');
    expect(json.choices[0]!.finish_reason).toBe('stop');
    expect(json.usage.completion_tokens).toBe(2);
    expect(json.usage.prompt_tokens).toBe(Math.ceil(JSON.stringify(body.messages).length / 4));
  });

  it('refuses streaming, bad JSON and unknown routes', async () => {
    const llm = await start(() => ({ content: 'x' }));
    const streamed = await post(`${llm.url}/chat/completions`, { ...chatAs('coder'), stream: true });
    expect(streamed.status).toBe(400);
    expect(((await streamed.json()) as { error: { message: string } }).error.message).toMatch(
      /does not stream/,
    );
    const badJson = await fetch(`${llm.url}/chat/completions`, { method: 'POST', body: '{nope' });
    expect(badJson.status).toBe(400);
    expect((await fetch(`${llm.url}/completions`, { method: 'POST', body: '{}' })).status).toBe(404);
  });

  it('serves /v1/models and enforces the API key when asked', async () => {
    const llm = await start(() => ({ content: 'x' }), { requireApiKey: 'k-1234', models: ['a', 'b'] });
    expect((await fetch(`${llm.url}/models`)).status).toBe(401);
    const ok = await fetch(`${llm.url}/models`, { headers: { authorization: 'Bearer k-1234' } });
    expect(ok.status).toBe(200);
    const json = (await ok.json()) as { object: string; data: { id: string; object: string }[] };
    expect(json.object).toBe('list');
    expect(json.data.map((m) => m.id)).toEqual(['a', 'b']);
  });

  it('answers a scripted status with an OpenAI error body', async () => {
    const llm = await start(() => ({
      status: 503,
      content: 'overloaded',
      headers: { 'retry-after-ms': '7' },
    }));
    const res = await post(`${llm.url}/chat/completions`, chatAs('coder'));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after-ms')).toBe('7');
    expect(await res.json()).toEqual({
      error: { message: 'overloaded', type: 'server_error', param: null, code: null },
    });
  });

  it('delays a reply by delayMs', async () => {
    const llm = await start(() => ({ content: 'late', delayMs: 300 }));
    const started = Date.now();
    const res = await post(`${llm.url}/chat/completions`, chatAs('coder'));
    expect(
      ((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content,
    ).toBe('late');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('close() ends requests still waiting for a delayed reply at once', async () => {
    const llm = await start(() => ({ content: 'never', delayMs: 60_000 }));
    const pending = post(`${llm.url}/chat/completions`, chatAs('coder')).catch((e: unknown) => e);
    while (llm.calls.length === 0) await new Promise((r) => setTimeout(r, 10));
    const closing = Date.now();
    await llm.close();
    expect(await pending).toBeInstanceOf(Error);
    expect(Date.now() - closing).toBeLessThan(1_000);
  });

  it('serves deterministic unit embeddings', async () => {
    const llm = await start(() => ({ content: 'x' }), { embeddingDims: 16 });
    const embed = async (input: unknown) =>
      (await (await post(`${llm.url}/embeddings`, { model: 'e', input })).json()) as {
        data: { index: number; embedding: number[] }[];
      };
    const a = await embed(['alpha', 'beta', 'alpha']);
    expect(a.data.map((d) => d.index)).toEqual([0, 1, 2]);
    expect(a.data[0]!.embedding).toHaveLength(16);
    expect(a.data[0]!.embedding).toEqual(a.data[2]!.embedding);
    expect(a.data[0]!.embedding).not.toEqual(a.data[1]!.embedding);
    expect(Math.hypot(...a.data[1]!.embedding)).toBeCloseTo(1, 9);
    expect((await embed('alpha')).data[0]!.embedding).toEqual(a.data[0]!.embedding);
  });
});

describe('byRole', () => {
  it('answers each role from its own sequence, by the marker in the system message', async () => {
    const llm = await start(
      byRole({
        planner: [{ content: 'plan-1' }, { content: 'plan-2' }],
        coder: [{ content: 'code-1' }],
        reviewer: (req) => ({ content: `review at call ${req.callIndex}` }),
      }),
    );
    const ask = async (role: string) =>
      (
        (await (await post(`${llm.url}/chat/completions`, chatAs(role))).json()) as {
          choices: { message: { content: string } }[];
        }
      ).choices[0]!.message.content;
    expect(await ask('planner')).toBe('plan-1');
    expect(await ask('coder')).toBe('code-1');
    expect(await ask('planner')).toBe('plan-2');
    expect(await ask('reviewer')).toBe('review at call 3');
    expect(llm.errors).toEqual([]);
  });

  it('fails loudly, naming the role, when its replies run out or it has no script', async () => {
    const llm = await start(byRole({ planner: [{ content: 'only one' }] }));
    await post(`${llm.url}/chat/completions`, chatAs('planner'));
    const exhausted = await post(`${llm.url}/chat/completions`, chatAs('planner'));
    expect(exhausted.status).toBe(500);
    expect(exhausted.headers.get('x-should-retry')).toBe('false');
    expect(((await exhausted.json()) as { error: { message: string } }).error.message).toMatch(
      /role "planner" has no scripted replies left \(it had 1/,
    );
    const unknown = await post(`${llm.url}/chat/completions`, chatAs('integrator'));
    expect(unknown.status).toBe(500);
    const noMarker = await post(`${llm.url}/chat/completions`, {
      messages: [{ role: 'system', content: 'no marker here' }],
    });
    expect(noMarker.status).toBe(500);
    expect(llm.errors).toHaveLength(3);
    expect(llm.errors[1]).toContain('no script for role "integrator"');
    expect(llm.errors[2]).toContain('no [codemesh:role=...] marker');
  });

  it('falls back to the x-codemesh-role header', async () => {
    const llm = await start(byRole({ coder: [{ content: 'by header' }] }));
    const res = await fetch(`${llm.url}/chat/completions`, {
      method: 'POST',
      headers: { 'x-codemesh-role': 'coder' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(200);
    expect(llm.calls[0]!.roleHint).toBe('coder');
  });
});
