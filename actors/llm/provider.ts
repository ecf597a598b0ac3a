// Picks the model client for a config: any OpenAI-compatible server, or codemesh's own replay model, which
// also answers over HTTP (a loopback server, one per dataset and process, started on first use), or the
// embedded local model (a GGUF file run in-process by node-llama-cpp, actors/llm/local.ts).
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import {
  createModelClient as createHttpModelClient,
  type ModelClientDeps,
  preflight as httpPreflight,
  targetOf,
} from './client.ts';
import {
  createLocalModelClient,
  localModelAvailable,
  LOCAL_MODEL_INSTALL,
  LOCAL_MODEL_PACKAGE,
} from './local.ts';
import { replayCasesFromDataset, type ReplayServer, startReplayServer } from './replay.ts';
import { ModelConfigError } from './errors.ts';
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
  if (cfg.local) return createLocalModelClient(cfg, { newCallId: deps.newCallId });
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
  if (cfg.local) return localPreflight(cfg.local.path, cfg.model);
  if (!cfg.replay) return httpPreflight(cfg, signal, opts);
  const s = await replayServer(cfg.replay);
  return httpPreflight({ ...cfg, baseURL: s.url }, signal, opts);
}

/** The local model: the GGUF file is there and node-llama-cpp is installed (the model itself loads on first use). */
async function localPreflight(path: string, model: string): Promise<PreflightResult> {
  const t0 = Date.now();
  try {
    await access(path, constants.R_OK);
  } catch {
    throw new ModelConfigError(`the local model file ${path} cannot be read (CODEMESH_LLM_MODEL_PATH)`);
  }
  if (!(await localModelAvailable()))
    throw new ModelConfigError(
      `the local model provider needs ${LOCAL_MODEL_PACKAGE}, which the default install leaves out (732 MB): run ${LOCAL_MODEL_INSTALL}`,
    );
  return { latencyMs: Date.now() - t0, models: [model], modelListed: true };
}
