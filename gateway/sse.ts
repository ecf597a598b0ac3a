// One SSE response that holds a per-token stream slot for as long as it is open, aborts its producer when the
// client goes away, and logs only real failures (not a client leaving or NATS draining at shutdown).
import type { SSEStreamingApi } from 'hono/streaming';
import { streamSSE } from 'hono/streaming';
import type { Ctx, Gateway } from './context.ts';
import type { Principal } from './types.ts';

const isShutdownError = (err: unknown) => /drain|closed|abort/i.test(String(err));

/**
 * @example return sseWithSlot(c, gw, p, 'board', async (stream, signal) => { for await (...) await stream.writeSSE(...) });
 */
export function sseWithSlot(
  c: Ctx,
  gw: Gateway,
  p: Principal,
  label: string,
  produce: (stream: SSEStreamingApi, signal: AbortSignal) => Promise<void>,
): Response | Promise<Response> {
  // Throws 429 when the token, or its user with all its tokens, already holds its maximum of streams.
  const releaseToken = gw.slots.acquire(p.tokenKey);
  let releaseUser: () => void;
  try {
    releaseUser = gw.userSlots.acquire(p.userId);
  } catch (err) {
    releaseToken();
    throw err;
  }
  const release = () => {
    releaseToken();
    releaseUser();
  };
  try {
    return streamSSE(
      c,
      async (stream) => {
        const ac = new AbortController();
        stream.onAbort(() => {
          ac.abort();
          release();
        });
        try {
          await produce(stream, ac.signal);
        } finally {
          ac.abort();
          release();
        }
      },
      async (err) => {
        if (!isShutdownError(err)) gw.opts.log?.(`sse ${label}: ${String(err)}`);
      },
    );
  } catch (err) {
    release();
    throw err;
  }
}
