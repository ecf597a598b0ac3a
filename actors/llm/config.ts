// Resolves the model settings of a role from the environment and an optional config object, and prices usage.
import { basename, isAbsolute } from 'node:path';
import { z } from 'zod';
import { ModelConfigError, safeUrl } from './errors.ts';
import type { LocalModelSettings, ModelConfig, TokenUsage } from './types.ts';

export const DEFAULT_BASE_URL = 'https://api.openai.com/v1';
export const DEFAULT_MODEL = 'gpt-4o-mini';
/** LLM calls are slow, local models more so; the limit is per attempt. */
export const DEFAULT_TIMEOUT_MS = 120_000;
export const DEFAULT_MAX_RETRIES = 2;
/** Sent when no key is configured: local servers ignore it, hosted ones answer 401 (→ `ModelAuthError`). */
export const NO_API_KEY = 'codemesh-no-key';

/** USD per 1k tokens of the default model, so that the default setup reports real costs. Others: configure. */
const KNOWN_PRICES: Record<string, { in: number; out: number }> = {
  'gpt-4o-mini': { in: 0.00015, out: 0.0006 },
};

/** Known USD prices per 1k tokens of a model, if codemesh knows them. */
export function knownPrice(model: string): { in: number; out: number } | undefined {
  return KNOWN_PRICES[model];
}

const RoleSettings = z
  .object({
    baseURL: z.string().min(1),
    apiKey: z.string(),
    model: z.string().min(1),
    timeoutMs: z.number().int().positive(),
    maxRetries: z.number().int().min(0).max(10),
    priceInPer1k: z.number().min(0),
    priceOutPer1k: z.number().min(0),
  })
  .partial()
  .strict();

/**
 * The optional config object (e.g. parsed from `codemesh.json`): settings per role, `default` for all roles.
 * Unknown fields are refused, so a misspelt `baseUrl` is reported instead of ignored.
 */
export const ModelConfigFile = z.record(z.string().regex(/^[a-z][a-z0-9]*$/), RoleSettings);
export type ModelConfigFile = z.infer<typeof ModelConfigFile>;

type Field = Exclude<keyof ModelConfig, 'replay' | 'local'>;
const ENV_SUFFIX: Record<Field, string> = {
  baseURL: 'BASE_URL',
  apiKey: 'API_KEY',
  model: 'MODEL',
  timeoutMs: 'TIMEOUT_MS',
  maxRetries: 'MAX_RETRIES',
  priceInPer1k: 'PRICE_IN_PER_1K',
  priceOutPer1k: 'PRICE_OUT_PER_1K',
};
const NUMERIC = new Set<Field>(['timeoutMs', 'maxRetries', 'priceInPer1k', 'priceOutPer1k']);

export interface ResolveOptions {
  env: Record<string, string | undefined>;
  file?: unknown;
}

/**
 * The settings of `role`. For each field the first one set wins:
 * 1. `CODEMESH_<ROLE>_LLM_<FIELD>` (e.g. `CODEMESH_PLANNER_LLM_MODEL`)
 * 2. `CODEMESH_LLM_<FIELD>` (`BASE_URL`, `API_KEY`, `MODEL`, `TIMEOUT_MS`, `MAX_RETRIES`, `PRICE_IN_PER_1K`,
 *    `PRICE_OUT_PER_1K`)
 * 3. `file[role]`, then `file.default`
 * 4. `OPENAI_BASE_URL` / `OPENAI_API_KEY` (ambient settings of the openai tools; base URL and key only)
 * 5. built-in defaults: OpenAI, `gpt-4o-mini`, 120 s per attempt, 2 retries.
 * Empty environment values count as unset. Throws `ModelConfigError` for invalid values.
 *
 * @example
 * const cfg = resolveModelConfig('coder', { env: process.env, file: JSON.parse(text).llm });
 */
export function resolveModelConfig(role: string, opts: ResolveOptions): ModelConfig {
  if (!/^[a-z][a-z0-9]*$/.test(role)) throw new ModelConfigError(`invalid role name "${role}"`);
  const parsed = opts.file === undefined ? undefined : ModelConfigFile.safeParse(opts.file);
  if (parsed && !parsed.success) {
    throw new ModelConfigError(`invalid model config: ${z.prettifyError(parsed.error)}`, {
      cause: parsed.error,
    });
  }
  const file = parsed?.data ?? {};
  const env = opts.env;
  const fromEnv = (name: string, field: Field): string | number | undefined => {
    const raw = env[name]?.trim();
    if (!raw) return undefined;
    if (!NUMERIC.has(field)) return raw;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new ModelConfigError(`${name} must be a non-negative number`);
    return n;
  };
  const pick = <F extends Field>(field: F, fallbackEnv?: string): ModelConfig[F] | undefined => {
    const suffix = ENV_SUFFIX[field];
    const candidates = [
      fromEnv(`CODEMESH_${role.toUpperCase()}_LLM_${suffix}`, field),
      fromEnv(`CODEMESH_LLM_${suffix}`, field),
      file[role]?.[field],
      file.default?.[field],
      fallbackEnv ? fromEnv(fallbackEnv, field) : undefined,
    ];
    return candidates.find((v) => v !== undefined) as ModelConfig[F] | undefined;
  };

  const model = pick('model') ?? DEFAULT_MODEL;
  const known = KNOWN_PRICES[model];
  const cfg: ModelConfig = {
    baseURL: (pick('baseURL', 'OPENAI_BASE_URL') ?? DEFAULT_BASE_URL).replace(/\/+$/, ''),
    apiKey: pick('apiKey', 'OPENAI_API_KEY') || NO_API_KEY,
    model,
    timeoutMs: pick('timeoutMs') ?? DEFAULT_TIMEOUT_MS,
    maxRetries: pick('maxRetries') ?? DEFAULT_MAX_RETRIES,
    priceInPer1k: pick('priceInPer1k') ?? known?.in ?? 0,
    priceOutPer1k: pick('priceOutPer1k') ?? known?.out ?? 0,
  };
  const provider = (
    env[`CODEMESH_${role.toUpperCase()}_LLM_PROVIDER`] ||
    env.CODEMESH_LLM_PROVIDER ||
    ''
  ).trim();
  if (provider === 'replay') {
    const dataset = env.CODEMESH_REPLAY_DATASET?.trim();
    const repos = env.CODEMESH_REPLAY_REPOS?.trim();
    if (!dataset || !repos) {
      throw new ModelConfigError(
        'CODEMESH_LLM_PROVIDER=replay needs CODEMESH_REPLAY_DATASET (SWE-bench JSON lines) and CODEMESH_REPLAY_REPOS (<dir>/<owner>__<name> clones)',
      );
    }
    cfg.replay = { dataset, repos };
    if (!pick('model')) cfg.model = 'replay';
  } else if (provider === 'local') {
    const path = (
      env[`CODEMESH_${role.toUpperCase()}_LLM_MODEL_PATH`] ||
      env.CODEMESH_LLM_MODEL_PATH ||
      ''
    ).trim();
    if (!path || !isAbsolute(path))
      throw new ModelConfigError(
        'CODEMESH_LLM_PROVIDER=local needs CODEMESH_LLM_MODEL_PATH: the absolute path of a GGUF file',
      );
    cfg.local = { path, ...localTuning(env) };
    if (!pick('model')) cfg.model = basename(path).replace(/\.gguf$/i, '');
    cfg.priceInPer1k = pick('priceInPer1k') ?? 0;
    cfg.priceOutPer1k = pick('priceOutPer1k') ?? 0;
  } else if (provider && provider !== 'openai') {
    throw new ModelConfigError(`CODEMESH_LLM_PROVIDER takes openai, replay or local, not "${provider}"`);
  }
  validateModelConfig(cfg);
  return cfg;
}

/** Throws `ModelConfigError` for settings no server could accept. `createModelClient` checks this too. */
export function validateModelConfig(cfg: ModelConfig): void {
  let url: URL;
  try {
    url = new URL(cfg.baseURL);
  } catch {
    // The value itself is not echoed: a key pasted into the wrong variable must not end up in a log.
    throw new ModelConfigError('the model base URL is not a valid URL (CODEMESH_LLM_BASE_URL)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ModelConfigError(`the model base URL must be http(s), got ${url.protocol}`);
  }
  if (url.username || url.password) {
    // fetch refuses such URLs; say so before the password ends up in some error message.
    throw new ModelConfigError(
      'the model base URL must not contain credentials; put the key in CODEMESH_LLM_API_KEY instead',
    );
  }
  if (!Number.isInteger(cfg.timeoutMs) || cfg.timeoutMs <= 0) {
    throw new ModelConfigError('timeoutMs must be a positive integer (CODEMESH_LLM_TIMEOUT_MS)');
  }
  if (!Number.isInteger(cfg.maxRetries) || cfg.maxRetries > 10) {
    throw new ModelConfigError('maxRetries must be an integer from 0 to 10 (CODEMESH_LLM_MAX_RETRIES)');
  }
}

/** The config with the key masked and the URL stripped of credentials: safe to log or show. */
export function describeModelConfig(cfg: ModelConfig): Omit<ModelConfig, 'apiKey'> & { apiKey: string } {
  return {
    ...cfg,
    baseURL: safeUrl(cfg.baseURL),
    apiKey: cfg.apiKey && cfg.apiKey !== NO_API_KEY ? '***' : '(none)',
  };
}

/** USD for `usage` at the configured per-1k prices, rounded to 1e-9 to keep float noise out of ledgers. */
export function computeCostUsd(
  usage: Pick<TokenUsage, 'promptTokens' | 'completionTokens'>,
  prices: Pick<ModelConfig, 'priceInPer1k' | 'priceOutPer1k'>,
): number {
  const usd =
    (usage.promptTokens * prices.priceInPer1k + usage.completionTokens * prices.priceOutPer1k) / 1000;
  return Math.round(usd * 1e9) / 1e9;
}

/**
 * The embedded model's tuning from the environment: `CODEMESH_LOCAL_THREADS`, `CODEMESH_LOCAL_CONTEXT`,
 * `CODEMESH_LOCAL_MAX_TOKENS`, `CODEMESH_LOCAL_TEMPERATURE`, `CODEMESH_LOCAL_SEED` (unset or invalid: defaults).
 */
export function localTuning(env: Record<string, string | undefined>): Omit<LocalModelSettings, 'path'> {
  const num = (name: string, int: boolean): number | undefined => {
    const raw = env[name]?.trim();
    if (!raw) return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0 || (int && !Number.isInteger(n)))
      throw new ModelConfigError(`${name} must be a non-negative ${int ? 'integer' : 'number'}`);
    return n;
  };
  const out: Omit<LocalModelSettings, 'path'> = {};
  const threads = num('CODEMESH_LOCAL_THREADS', true);
  const contextSize = num('CODEMESH_LOCAL_CONTEXT', true);
  const maxTokens = num('CODEMESH_LOCAL_MAX_TOKENS', true);
  const temperature = num('CODEMESH_LOCAL_TEMPERATURE', false);
  const seed = num('CODEMESH_LOCAL_SEED', true);
  if (threads) out.threads = threads;
  if (contextSize) out.contextSize = contextSize;
  if (maxTokens) out.maxTokens = maxTokens;
  if (temperature !== undefined) out.temperature = temperature;
  if (seed !== undefined) out.seed = seed;
  return out;
}
