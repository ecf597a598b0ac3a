// The model client over any OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp) via the `openai` package.
import OpenAI from 'openai';
import type {
  ChatCompletion,
  ChatCompletionCreateParamsNonStreaming,
} from 'openai/resources/chat/completions';
import { type CostEntry, newId } from '../../schemas/index.ts';
import { computeCostUsd, validateModelConfig } from './config.ts';
import {
  ModelAbortedError,
  ModelAuthError,
  ModelError,
  ModelRateLimitError,
  ModelRequestError,
  ModelResponseError,
  ModelServerError,
  ModelTimeoutError,
  ModelUnreachableError,
  redactSecrets,
  safeUrl,
  secretsOf,
  settingsHint,
} from './errors.ts';
import type {
  AssistantMessage,
  ChatMessage,
  ChatRequest,
  ChatResult,
  ModelClient,
  ModelConfig,
  ModelTarget,
  PreflightResult,
  ToolCall,
  TokenUsage,
} from './types.ts';

export interface ModelClientDeps {
  /** Id of each call (default `llm-<time><random>`). */
  newCallId?: () => string;
  /** Clock for `latencyMs` (default `Date.now`). */
  now?: () => number;
  /** Replaces global fetch (tests, proxies). */
  fetch?: typeof fetch;
}

/**
 * A `ModelClient` speaking the OpenAI chat-completions protocol. Retries (408/409/429/5xx, timeouts,
 * dropped connections) with exponential backoff are the `openai` package's, set by `maxRetries`;
 * `timeoutMs` bounds each attempt. The API key lives only inside the closure, never on the returned object.
 *
 * @example
 * const llm = createModelClient(resolveModelConfig('coder', { env: process.env }));
 * const { message, costUsd } = await llm.chat({ role: 'coder', taskId, messages, signal });
 */
export function createModelClient(cfg: ModelConfig, deps: ModelClientDeps = {}): ModelClient {
  validateModelConfig(cfg);
  const now = deps.now ?? Date.now;
  const newCallId = deps.newCallId ?? (() => newId('llm'));
  const openai = new OpenAI({
    baseURL: cfg.baseURL,
    apiKey: cfg.apiKey,
    timeout: cfg.timeoutMs,
    maxRetries: cfg.maxRetries,
    // The package's own logging is off: its request logs are not ours to ship, and quiet is the safe default.
    logLevel: 'off',
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
  // Bounds a call whose server sent headers and then stalled the body, which the per-attempt timeout misses.
  const overallMs = (cfg.timeoutMs + 10_000) * (cfg.maxRetries + 1);

  return {
    model: cfg.model,
    baseURL: safeUrl(cfg.baseURL),
    async target() {
      return targetOf(cfg);
    },
    async chat(req: ChatRequest): Promise<ChatResult> {
      const started = now();
      const deadline = AbortSignal.timeout(overallMs);
      const signal = req.signal ? AbortSignal.any([req.signal, deadline]) : deadline;
      const body: ChatCompletionCreateParamsNonStreaming = {
        model: req.model ?? cfg.model,
        messages: req.messages,
        ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
        ...(req.tools?.length
          ? {
              tools: req.tools.map((t) => ({
                type: 'function' as const,
                function: { name: t.name, description: t.description, parameters: t.parameters },
              })),
            }
          : {}),
        ...(req.responseFormat === 'json' ? { response_format: { type: 'json_object' as const } } : {}),
      };
      let completion: ChatCompletion;
      try {
        if (signal.aborted) throw signal.reason;
        completion = await untilAborted(
          openai.chat.completions.create(body, {
            signal,
            headers: {
              'x-codemesh-role': headerSafe(req.role),
              'x-codemesh-task-id': headerSafe(req.taskId),
            },
          }),
          signal,
        );
      } catch (err) {
        if (req.signal?.aborted) {
          throw new ModelAbortedError('the model call was aborted', { cause: req.signal.reason });
        }
        if (deadline.aborted) {
          throw new ModelTimeoutError(
            `no complete answer from ${safeUrl(cfg.baseURL)} within ${overallMs} ms`,
            { cause: err },
          );
        }
        throw toModelError(err, cfg, req.role);
      }
      const choice = completion.choices?.[0];
      if (!choice?.message) {
        throw new ModelResponseError(`the answer of ${safeUrl(cfg.baseURL)} has no choices[0].message`);
      }
      const toolCalls: ToolCall[] = (choice.message.tool_calls ?? []).flatMap((tc) =>
        tc.type === 'function'
          ? [
              {
                id: tc.id,
                type: 'function' as const,
                function: { name: tc.function.name, arguments: tc.function.arguments },
              },
            ]
          : [],
      );
      const message: AssistantMessage = {
        role: 'assistant',
        content: choice.message.content ?? null,
        ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
      };
      const usage: TokenUsage = completion.usage
        ? {
            promptTokens: completion.usage.prompt_tokens,
            completionTokens: completion.usage.completion_tokens,
          }
        : { ...estimateUsage(req.messages, message), estimated: true };
      return {
        message,
        usage,
        costUsd: computeCostUsd(usage, cfg),
        callId: newCallId(),
        model: completion.model || cfg.model,
        latencyMs: now() - started,
        finishReason: choice.finish_reason ?? 'stop',
      };
    },
  };
}

/**
 * A cheap reachability check: `GET <baseURL>/models` with a short time limit (5 s or `timeoutMs` if lower).
 * Throws `ModelUnreachableError` (no connection, no answer in time, or 5xx) or `ModelAuthError` (401/403);
 * both messages say which settings to set. A server without `/models` (404) counts as reachable.
 *
 * @example
 * await preflight(resolveModelConfig('default', { env: process.env }), AbortSignal.timeout(10_000));
 */
export async function preflight(
  cfg: ModelConfig,
  signal?: AbortSignal,
  opts: { timeoutMs?: number; fetch?: typeof fetch } = {},
): Promise<PreflightResult> {
  validateModelConfig(cfg);
  const timeoutMs = opts.timeoutMs ?? Math.min(cfg.timeoutMs, 5_000);
  const url = `${cfg.baseURL}/models`;
  const shown = safeUrl(url);
  const timer = AbortSignal.timeout(timeoutMs);
  const started = Date.now();
  const clean = (text: string) => redactSecrets(text, secretsOf(cfg));
  let res: Response;
  try {
    res = await (opts.fetch ?? fetch)(url, {
      headers: { authorization: `Bearer ${cfg.apiKey}`, accept: 'application/json' },
      signal: signal ? AbortSignal.any([signal, timer]) : timer,
    });
  } catch (err) {
    if (signal?.aborted)
      throw new ModelAbortedError('the preflight check was aborted', { cause: signal.reason });
    const reason = timer.aborted ? `no answer within ${timeoutMs} ms` : describeNetworkError(err);
    throw new ModelUnreachableError(
      clean(`Cannot reach the model server at ${shown}: ${reason}. ${settingsHint()}`),
      {
        cause: err,
      },
    );
  }
  const latencyMs = Date.now() - started;
  if (res.status === 401 || res.status === 403) {
    await res.body?.cancel();
    throw new ModelAuthError(
      clean(`The model server at ${shown} refused the API key (HTTP ${res.status}). ${settingsHint()}`),
    );
  }
  if (res.status >= 500) {
    await res.body?.cancel();
    throw new ModelUnreachableError(
      clean(`The model server at ${shown} is failing (HTTP ${res.status}). ${settingsHint()}`),
    );
  }
  if (!res.ok) {
    await res.body?.cancel();
    return { latencyMs, models: [], modelListed: undefined };
  }
  const json = (await res.json().catch(() => undefined)) as { data?: { id?: unknown }[] } | undefined;
  const models = Array.isArray(json?.data)
    ? json.data.flatMap((m) => (typeof m?.id === 'string' ? [m.id] : []))
    : [];
  return { latencyMs, models, modelListed: models.length ? models.includes(cfg.model) : undefined };
}

/** Where a config's calls go and what they cost (no secrets). */
export function targetOf(cfg: ModelConfig): ModelTarget {
  return {
    baseURL: cfg.local ? `local:${cfg.local.path}` : cfg.replay ? 'replay (loopback)' : safeUrl(cfg.baseURL),
    model: cfg.model,
    priceInPer1k: cfg.priceInPer1k,
    priceOutPer1k: cfg.priceOutPer1k,
  };
}

/** The ledger entry of one call (`cost.<taskId>`); `callId` makes recording it twice harmless. */
export function toCostEntry(result: ChatResult, role: string, at: Date = new Date()): CostEntry {
  return {
    callId: result.callId,
    role,
    model: result.model,
    promptTokens: result.usage.promptTokens,
    completionTokens: result.usage.completionTokens,
    costUsd: result.costUsd,
    at: at.toISOString(),
  };
}

/** Maps an `openai` package error to ours; every message is scrubbed of the key. */
function toModelError(err: unknown, cfg: ModelConfig, role: string): ModelError {
  if (err instanceof ModelError) return err;
  const url = safeUrl(cfg.baseURL);
  const clean = (text: string) => redactSecrets(text, secretsOf(cfg));
  const attempts = `${cfg.maxRetries + 1} attempt${cfg.maxRetries ? 's' : ''}`;
  if (err instanceof OpenAI.APIUserAbortError)
    return new ModelAbortedError('the model call was aborted', { cause: err });
  if (err instanceof OpenAI.APIConnectionTimeoutError) {
    return new ModelTimeoutError(`no answer from ${url} within ${cfg.timeoutMs} ms (${attempts})`, {
      cause: err,
    });
  }
  if (err instanceof OpenAI.APIConnectionError) {
    const reason = describeNetworkError(err.cause ?? err);
    return new ModelUnreachableError(
      clean(`Cannot reach the model server at ${url}: ${reason} (${attempts}). ${settingsHint(role)}`),
      { cause: err },
    );
  }
  if (err instanceof OpenAI.APIError && typeof err.status === 'number') {
    const status = err.status;
    const detail = clean(err.message);
    if (status === 401 || status === 403) {
      return new ModelAuthError(
        clean(`The model server at ${url} refused the API key (HTTP ${status}). ${settingsHint(role)}`),
        { cause: err },
      );
    }
    if (status === 429) {
      return new ModelRateLimitError(`rate limited by ${url} after ${attempts}: ${detail}`, { cause: err });
    }
    if (status >= 500) {
      return new ModelServerError(`${url} failed after ${attempts}: ${detail}`, status, { cause: err });
    }
    return new ModelRequestError(`${url} rejected the request (model ${cfg.model}): ${detail}`, status, {
      cause: err,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ModelResponseError(clean(`unusable answer from ${url}: ${message}`), { cause: err });
}

/** Rejects as soon as `signal` aborts, even while the `openai` package sleeps between retries. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** `fetch failed` says nothing; the cause (`ECONNREFUSED 127.0.0.1:1`) does. */
function describeNetworkError(err: unknown): string {
  let e: unknown = err;
  for (let i = 0; i < 4 && e instanceof Error; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return `${code} (${e.message})`;
    if (!e.cause) return e.message;
    e = e.cause;
  }
  return String(e);
}

function estimateUsage(messages: ChatMessage[], reply: AssistantMessage): Omit<TokenUsage, 'estimated'> {
  const chars = (m: ChatMessage | AssistantMessage) =>
    (m.content?.length ?? 0) +
    ('tool_calls' in m && m.tool_calls
      ? m.tool_calls.reduce((n, t) => n + t.function.arguments.length, 0)
      : 0);
  return {
    promptTokens: Math.ceil(messages.reduce((n, m) => n + chars(m), 0) / 4),
    completionTokens: Math.ceil(chars(reply) / 4),
  };
}

/** Header values must be printable ASCII; role and task ids are, but a caller's typo must not crash fetch. */
function headerSafe(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
}
