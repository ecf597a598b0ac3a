// Contracts of the model client: configuration, chat messages in the OpenAI wire shape, and results.

/** The roles that may carry their own model settings; any other role uses `default`. */
export const ModelRoles = ['default', 'planner', 'coder', 'reviewer'] as const;
export type ModelRole = (typeof ModelRoles)[number];

/**
 * Settings for one role, fully resolved (see `resolveModelConfig`).
 *
 * `apiKey` is a secret: it is sent as a bearer token and nowhere else. Use `describeModelConfig` to log a
 * config; never put the object itself into a message, event or log line.
 */
export interface ModelConfig {
  /** OpenAI-compatible API root, ending in `/v1` for most servers, e.g. `http://127.0.0.1:11434/v1`. */
  baseURL: string;
  /** Bearer token. Local servers (Ollama, llama.cpp) ignore it; a placeholder is sent when none is set. */
  apiKey: string;
  model: string;
  /** Time limit of one HTTP attempt; a timed-out attempt counts as a failure and is retried. */
  timeoutMs: number;
  /** Extra attempts after a 408/409/429/5xx answer, a timeout or a dropped connection. 0 = no retry. */
  maxRetries: number;
  /** USD per 1,000 prompt tokens. */
  priceInPer1k: number;
  /** USD per 1,000 completion tokens. */
  priceOutPer1k: number;
  /**
   * `replay` (CODEMESH_LLM_PROVIDER=replay): codemesh's own replay model answers, on a loopback server started
   * on first use, from a SWE-bench dataset (see actors/llm/replay.ts); `baseURL` is then ignored.
   */
  replay?: { dataset: string; repos: string };
  /**
   * `local` (CODEMESH_LLM_PROVIDER=local, or an org's `provider: "local"`): a GGUF file run in-process by
   * node-llama-cpp (an opt-in install; see actors/llm/local.ts); `baseURL` and `apiKey` are then ignored.
   */
  local?: LocalModelSettings;
}

/** The embedded model's settings. */
export interface LocalModelSettings {
  /** Absolute path of the GGUF file. */
  path: string;
  /** Upper bound of the context window (default 8192; never above the model's own). */
  contextSize?: number;
  /** CPU threads per evaluation (default: node-llama-cpp's choice). */
  threads?: number;
  /** Answer tokens per call (default 2048). */
  maxTokens?: number;
  /** Sampling temperature (default 0: greedy). */
  temperature?: number;
  seed?: number;
}

/** A tool call as the model emits it. `arguments` is a JSON string the model wrote: parse it and check it. */
export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface SystemMessage {
  role: 'system';
  content: string;
}
export interface UserMessage {
  role: 'user';
  content: string;
}
/** What `chat` returns; push it onto `messages` unchanged to continue the conversation. */
export interface AssistantMessage {
  role: 'assistant';
  /** `null` when the model only called tools. */
  content: string | null;
  /** Absent or empty when the model called no tool. */
  tool_calls?: ToolCall[];
}
/** The answer to one tool call, matched to it by `tool_call_id`. */
export interface ToolMessage {
  role: 'tool';
  tool_call_id: string;
  content: string;
}
/** Messages use the OpenAI chat wire shape, so they go to the server as they are. */
export type ChatMessage = SystemMessage | UserMessage | AssistantMessage | ToolMessage;

/** A function the model may call. `parameters` is a JSON Schema object (e.g. from `z.toJSONSchema`). */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export interface ChatRequest {
  /** Who is asking (`planner`, `coder`, ...): recorded with the cost and sent as `x-codemesh-role`. */
  role: string;
  /** The task the call is for: sent as `x-codemesh-task-id`, for tracing. */
  taskId: string;
  messages: ChatMessage[];
  tools?: ToolSpec[];
  /** `json` asks for a JSON object (`response_format: json_object`); the prompt must still say "JSON". */
  responseFormat?: 'json' | 'text';
  /** Sampling temperature; absent: the server's default (a candidate's variant sets it, schemas/candidate.ts). */
  temperature?: number;
  /** Another model on the same endpoint for this call (a candidate's variant); prices stay the role's. */
  model?: string;
  /**
   * The JSON Schema the answer must match (with `responseFormat: 'json'`). The local model constrains its
   * sampling to it with a grammar; OpenAI-compatible servers get `json_object` as before (the caller checks).
   */
  jsonSchema?: Record<string, unknown>;
  /** Aborting rejects the call at once with `ModelAbortedError`, also while waiting between retries. */
  signal?: AbortSignal;
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  /** True when the server reported no usage and the counts were estimated (4 characters per token). */
  estimated?: boolean;
}

export interface ChatResult {
  message: AssistantMessage;
  usage: TokenUsage;
  /** From `usage` and the configured prices; 0 when no price is configured. */
  costUsd: number;
  /** Unique per call (generated here, not the server's id): the idempotency key of a `CostEntry`. */
  callId: string;
  /** The model that answered, as the server reports it. */
  model: string;
  /** Wall time of the whole call, retries included. */
  latencyMs: number;
  /** `stop`, `tool_calls`, `length`, ... as the server reports it. */
  finishReason: string;
}

/** Where the next call of a client goes and what it costs: what budgets and circuit breakers need before it. */
export interface ModelTarget {
  /** Base URL without credentials or query: the circuit breaker's key. */
  baseURL: string;
  model: string;
  priceInPer1k: number;
  priceOutPer1k: number;
}

/** The model, as agents see it. Implementations are named for the mechanism (see `createModelClient`). */
export interface ModelClient {
  /** The configured model name. */
  readonly model: string;
  /** The configured base URL without credentials or query. */
  readonly baseURL: string;
  /** The settings the next `chat` would use, without calling (absent: `baseURL` and no prices). */
  target?(): Promise<ModelTarget>;
  /**
   * One chat completion (non-streaming). Rejects with a `ModelError` subclass: `ModelAbortedError`,
   * `ModelTimeoutError`, `ModelUnreachableError`, `ModelAuthError`, `ModelRateLimitError`,
   * `ModelServerError`, `ModelRequestError` or `ModelResponseError`.
   */
  chat(req: ChatRequest): Promise<ChatResult>;
}

export interface PreflightResult {
  latencyMs: number;
  /** Model ids the server lists (empty when it does not implement `GET /models`). */
  models: string[];
  /** Whether `models` contains the configured model; `undefined` when the server lists nothing. */
  modelListed: boolean | undefined;
}

const ROLE_MARKER = /^\s*\[codemesh:role=([a-z][a-z0-9-]*)\]/;

/**
 * The marker an agent puts at the very start of its system prompt, so that a scripted test server (and a
 * human reading a transcript) can tell which agent is speaking.
 *
 * @example
 * const system = `${roleMarker('planner')} You are the planner of codemesh...`;
 */
export function roleMarker(role: string): string {
  return `[codemesh:role=${role}]`;
}

/** The role named by a `roleMarker` at the start of `text`, if any. */
export function parseRoleMarker(text: string): string | undefined {
  return ROLE_MARKER.exec(text)?.[1];
}
