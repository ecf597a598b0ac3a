// Embeddings for the Curator's dense signal over any OpenAI-compatible `/v1/embeddings` endpoint (OpenAI,
// Ollama, vLLM, llama.cpp, text-embeddings-inference), configured like the chat models but on its own variables.
import OpenAI from 'openai';
import { redactSecrets, safeUrl } from '../llm/index.ts';
import { EmbeddingError } from './embed-error.ts';

/** Turns texts into vectors of `dims` numbers, one per text, in input order. */
export interface EmbeddingProvider {
  readonly model: string;
  readonly dims: number;
  /** Throws `EmbeddingError` when the server fails or answers with vectors of another length. */
  embed(texts: string[], signal?: AbortSignal): Promise<number[][]>;
}

export interface EmbeddingConfig {
  /** OpenAI-compatible API root, e.g. `http://127.0.0.1:11434/v1`. */
  baseURL: string;
  /** Bearer token; a placeholder is sent when none is set (local servers ignore it). Never logged. */
  apiKey: string;
  model: string;
  /** Length of the vectors; the record's `embeddings` table holds 384. */
  dims: number;
  /** Texts per request. */
  batchSize: number;
  timeoutMs: number;
  maxRetries: number;
}

export const DEFAULT_EMBED_BASE_URL = 'https://api.openai.com/v1';
export const DEFAULT_EMBED_MODEL = 'text-embedding-3-small';
export const DEFAULT_EMBED_DIMS = 384;
const NO_KEY = 'codemesh-no-key';

/**
 * Settings from `CODEMESH_EMBED_BASE_URL`, `CODEMESH_EMBED_API_KEY`, `CODEMESH_EMBED_MODEL`,
 * `CODEMESH_EMBED_DIMS` (384), `CODEMESH_EMBED_BATCH` (64), `CODEMESH_EMBED_TIMEOUT_MS` (30 s per attempt),
 * `CODEMESH_EMBED_MAX_RETRIES` (2). Base URL and key fall back to `OPENAI_BASE_URL` / `OPENAI_API_KEY`.
 *
 * @example
 * // Ollama: CODEMESH_EMBED_BASE_URL=http://127.0.0.1:11434/v1 CODEMESH_EMBED_MODEL=all-minilm
 * const provider = createEmbeddingProvider(resolveEmbeddingConfig(process.env));
 */
export function resolveEmbeddingConfig(env: Record<string, string | undefined>): EmbeddingConfig {
  const str = (name: string) => env[name]?.trim() || undefined;
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = str(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new EmbeddingError(
        'curator.embedding_config',
        `${name} must be an integer from ${min} to ${max}`,
      );
    }
    return n;
  };
  const cfg: EmbeddingConfig = {
    baseURL: (str('CODEMESH_EMBED_BASE_URL') ?? str('OPENAI_BASE_URL') ?? DEFAULT_EMBED_BASE_URL).replace(
      /\/+$/,
      '',
    ),
    apiKey: str('CODEMESH_EMBED_API_KEY') ?? str('OPENAI_API_KEY') ?? NO_KEY,
    model: str('CODEMESH_EMBED_MODEL') ?? DEFAULT_EMBED_MODEL,
    dims: int('CODEMESH_EMBED_DIMS', DEFAULT_EMBED_DIMS, 1, 16_000),
    batchSize: int('CODEMESH_EMBED_BATCH', 64, 1, 2048),
    timeoutMs: int('CODEMESH_EMBED_TIMEOUT_MS', 30_000, 1, 3_600_000),
    maxRetries: int('CODEMESH_EMBED_MAX_RETRIES', 2, 0, 10),
  };
  validate(cfg);
  return cfg;
}

function validate(cfg: EmbeddingConfig): void {
  let url: URL;
  try {
    url = new URL(cfg.baseURL);
  } catch {
    // Not echoed: a key pasted into the wrong variable must not reach a log.
    throw new EmbeddingError('curator.embedding_config', 'CODEMESH_EMBED_BASE_URL is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new EmbeddingError('curator.embedding_config', 'CODEMESH_EMBED_BASE_URL must be http(s)');
  }
  if (url.username || url.password) {
    throw new EmbeddingError(
      'curator.embedding_config',
      'CODEMESH_EMBED_BASE_URL must not contain credentials; put the key in CODEMESH_EMBED_API_KEY',
    );
  }
}

/**
 * An `EmbeddingProvider` over `client.embeddings.create`, in batches of `batchSize`. Retries (429, 5xx,
 * timeouts, dropped connections) are the `openai` package's; `timeoutMs` bounds each attempt.
 */
export function createEmbeddingProvider(
  cfg: EmbeddingConfig,
  deps: { fetch?: typeof fetch } = {},
): EmbeddingProvider {
  validate(cfg);
  const client = new OpenAI({
    baseURL: cfg.baseURL,
    apiKey: cfg.apiKey,
    timeout: cfg.timeoutMs,
    maxRetries: cfg.maxRetries,
    logLevel: 'off',
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
  const where = `${cfg.model} at ${safeUrl(cfg.baseURL)}`;
  const fail = (what: string, cause?: unknown) =>
    new EmbeddingError(
      'curator.embedding_failed',
      redactSecrets(`embedding with ${where} failed: ${what}`, [cfg.apiKey]),
      { cause },
    );
  return {
    model: cfg.model,
    dims: cfg.dims,
    async embed(texts, signal) {
      const out: number[][] = [];
      for (let i = 0; i < texts.length; i += cfg.batchSize) {
        // Empty strings are refused by some servers; a single space embeds as "nothing".
        const input = texts.slice(i, i + cfg.batchSize).map((t) => (t.length > 0 ? t : ' '));
        let data: { index: number; embedding: number[] }[];
        try {
          // `float` explicitly: without it the package asks for base64, which several local servers lack.
          const res = await client.embeddings.create(
            { model: cfg.model, input, encoding_format: 'float' },
            signal ? { signal } : {},
          );
          data = res.data;
        } catch (err) {
          const status = err instanceof OpenAI.APIError && err.status ? ` (HTTP ${err.status})` : '';
          throw fail(`${err instanceof Error ? err.message : String(err)}${status}`, err);
        }
        if (!Array.isArray(data) || data.length !== input.length) {
          throw fail(`expected ${input.length} vectors, got ${Array.isArray(data) ? data.length : 'none'}`);
        }
        const batch = [...data].sort((a, b) => a.index - b.index);
        for (const d of batch) {
          if (!Array.isArray(d.embedding) || d.embedding.length !== cfg.dims) {
            throw fail(
              `expected vectors of ${cfg.dims} numbers (CODEMESH_EMBED_DIMS), got ${d.embedding?.length ?? 'none'}`,
            );
          }
          out.push(d.embedding);
        }
      }
      return out;
    },
  };
}
