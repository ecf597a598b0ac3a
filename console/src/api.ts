// The gateway's API as the console uses it: a bearer token kept in sessionStorage, JSON calls with the
// gateway's error shape, and SSE read through fetch (EventSource cannot send an Authorization header).
import { createSseParser, type SseMessage } from './lib/sse.ts';

const TOKEN_KEY = 'codemesh.token';

export const getToken = (): string => sessionStorage.getItem(TOKEN_KEY) ?? '';
export const setToken = (t: string): void => sessionStorage.setItem(TOKEN_KEY, t.trim());
export const clearToken = (): void => sessionStorage.removeItem(TOKEN_KEY);

export class ApiCallError extends Error {
  override readonly name = 'ApiCallError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const headers = (extra: Record<string, string> = {}) => ({
  authorization: `Bearer ${getToken()}`,
  ...extra,
});

async function failure(res: Response): Promise<ApiCallError> {
  const body = (await res.json().catch(() => undefined)) as
    | { error?: { code?: string; message?: string } }
    | undefined;
  return new ApiCallError(
    res.status,
    body?.error?.code ?? `HTTP_${res.status}`,
    body?.error?.message ?? res.statusText,
  );
}

export async function api<T>(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

export interface FollowOptions {
  signal: AbortSignal;
  onMessage(m: SseMessage): void;
  /** Connection state changes, for the UI. */
  onState?(s: 'open' | 'retrying' | 'closed', error?: ApiCallError | Error): void;
  /** Stop reconnecting after this message (a task's terminal event). */
  isLast?(m: SseMessage): boolean;
  /** Send `Last-Event-ID` on reconnects so the server resumes after the last event seen. */
  resume?: boolean;
}

/**
 * Follows an SSE endpoint until `signal` aborts: reconnects after a drop (with the server's `retry:` delay,
 * else backing off to 15 s), resuming from the last event id when `resume` is set. A 401 or 403 ends it.
 */
export async function followSse(path: string, o: FollowOptions): Promise<void> {
  let lastId: string | undefined;
  let delay = 1000;
  // The server's `retry:` holds for later connections too (as in EventSource).
  let retryMs: number | undefined;
  while (!o.signal.aborted) {
    const parser = createSseParser();
    try {
      const res = await fetch(path, {
        headers: headers({
          accept: 'text/event-stream',
          ...(o.resume && lastId !== undefined ? { 'last-event-id': lastId } : {}),
        }),
        signal: o.signal,
        cache: 'no-store',
      });
      if (!res.ok || !res.body) {
        const err = await failure(res);
        if (res.status === 401 || res.status === 403 || res.status === 404) {
          o.onState?.('closed', err);
          return;
        }
        throw err;
      }
      o.onState?.('open');
      delay = 1000;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        for (const m of parser.feed(value)) {
          if (m.id !== undefined) lastId = m.id;
          o.onMessage(m);
          if (o.isLast?.(m)) {
            await reader.cancel();
            o.onState?.('closed');
            return;
          }
        }
      }
      o.onState?.('retrying');
    } catch (err) {
      if (o.signal.aborted) break;
      o.onState?.('retrying', err as Error);
    }
    retryMs = parser.retryMs ?? retryMs;
    await sleep(retryMs ?? delay, o.signal);
    delay = Math.min(delay * 2, 15_000);
  }
  o.onState?.('closed');
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
