// The gateway's REST API over NATS (`cm.api.request`, queue group `gateway`): a request carries the method, the
// path, the caller's token and the body; it goes through the same Hono app — authentication, scopes, roles,
// rate limits, audit — as an HTTP request, and the reply is its status and JSON body. The chat bridges use it,
// so they speak only NATS. Event streams (SSE) stay on HTTP.
import type { NatsConnection } from '@nats-io/transport-node';
import { NatsApiRequest, type NatsApiReply, subjects } from '../schemas/index.ts';

export const NATS_API_QUEUE = 'gateway';

/** Leaves room under nats-server's default 1 MiB payload for the reply's framing. */
const MAX_REPLY_BYTES = 900 * 1024;

/**
 * Answers `cm.api.request` with `app` until closed.
 *
 * @example const api = serveApiOverNats(mesh.nc, app); ... await api.close();
 */
export function serveApiOverNats(
  nc: NatsConnection,
  app: { fetch: (req: Request) => Response | Promise<Response> },
  log?: (line: string) => void,
): { close(): Promise<void> } {
  const answer = async (raw: unknown): Promise<NatsApiReply> => {
    const req = NatsApiRequest.safeParse(raw);
    if (!req.success)
      return {
        status: 400,
        json: {
          error: {
            code: 'INVALID_REQUEST',
            message: `not an API request ({method, path, token, body}): ${req.error.issues[0]?.message ?? 'invalid'}`,
          },
        },
      };
    const { method, path, token, body } = req.data;
    const res = await app.fetch(
      new Request(`http://nats.invalid${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined || method === 'GET' ? {} : { body: JSON.stringify(body) }),
      }),
    );
    // Event streams stay on HTTP: whatever path reached one, it is closed at once, not read forever.
    if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
      await res.body?.cancel().catch(() => undefined);
      return {
        status: 400,
        json: {
          error: { code: 'INVALID_REQUEST', message: 'event streams are served over HTTP only' },
        },
      };
    }
    const text = await res.text();
    if (Buffer.byteLength(text) > MAX_REPLY_BYTES)
      return {
        status: 413,
        json: {
          error: { code: 'REPLY_TOO_LARGE', message: 'the answer is too large for NATS: use the HTTP API' },
        },
      };
    let json: Record<string, unknown> = {};
    try {
      const v = JSON.parse(text) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) json = v as Record<string, unknown>;
    } catch {
      // Not JSON (an HTML page): the status says what happened.
    }
    return { status: res.status, json };
  };

  const sub = nc.subscribe(subjects.api(), {
    queue: NATS_API_QUEUE,
    callback: (err, msg) => {
      if (err) {
        log?.(`api over nats: ${err.message}`);
        return;
      }
      void (async () => {
        let raw: unknown;
        try {
          raw = msg.json();
        } catch {
          raw = undefined;
        }
        const reply = await answer(raw).catch(
          (e: unknown): NatsApiReply => ({
            status: 500,
            json: { error: { code: 'INTERNAL', message: (e as Error).name } },
          }),
        );
        // Never the request (it holds the token) in a log line.
        msg.respond(JSON.stringify(reply));
      })();
    },
  });
  return {
    async close() {
      sub.unsubscribe();
    },
  };
}
