// A scripted OpenAI-compatible HTTP server on loopback: tests drive the real client over the real wire protocol.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseRoleMarker } from '../../actors/llm/index.ts';

/** What the scripted model answers to one chat completion. */
export interface ScriptedReply {
  content?: string;
  toolCalls?: { name: string; arguments: object }[];
  /** Default: message lengths / 4. */
  usage?: { prompt_tokens: number; completion_tokens: number };
  /** An HTTP status >= 400 answers with an OpenAI error body (`content` as its message), e.g. 500 or 429. */
  status?: number;
  /** Wait this long before answering (to trigger client timeouts). */
  delayMs?: number;
  /** Extra response headers, e.g. `{ 'retry-after-ms': '10' }`. */
  headers?: Record<string, string>;
  /** Default `tool_calls` when there are tool calls, else `stop`. */
  finishReason?: string;
}

export interface ScriptRequest {
  /** The parsed JSON body of the chat completion request. */
  body: ChatBody;
  /** 0-based index of this chat completion among all the server received. */
  callIndex: number;
  /** From the `[codemesh:role=...]` marker of the first system message, else the `x-codemesh-role` header. */
  roleHint?: string;
}

export type Script = (req: ScriptRequest) => ScriptedReply | Promise<ScriptedReply>;

export interface ChatBody {
  model?: string;
  messages?: { role: string; content?: unknown; tool_calls?: unknown }[];
  tools?: unknown[];
  stream?: boolean;
  [key: string]: unknown;
}

export interface RecordedCall {
  method: string;
  /** Path without the query, e.g. `/v1/chat/completions`. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body (`undefined` for GET). */
  body: unknown;
  /** For chat completions: the same index the script saw. */
  callIndex?: number;
  roleHint?: string;
}

export interface ScriptedLlmOptions {
  /** Answer 401 unless the bearer token equals this. */
  requireApiKey?: string;
  /** Model ids served by `GET /v1/models` (default `['scripted-model']`). */
  models?: string[];
  /** Length of `/v1/embeddings` vectors (default 8). */
  embeddingDims?: number;
  /** Vectors of `/v1/embeddings` (default: unit vectors from a hash of each text). */
  embed?: (text: string, dims: number) => number[];
  /** Clock for `created` (default `Date.now`). */
  now?: () => number;
}

export interface ScriptedLlm {
  /** `http://127.0.0.1:<port>/v1`: use as `baseURL`. */
  url: string;
  /** Every request, in arrival order. */
  calls: RecordedCall[];
  /** Script failures (a thrown script, a role without replies): tests should expect this to stay empty. */
  errors: string[];
  close(): Promise<void>;
}

const HOST = '127.0.0.1';

/**
 * Starts the server on 127.0.0.1 and a free port.
 *
 * @example
 * const llm = await startScriptedLlm(byRole({ planner: [{ content: '{"steps":[]}' }] }));
 * const client = createModelClient({ ...cfg, baseURL: llm.url });
 * // ...
 * await llm.close();
 */
export async function startScriptedLlm(script: Script, opts: ScriptedLlmOptions = {}): Promise<ScriptedLlm> {
  const calls: RecordedCall[] = [];
  const errors: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const now = opts.now ?? Date.now;
  let chatIndex = 0;
  let closing: Promise<void> | undefined;

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const message = `scripted-llm: ${err instanceof Error ? err.message : String(err)}`;
      errors.push(message);
      sendError(res, 500, message, 'server_error', { 'x-should-retry': 'false' });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    const raw = method === 'GET' ? '' : await readBody(req);
    let body: unknown;
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        calls.push({ method, path, headers: req.headers, body: raw });
        return sendError(res, 400, 'request body is not JSON', 'invalid_request_error');
      }
    }
    const call: RecordedCall = { method, path, headers: req.headers, body };
    calls.push(call);

    if (opts.requireApiKey !== undefined && req.headers.authorization !== `Bearer ${opts.requireApiKey}`) {
      return sendError(
        res,
        401,
        'Incorrect API key provided.',
        'invalid_request_error',
        {},
        'invalid_api_key',
      );
    }
    if (method === 'GET' && path === '/v1/models') {
      const data = (opts.models ?? ['scripted-model']).map((id) => ({
        id,
        object: 'model',
        created: 0,
        owned_by: 'codemesh-test',
      }));
      return sendJson(res, 200, { object: 'list', data });
    }
    if (method === 'POST' && path === '/v1/embeddings') {
      return sendJson(res, 200, embeddings(body, opts.embeddingDims ?? 8, opts.embed));
    }
    if (method !== 'POST' || path !== '/v1/chat/completions') {
      return sendError(res, 404, `no route ${method} ${path}`, 'invalid_request_error');
    }

    const chat = (body ?? {}) as ChatBody;
    if (chat.stream === true) {
      return sendError(res, 400, 'scripted-llm does not stream; send stream: false', 'invalid_request_error');
    }
    if (!Array.isArray(chat.messages)) {
      return sendError(res, 400, 'messages must be an array', 'invalid_request_error');
    }
    const callIndex = chatIndex++;
    const roleHint = roleOf(chat, req);
    call.callIndex = callIndex;
    if (roleHint) call.roleHint = roleHint;

    const reply = await script({ body: chat, callIndex, ...(roleHint ? { roleHint } : {}) });
    if (reply.delayMs) {
      const gone = await sleepUnlessClosed(reply.delayMs, req, res);
      if (gone) return;
    }
    if (reply.status && reply.status >= 400) {
      return sendError(
        res,
        reply.status,
        reply.content ?? `scripted error ${reply.status}`,
        'server_error',
        reply.headers,
      );
    }
    return sendJson(res, 200, completion(chat, reply, callIndex, Math.floor(now() / 1000)), reply.headers);
  }

  /** Resolves true when the client went away first (it timed out or aborted): nothing left to answer. */
  function sleepUnlessClosed(ms: number, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        res.off('close', onClose);
        resolve(false);
      }, ms);
      timers.add(timer);
      const onClose = () => {
        clearTimeout(timer);
        timers.delete(timer);
        resolve(true);
      };
      // `res` (not `req`) closes when the socket does; `req` closes as soon as its body is read.
      res.once('close', onClose);
      if (req.socket.destroyed) onClose();
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  if (addr.address !== HOST) {
    server.close();
    throw new Error(`scripted-llm bound ${addr.address}, expected ${HOST}`);
  }

  return {
    url: `http://${HOST}:${addr.port}/v1`,
    calls,
    errors,
    close: () => {
      // Idempotent: a test may close early to get a dead port, and its afterEach closes again.
      closing ??= new Promise<void>((resolve, reject) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive sockets of the client would hold close() open until they idle out.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/**
 * A script that answers by role: the role comes from the `roleMarker` at the start of the system prompt.
 * A list is answered in order, one reply per call; when it runs out, or a role has no handler, the server
 * answers 500 with a message naming the role (and `x-should-retry: false`), so the test fails loudly.
 *
 * @example
 * byRole({
 *   planner: [{ content: '{"steps":[...]}' }],
 *   coder: [{ toolCalls: [{ name: 'read_file', arguments: { path: 'a.ts' } }] }, { content: 'done' }],
 *   reviewer: (req) => ({ content: req.callIndex > 3 ? 'approve' : 'revise' }),
 * })
 */
export function byRole(
  handlers: Record<string, ScriptedReply[] | ((req: ScriptRequest) => ScriptedReply)>,
): Script {
  const used = new Map<string, number>();
  return (req) => {
    const role = req.roleHint;
    if (!role)
      throw new Error(`call ${req.callIndex} has no [codemesh:role=...] marker in its system message`);
    const handler = handlers[role];
    if (!handler) throw new Error(`no script for role "${role}" (call ${req.callIndex})`);
    if (typeof handler === 'function') return handler(req);
    const n = used.get(role) ?? 0;
    const reply = handler[n];
    if (!reply) {
      throw new Error(
        `role "${role}" has no scripted replies left (it had ${handler.length}; call ${req.callIndex})`,
      );
    }
    used.set(role, n + 1);
    return reply;
  };
}

function roleOf(chat: ChatBody, req: IncomingMessage): string | undefined {
  const system = chat.messages?.find((m) => m.role === 'system');
  const fromMarker = typeof system?.content === 'string' ? parseRoleMarker(system.content) : undefined;
  const header = req.headers['x-codemesh-role'];
  return fromMarker ?? (typeof header === 'string' && header ? header : undefined);
}

function completion(chat: ChatBody, reply: ScriptedReply, callIndex: number, created: number) {
  const toolCalls = (reply.toolCalls ?? []).map((tc, i) => ({
    id: `call_${callIndex}_${i}`,
    type: 'function' as const,
    function: { name: tc.name, arguments: JSON.stringify(tc.arguments) },
  }));
  const content = reply.content ?? (toolCalls.length ? null : '');
  const usage = reply.usage ?? {
    prompt_tokens: Math.ceil(JSON.stringify(chat.messages ?? []).length / 4),
    completion_tokens: Math.ceil(
      ((content?.length ?? 0) + toolCalls.reduce((n, t) => n + t.function.arguments.length, 0)) / 4,
    ),
  };
  return {
    id: `chatcmpl-scripted-${callIndex}`,
    object: 'chat.completion',
    created,
    model: chat.model ?? 'scripted-model',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content,
          refusal: null,
          ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: reply.finishReason ?? (toolCalls.length ? 'tool_calls' : 'stop'),
      },
    ],
    usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
  };
}

/** Deterministic unit vectors from a hash of each input: equal texts embed equally, different ones differ. */
function embeddings(body: unknown, dims: number, embed?: (text: string, dims: number) => number[]) {
  const input = (body as { input?: unknown; model?: string } | undefined)?.input;
  const texts = Array.isArray(input) ? input.map(String) : [String(input ?? '')];
  const data = texts.map((text, index) => {
    if (embed) return { object: 'embedding', index, embedding: embed(text, dims) };
    const digest = createHash('sha256').update(text).digest();
    const raw = Array.from({ length: dims }, (_, i) => (digest[i % digest.length]! - 127.5) / 127.5);
    const norm = Math.hypot(...raw) || 1;
    return { object: 'embedding', index, embedding: raw.map((v) => v / norm) };
  });
  const tokens = texts.reduce((n, t) => n + Math.ceil(t.length / 4), 0);
  return {
    object: 'list',
    data,
    model: (body as { model?: string } | undefined)?.model ?? 'scripted-embedding',
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(
  res: ServerResponse,
  status: number,
  payload: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(payload);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  type: string,
  headers: Record<string, string> = {},
  code: string | null = null,
): void {
  sendJson(res, status, { error: { message, type, param: null, code } }, headers);
}
