// followSse against a scripted fetch: bearer header, reconnect with Last-Event-ID, stop on the last event,
// give up on 401. Runs in node (fetch, streams and Response are web-standard there).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { followSse } from './api.ts';
import type { SseMessage } from './lib/sse.ts';

const store = new Map<string, string>([['codemesh.token', 'cmp_test_token']]);

function sse(chunks: string[]): Response {
  const enc = new TextEncoder();
  return new Response(
    new ReadableStream<Uint8Array>({
      start(c) {
        for (const ch of chunks) c.enqueue(enc.encode(ch));
        c.close();
      },
    }),
    { status: 200, headers: { 'content-type': 'text/event-stream' } },
  );
}

let calls: Array<{ url: string; headers: Record<string, string> }>;
beforeEach(() => {
  calls = [];
  vi.stubGlobal('sessionStorage', {
    getItem: (k: string) => store.get(k) ?? null,
    setItem: (k: string, v: string) => store.set(k, v),
    removeItem: (k: string) => store.delete(k),
  });
});
afterEach(() => vi.unstubAllGlobals());

function scriptFetch(responses: Array<() => Response>) {
  vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
    calls.push({ url, headers: init.headers as Record<string, string> });
    const next = responses.shift();
    if (!next) throw new Error('no more scripted responses');
    return next();
  });
}

describe('followSse', () => {
  it('reconnects after a drop, resuming after the last id, and stops after the last event', async () => {
    scriptFetch([
      // The first connection drops in the middle of an event: only the complete one counts.
      () => sse(['retry: 5\n\nid: 1\nevent: task.created\ndata: {"n":1}\n\n', 'id: 2\nevent: plan.re']),
      () => sse(['id: 2\nevent: plan.ready\ndata: {"n":2}\n\nid: 3\nevent: task.completed\ndata: {}\n\n']),
    ]);
    const got: SseMessage[] = [];
    const states: string[] = [];
    await followSse('http://gw.test/v1/tasks/t-abc123/events', {
      signal: new AbortController().signal,
      resume: true,
      onMessage: (m) => got.push(m),
      onState: (s) => states.push(s),
      isLast: (m) => m.event === 'task.completed',
    });
    expect(got.map((m) => [m.id, m.event])).toEqual([
      ['1', 'task.created'],
      ['2', 'plan.ready'],
      ['3', 'task.completed'],
    ]);
    expect(calls).toHaveLength(2);
    expect(calls[0]!.headers).toMatchObject({
      authorization: 'Bearer cmp_test_token',
      accept: 'text/event-stream',
    });
    expect(calls[0]!.headers['last-event-id']).toBeUndefined();
    expect(calls[1]!.headers['last-event-id']).toBe('1');
    expect(states).toEqual(['open', 'retrying', 'open', 'closed']);
  });

  it('does not send Last-Event-ID without resume (the board feed starts over from current values)', async () => {
    const ac = new AbortController();
    scriptFetch([
      () => sse(['retry: 1\n\nid: 9\ndata: {}\n\n']),
      () => {
        ac.abort();
        return sse([]);
      },
    ]);
    await followSse('http://gw.test/v1/board/events', { signal: ac.signal, onMessage: () => undefined });
    expect(calls).toHaveLength(2);
    expect(calls[1]!.headers['last-event-id']).toBeUndefined();
  });

  it('gives up on 401 with the gateway error', async () => {
    scriptFetch([
      () =>
        new Response(
          JSON.stringify({ error: { code: 'UNAUTHORIZED', message: 'the bearer token is not valid' } }),
          {
            status: 401,
            headers: { 'content-type': 'application/json' },
          },
        ),
    ]);
    const states: Array<[string, unknown]> = [];
    await followSse('http://gw.test/v1/board/events', {
      signal: new AbortController().signal,
      onMessage: () => undefined,
      onState: (s, err) =>
        states.push([s, err && { status: (err as { status?: number }).status, message: err.message }]),
    });
    expect(calls).toHaveLength(1);
    expect(states).toEqual([['closed', { status: 401, message: 'the bearer token is not valid' }]]);
  });
});
