// The model client of codemesh: settings per role, chat completions with retries and costs, a preflight check.
export { type ModelClientDeps, targetOf, toCostEntry } from './client.ts';
export { createModelClient, preflight } from './provider.ts';
export {
  REPLAY_MODEL,
  type ReplayCase,
  ReplayError,
  type ReplayServer,
  replayCasesFromDataset,
  startReplayServer,
} from './replay.ts';
export {
  computeCostUsd,
  DEFAULT_BASE_URL,
  DEFAULT_MAX_RETRIES,
  DEFAULT_MODEL,
  DEFAULT_TIMEOUT_MS,
  describeModelConfig,
  ModelConfigFile,
  type ResolveOptions,
  resolveModelConfig,
} from './config.ts';
export {
  ModelAbortedError,
  ModelAuthError,
  ModelConfigError,
  ModelError,
  type ModelErrorCode,
  ModelRateLimitError,
  ModelRequestError,
  ModelResponseError,
  ModelServerError,
  ModelTimeoutError,
  ModelUnreachableError,
  redactSecrets,
  safeUrl,
} from './errors.ts';
export * from './types.ts';
