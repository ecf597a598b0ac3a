// Where updates go: a Slack incoming webhook, a Matrix room (client-server API), or a generic JSON webhook.
// A post that fails throws PostError (status only: URLs and tokens can be secrets and are never in the message).
import { createHmac } from 'node:crypto';
import type { BridgeSettings } from './settings.ts';
import type { Update } from './updates.ts';

export interface Sink {
  /** Posts one update; resolves once the chat service accepted it. Idempotent where the service allows. */
  post(u: Update): Promise<void>;
}

export class PostError extends Error {
  override name = 'PostError';
  constructor(
    readonly what: string,
    readonly status: number,
  ) {
    super(`${what}: HTTP ${status}`);
  }
}

const TIMEOUT_MS = 10_000;

async function send(what: string, url: string, init: RequestInit): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    // Node's fetch error names the cause (ECONNREFUSED, timeout), not the URL.
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    throw new Error(`${what}: not reachable (${cause})`);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new PostError(what, res.status);
  }
  return res;
}

/** Slack mrkdwn: `&`, `<`, `>` are the control characters. */
export const slackEscape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const htmlEscape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The Slack message of an update: `text` (notifications, fallback) and one section block with the link. */
export function slackMessage(u: Update): { text: string; blocks: unknown[] } {
  const text = slackEscape(u.text);
  const link = u.link ? ` <${u.link.url}|${slackEscape(u.link.label)}>` : '';
  return {
    text: `${text}${u.link ? ` ${u.link.url}` : ''}`,
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `${text}${link}` } }],
  };
}

/** The Matrix `m.room.message` content of a text (with an optional link), plain and HTML. */
export function matrixMessage(text: string, link?: Update['link']) {
  return {
    msgtype: 'm.text',
    body: link ? `${text} ${link.url}` : text,
    format: 'org.matrix.custom.html',
    formatted_body: `${htmlEscape(text)}${link ? ` <a href="${htmlEscape(link.url)}">${htmlEscape(link.label)}</a>` : ''}`,
  };
}

/** Signature of a generic webhook's body: `sha256=<hex HMAC-SHA256(secret, body)>` (as GitHub signs). */
export const webhookSignature = (secret: string, body: string) =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

/** A Matrix room through the client-server API: `PUT …/send/m.room.message/{txnId}` (a repeat is one message). */
export class MatrixRoom {
  constructor(private readonly m: NonNullable<BridgeSettings['matrix']>) {}

  async send(txnId: string, content: Record<string, unknown>): Promise<void> {
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(this.m.roomId)}/send/m.room.message/${encodeURIComponent(txnId)}`;
    await send('matrix send', `${this.m.homeserver}${path}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${this.m.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(content),
    });
  }
}

export function createSink(s: BridgeSettings): Sink {
  if (s.slack) {
    const { webhookUrl } = s.slack;
    return {
      async post(u) {
        // Slack's incoming webhooks take no idempotency key: a repeat after a lost answer posts twice.
        await send('slack webhook', webhookUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(slackMessage(u)),
        });
      },
    };
  }
  if (s.matrix) {
    const room = new MatrixRoom(s.matrix);
    return { post: (u) => room.send(u.id, matrixMessage(u.text, u.link)) };
  }
  if (s.webhook) {
    const { url, secret } = s.webhook;
    return {
      async post(u) {
        const body = JSON.stringify(u);
        await send('webhook', url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'idempotency-key': u.id,
            ...(secret ? { 'x-codemesh-signature-256': webhookSignature(secret, body) } : {}),
          },
          body,
        });
      },
    };
  }
  throw new Error(`bridge ${s.kind}: no target configured`);
}
