// A chat bridge: a process of its own. Updates: a durable consumer of the task events on NATS posts the
// events UPDATES names to the chat (acked only after the chat service accepted the post; failures redelivered
// with backoff, bounded, then dead-lettered; a redelivered event already posted is not posted again).
// Commands: Slack slash commands on an HTTP endpoint (signature checked first), Matrix room messages
// (`!codemesh …`, read by long-polling /sync); each is carried out through the gateway's HTTP API as the
// mapped codemesh user, so the roles, scopes and audit are the API's own.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  consumeEvents,
  DEFAULT_REDELIVERY,
  type MeshConnection,
  type RedeliveryPolicy,
} from '../blackboard/index.ts';
import {
  BridgeCursor,
  bridgeConsumer,
  CampaignRecord,
  keys,
  type TaskEvent,
  TaskRecord,
} from '../schemas/index.ts';
import {
  type ApiClient,
  type CommandResult,
  GatewayClient,
  NatsGatewayClient,
  parseCommand,
  runCommand,
} from './commands.ts';
import type { BridgeSettings, MappedUser } from './settings.ts';
import { createSink, MatrixRoom, matrixMessage, type Sink } from './sinks.ts';
import { verifySlackRequest } from './slack-signature.ts';
import { DEFAULT_UPDATE_TYPES, UPDATES, updateFor } from './updates.ts';

export interface BridgeOptions {
  redelivery?: RedeliveryPolicy;
  log?: (line: string) => void;
  now?: () => number;
  /** Replaces the chat target (tests). */
  sink?: Sink;
}

export interface Bridge {
  /** The commands endpoint (`POST /slack/commands`, `GET /healthz`). */
  url: string;
  consumer: string;
  /** One event, as the consumer hands it over (exposed for tests): posted, not posted, or already posted. */
  handle(event: TaskEvent): Promise<'posted' | 'skipped' | 'duplicate'>;
  stop(): Promise<void>;
}

/** Remembers the last `size` ids (posted events, handled chat messages). */
class Recent {
  private readonly ids = new Set<string>();
  constructor(private readonly size: number) {}
  has(id: string) {
    return this.ids.has(id);
  }
  add(id: string) {
    this.ids.add(id);
    if (this.ids.size > this.size) this.ids.delete(this.ids.values().next().value as string);
  }
}

const MAX_BODY = 64 * 1024;

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > MAX_BODY) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const error = (res: ServerResponse, status: number, code: string, message: string) =>
  json(res, status, { error: { code, message } });

export async function startBridge(
  mesh: MeshConnection,
  s: BridgeSettings,
  opts: BridgeOptions = {},
): Promise<Bridge> {
  const log = (l: string) => opts.log?.(`bridge ${s.kind}: ${l}`);
  const now = opts.now ?? Date.now;
  const sink = opts.sink ?? createSink(s);
  const gateway: ApiClient = s.gatewayUrl ? new GatewayClient(s.gatewayUrl) : new NatsGatewayClient(mesh.nc);
  const types = s.events ?? DEFAULT_UPDATE_TYPES;
  const posted = new Recent(10_000);
  const handledMessages = new Recent(10_000);
  const name = bridgeConsumer(s.kind, s.name);
  const userOf = (chatId: string): MappedUser | undefined => s.users[chatId];

  async function titleOf(taskId: string): Promise<string | undefined> {
    try {
      return (await mesh.board.get(keys.task(taskId), TaskRecord))?.value.request.title;
    } catch {
      return undefined;
    }
  }

  /** The org of a task, or of a campaign (its events carry the campaign id as `taskId`). */
  async function orgOf(id: string): Promise<string | undefined> {
    const task = await mesh.board.get(keys.task(id), TaskRecord).catch(() => undefined);
    if (task) return task.value.orgId;
    return (await mesh.board.get(keys.campaign(id), CampaignRecord).catch(() => undefined))?.value.orgId;
  }

  async function handle(event: TaskEvent): Promise<'posted' | 'skipped' | 'duplicate'> {
    if (!UPDATES[event.type] || !types.includes(event.type)) return 'skipped';
    // A room is one tenant's: another org's task titles and links are not posted there.
    if (s.orgs && !s.orgs.includes((await orgOf(event.taskId)) ?? '')) return 'skipped';
    if (posted.has(event.id)) return 'duplicate';
    const u = updateFor(event, { title: await titleOf(event.taskId), linkUrl: s.linkUrl }, types);
    if (!u) return 'skipped';
    await sink.post(u);
    posted.add(event.id);
    return 'posted';
  }

  const consumer = await consumeEvents(
    mesh.js,
    mesh.jsm,
    name,
    async (event, d) => {
      try {
        const r = await handle(event);
        if (r === 'posted') log(`posted ${event.type} of ${event.taskId}`);
        d.ack();
      } catch (err) {
        log(
          `${event.type} of ${event.taskId} not posted: ${err instanceof Error ? err.message : String(err)}`,
        );
        await d.fail(err);
      }
    },
    log,
    { policy: opts.redelivery ?? DEFAULT_REDELIVERY, nc: mesh.nc, deliver: 'new' },
  );

  async function command(chatUser: string, text: string): Promise<CommandResult> {
    const parsed = parseCommand(text);
    if (typeof parsed === 'string') return { ok: false, text: parsed };
    const user = userOf(chatUser);
    let r: CommandResult;
    try {
      r = await runCommand(gateway, user, parsed);
    } catch (err) {
      r = { ok: false, text: `the gateway is not reachable (${(err as Error).name})` };
    }
    // The log names who asked what and the outcome; never a token.
    log(
      `command ${parsed.verb} from ${chatUser}${user ? ` (${user.user})` : ' (not mapped)'}: ${r.ok ? 'done' : `refused${r.status ? ` ${r.status}` : ''}`}`,
    );
    return r;
  }

  async function slackCommand(req: IncomingMessage, res: ServerResponse) {
    if (!s.slack) return error(res, 404, 'NOT_FOUND', 'this bridge takes no Slack commands');
    const body = await readBody(req);
    if (body === undefined) return error(res, 413, 'TOO_LARGE', 'the request body is too large');
    const header = (h: string) => {
      const v = req.headers[h];
      return Array.isArray(v) ? v[0] : v;
    };
    const verdict = verifySlackRequest(
      s.slack.signingSecret,
      { signature: header('x-slack-signature'), timestamp: header('x-slack-request-timestamp') },
      body,
      now(),
    );
    if (!verdict.ok) {
      log(`slack command refused: ${verdict.reason}`);
      return error(res, 401, 'BAD_SIGNATURE', verdict.reason);
    }
    const form = new URLSearchParams(body);
    const userId = form.get('user_id');
    if (!userId) return error(res, 400, 'INVALID_REQUEST', 'user_id is missing');
    const r = await command(`slack:${userId}`, form.get('text') ?? '');
    // Decisions are shown to the channel; refusals and answers only to the one who asked.
    return json(res, 200, {
      response_type: r.ok && r.status === 202 ? 'in_channel' : 'ephemeral',
      text: r.text,
    });
  }

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const done = (p: Promise<void> | void) =>
      Promise.resolve(p).catch((err) => {
        log(`request failed: ${(err as Error).name}`);
        if (!res.headersSent) error(res, 500, 'INTERNAL', 'the bridge failed on this request');
      });
    if (req.method === 'GET' && path === '/healthz') return json(res, 200, { ok: true, consumer: name });
    if (req.method === 'POST' && path === '/slack/commands') return void done(slackCommand(req, res));
    error(res, 404, 'NOT_FOUND', 'no such endpoint');
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(s.listen.port, s.listen.host, () => resolve());
    });
  } catch (err) {
    // A busy port: nothing is left running (the consumer stops; its unacked events stay for the next start).
    await consumer.close();
    throw new Error(
      `the commands endpoint cannot listen on ${s.listen.host}:${s.listen.port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  const addr = server.address() as AddressInfo;

  // Matrix: commands are room messages, read by long-polling /sync from where the bridge last stopped.
  const abort = new AbortController();
  const syncing = s.matrix ? matrixSync(s.matrix, abort.signal) : Promise.resolve();

  async function matrixSync(m: NonNullable<BridgeSettings['matrix']>, signal: AbortSignal): Promise<void> {
    const room = new MatrixRoom(m);
    const filter = JSON.stringify({
      room: { rooms: [m.roomId], timeline: { types: ['m.room.message'], limit: 50 } },
      presence: { types: [] },
      account_data: { types: [] },
    });
    // Where the last run stopped: commands sent while the bridge was down are carried out after its restart.
    const cursorKey = keys.bridge(name);
    let since = (await mesh.board.get(cursorKey, BridgeCursor).catch(() => undefined))?.value.since;
    const saveCursor = (next: string) =>
      mesh.board.mutate(cursorKey, BridgeCursor, () => ({ since: next, at: new Date(now()).toISOString() }));
    let failures = 0;
    while (!signal.aborted) {
      try {
        const q = new URLSearchParams({ filter, timeout: since ? String(m.syncTimeoutMs) : '0' });
        if (since) q.set('since', since);
        const res = await fetch(`${m.homeserver}/_matrix/client/v3/sync?${q}`, {
          headers: { authorization: `Bearer ${m.accessToken}` },
          signal: AbortSignal.any([signal, AbortSignal.timeout(m.syncTimeoutMs + 15_000)]),
        });
        if (!res.ok) throw new Error(`matrix sync: HTTP ${res.status}`);
        const body = (await res.json()) as {
          next_batch: string;
          rooms?: { join?: Record<string, { timeline?: { events?: MatrixEvent[] } }> };
        };
        failures = 0;
        // The first sync ever is the room's history: messages from before the bridge existed are not commands.
        if (since !== undefined)
          for (const ev of body.rooms?.join?.[m.roomId]?.timeline?.events ?? []) {
            if (signal.aborted) return;
            await matrixCommand(room, m, ev);
          }
        // Saved after the batch's commands ran: a crash in between runs them again (approve is idempotent at the
        // gateway; the reply's txnId makes it one message).
        if (body.next_batch !== since) await saveCursor(body.next_batch);
        since = body.next_batch;
      } catch (err) {
        if (signal.aborted) break;
        failures++;
        log(
          `${err instanceof Error ? err.message : String(err)}; sync again in ${Math.min(30, 2 ** failures)} s`,
        );
        await new Promise((r) => setTimeout(r, Math.min(30_000, 1000 * 2 ** failures)));
      }
    }
  }

  async function matrixCommand(room: MatrixRoom, m: NonNullable<BridgeSettings['matrix']>, ev: MatrixEvent) {
    const text = typeof ev.content?.body === 'string' ? ev.content.body.trim() : '';
    if (ev.type !== 'm.room.message' || ev.sender === m.userId || !/^!codemesh(\s|$)/.test(text)) return;
    if (handledMessages.has(ev.event_id)) return;
    const r = await command(`matrix:${ev.sender}`, text.slice('!codemesh'.length));
    // txnId from the command's event id: a reply sent again after a lost answer is one message.
    await room.send(`reply-${ev.event_id}`, matrixMessage(`${ev.sender}: ${r.text}`));
    handledMessages.add(ev.event_id);
  }

  log(`consumer ${name}; commands on http://${addr.address}:${addr.port}`);
  return {
    url: `http://${addr.address}:${addr.port}`,
    consumer: name,
    handle,
    async stop() {
      abort.abort();
      await consumer.close();
      await new Promise<void>((r) => server.close(() => r()));
      await syncing;
    },
  };
}

interface MatrixEvent {
  type: string;
  event_id: string;
  sender: string;
  content?: { body?: unknown };
}
