// Picks the model client for a config: any OpenAI-compatible server, or codemesh's own replay model, which
// also answers over HTTP (a loopback server, one per dataset and process, started on first use).
import {
  createModelClient as createHttpModelClient,
  type ModelClientDeps,
  preflight as httpPreflight,
  targetOf,
} from './client.ts';
import { replayCasesFromDataset, type ReplayServer, startReplayServer } from './replay.ts';
import type { ModelClient, ModelConfig, PreflightResult } from './types.ts';

const servers = new Map<string, Promise<ReplayServer>>();

function replayServer(replay: NonNullable<ModelConfig['replay']>): Promise<ReplayServer> {
  const key = `${replay.dataset}\0${replay.repos}`;
  let s = servers.get(key);
  if (!s) {
    s = startReplayServer(replayCasesFromDataset(replay.dataset, replay.repos)).then((srv) => {
      // The server lives as long as the process and must not keep it alive.
      srv.unref();
      return srv;
    });
    s.catch(() => servers.delete(key));
    servers.set(key, s);
  }
  return s;
}

/**
 * The model client for `cfg` (see `createModelClient` in client.ts for the HTTP one).
 *
 * @example
 * const llm = createModelClient(resolveModelConfig('coder', { env: process.env }));
 */
export function createModelClient(cfg: ModelConfig, deps: ModelClientDeps = {}): ModelClient {
  const replay = cfg.replay;
  if (!replay) return createHttpModelClient(cfg, deps);
  let inner: Promise<ModelClient> | undefined;
  return {
    model: cfg.model,
    baseURL: 'replay (loopback)',
    async target() {
      return targetOf(cfg);
    },
    async chat(req) {
      inner ??= replayServer(replay).then((s) => createHttpModelClient({ ...cfg, baseURL: s.url }, deps));
      return (await inner).chat(req);
    },
  };
}

/** Checks that the model answers; for the replay model, starts it first. */
export async function preflight(
  cfg: ModelConfig,
  signal?: AbortSignal,
  opts: { timeoutMs?: number; fetch?: typeof fetch } = {},
): Promise<PreflightResult> {
  if (!cfg.replay) return httpPreflight(cfg, signal, opts);
  const s = await replayServer(cfg.replay);
  return httpPreflight({ ...cfg, baseURL: s.url }, signal, opts);
}
