// A chat test double on loopback, speaking the shapes the bridges call: a Slack incoming webhook
// (`POST /slack/webhook`, JSON `{text, blocks}`), the Matrix client-server API (`PUT
// /_matrix/client/v3/rooms/{roomId}/send/m.room.message/{txnId}` with a bearer token, idempotent per txnId as a
// homeserver is; `GET /_matrix/client/v3/sync` long-polled, with messages the test says in the room), and a
// generic webhook (`POST /webhook`). It records every request.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  json: Record<string, unknown>;
}

export interface ChatDouble {
  url: string;
  slack: Recorded[];
  webhook: Recorded[];
  /** Matrix messages the bridge sent, once per txnId (the room's content). */
  matrix: Array<{ txnId: string; roomId: string; content: Record<string, unknown> }>;
  /** Every Matrix send request, repeats included. */
  matrixSends: number;
  /** The next `n` Slack webhook posts answer 500. */
  failSlack(n: number): void;
  /** The next `n` generic webhook posts answer 500. */
  failWebhook(n: number): void;
  /** A message in the Matrix room, returned by the next /sync. */
  matrixSay(sender: string, body: string): string;
  close(): Promise<void>;
}

export async function startChatDouble(opts: { matrixToken: string }): Promise<ChatDouble> {
  const slack: Recorded[] = [];
  const webhook: Recorded[] = [];
  const matrix: ChatDouble['matrix'] = [];
  const txns = new Set<string>();
  let matrixSends = 0;
  let slackFailures = 0;
  let webhookFailures = 0;
  let batch = 0;
  let nextEvent = 0;
  const timeline: Array<{ batch: number; event: Record<string, unknown> }> = [];
  const waiters = new Set<() => void>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://x');
      const rec = (): Recorded => ({
        method: req.method ?? '',
        path: url.pathname,
        headers: req.headers,
        body,
        json: body ? (JSON.parse(body) as Record<string, unknown>) : {},
      });
      const send = (status: number, b: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(b));
      };
      if (req.method === 'POST' && url.pathname === '/slack/webhook') {
        if (slackFailures > 0) {
          slackFailures--;
          return send(500, { error: 'internal' });
        }
        slack.push(rec());
        res.writeHead(200, { 'content-type': 'text/plain' });
        return res.end('ok');
      }
      if (req.method === 'POST' && url.pathname === '/webhook') {
        if (webhookFailures > 0) {
          webhookFailures--;
          return send(500, { error: 'internal' });
        }
        webhook.push(rec());
        return send(200, { ok: true });
      }
      if (url.pathname.startsWith('/_matrix/')) {
        if (req.headers.authorization !== `Bearer ${opts.matrixToken}`)
          return send(401, { errcode: 'M_UNKNOWN_TOKEN', error: 'bad token' });
        const m = /^\/_matrix\/client\/v3\/rooms\/([^/]+)\/send\/m\.room\.message\/([^/]+)$/.exec(
          url.pathname,
        );
        if (req.method === 'PUT' && m) {
          matrixSends++;
          const txnId = decodeURIComponent(m[2]!);
          if (!txns.has(txnId)) {
            txns.add(txnId);
            matrix.push({ txnId, roomId: decodeURIComponent(m[1]!), content: rec().json });
          }
          return send(200, { event_id: `$sent-${txnId}` });
        }
        if (req.method === 'GET' && url.pathname === '/_matrix/client/v3/sync') {
          const since = Number(url.searchParams.get('since') ?? -1);
          const filter = JSON.parse(url.searchParams.get('filter') ?? '{}') as {
            room?: { rooms?: string[] };
          };
          const answer = () => {
            const events = timeline.filter((t) => t.batch > since).map((t) => t.event);
            const rooms: Record<string, unknown> = {};
            for (const roomId of filter.room?.rooms ?? []) rooms[roomId] = { timeline: { events } };
            send(200, { next_batch: String(batch), rooms: { join: events.length ? rooms : {} } });
          };
          const timeout = Number(url.searchParams.get('timeout') ?? 0);
          if (since < 0 || timeline.some((t) => t.batch > since) || timeout === 0) return answer();
          const wake = () => {
            waiters.delete(wake);
            clearTimeout(timer);
            answer();
          };
          const timer = setTimeout(wake, Math.min(timeout, 2000));
          waiters.add(wake);
          return;
        }
      }
      send(404, { error: 'no such endpoint' });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    slack,
    webhook,
    matrix,
    get matrixSends() {
      return matrixSends;
    },
    failSlack(n) {
      slackFailures = n;
    },
    failWebhook(n) {
      webhookFailures = n;
    },
    matrixSay(sender, body) {
      batch++;
      const eventId = `$ev${++nextEvent}`;
      timeline.push({
        batch,
        event: { type: 'm.room.message', event_id: eventId, sender, content: { msgtype: 'm.text', body } },
      });
      for (const w of [...waiters]) w();
      return eventId;
    },
    async close() {
      for (const w of [...waiters]) w();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
