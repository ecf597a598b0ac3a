// One error class per way a model call can fail, each with a stable `code`; and the secret-scrubbing helpers.

export type ModelErrorCode =
  | 'MODEL_CONFIG'
  | 'MODEL_UNREACHABLE'
  | 'MODEL_AUTH'
  | 'MODEL_TIMEOUT'
  | 'MODEL_ABORTED'
  | 'MODEL_RATE_LIMITED'
  | 'MODEL_SERVER'
  | 'MODEL_REQUEST'
  | 'MODEL_BAD_RESPONSE';

/** Base of every error the model client throws. Messages never contain the API key. */
export abstract class ModelError extends Error {
  abstract readonly code: ModelErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The settings are invalid (a caller's mistake: thrown, not retried). */
export class ModelConfigError extends ModelError {
  override readonly name = 'ModelConfigError';
  readonly code = 'MODEL_CONFIG';
}

/** No connection to the model server (refused, DNS, reset, or it answers 5xx to the preflight). */
export class ModelUnreachableError extends ModelError {
  override readonly name = 'ModelUnreachableError';
  readonly code = 'MODEL_UNREACHABLE';
}

/** The server refused the API key (401/403). */
export class ModelAuthError extends ModelError {
  override readonly name = 'ModelAuthError';
  readonly code = 'MODEL_AUTH';
}

/** Every attempt ran past `timeoutMs`. */
export class ModelTimeoutError extends ModelError {
  override readonly name = 'ModelTimeoutError';
  readonly code = 'MODEL_TIMEOUT';
}

/** The caller's signal aborted the call. */
export class ModelAbortedError extends ModelError {
  override readonly name = 'ModelAbortedError';
  readonly code = 'MODEL_ABORTED';
}

/** Still 429 after every retry. */
export class ModelRateLimitError extends ModelError {
  override readonly name = 'ModelRateLimitError';
  readonly code = 'MODEL_RATE_LIMITED';
}

/** Still 5xx after every retry. */
export class ModelServerError extends ModelError {
  override readonly name = 'ModelServerError';
  readonly code = 'MODEL_SERVER';
  constructor(
    message: string,
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The server rejected the request (400, 404, 422...): wrong model name, bad tool schema, too long. */
export class ModelRequestError extends ModelError {
  override readonly name = 'ModelRequestError';
  readonly code = 'MODEL_REQUEST';
  constructor(
    message: string,
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The server answered 2xx with something that is not a usable chat completion. */
export class ModelResponseError extends ModelError {
  override readonly name = 'ModelResponseError';
  readonly code = 'MODEL_BAD_RESPONSE';
}

/**
 * Replaces every occurrence of each secret in `text` with `***`. Secrets shorter than 4 characters are
 * skipped: replacing them would mangle ordinary words and they are not real keys anyway.
 *
 * @example
 * redactSecrets(`401 for key ${cfg.apiKey}`, [cfg.apiKey]); // '401 for key ***'
 */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) {
    if (s && s.length >= 4) out = out.split(s).join('***');
  }
  return out;
}

/** A URL fit for messages: user info and query (where keys sometimes hide, e.g. `?api-key=`) removed. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '<invalid URL>';
  }
}

/** Everything of a config that must not appear in a message: the key, and any password or query in the URL. */
export function secretsOf(cfg: { baseURL: string; apiKey: string }): string[] {
  const out = [cfg.apiKey];
  try {
    const u = new URL(cfg.baseURL);
    if (u.password) out.push(u.password, decodeURIComponent(u.password));
    for (const v of u.searchParams.values()) out.push(v);
  } catch {
    // An invalid URL is reported without being echoed.
  }
  return out;
}

/** The sentence appended to connection and auth errors: what to set, and an example for a local server. */
export function settingsHint(role?: string): string {
  const r = role?.toUpperCase();
  const perRole =
    r && r !== 'DEFAULT'
      ? ` (or, for this role only, CODEMESH_${r}_LLM_BASE_URL, CODEMESH_${r}_LLM_API_KEY, CODEMESH_${r}_LLM_MODEL)`
      : '';
  return (
    `Set CODEMESH_LLM_BASE_URL, CODEMESH_LLM_API_KEY and CODEMESH_LLM_MODEL${perRole}. ` +
    'For Ollama: CODEMESH_LLM_BASE_URL=http://127.0.0.1:11434/v1 CODEMESH_LLM_MODEL=qwen2.5-coder:7b ' +
    '(any API key works).'
  );
}
