// The settings of one model call: the org's settings for the role (`POST /v1/config/models`, read from the
// blackboard at call time), field by field over the environment's, which stay the fallback.
import { type OrgModelSettings, sealedKeyAad, type StoredModelSetting } from '../../schemas/index.ts';
import { realpathSync } from 'node:fs';
import { basename, isAbsolute, relative } from 'node:path';
import { knownPrice, localTuning, NO_API_KEY, resolveModelConfig, validateModelConfig } from './config.ts';
import { ModelConfigError } from './errors.ts';
import type { ModelConfig } from './types.ts';

export interface OrgResolveOptions {
  env: Record<string, string | undefined>;
  org: string;
  /** The org's settings; undefined means the environment's alone. */
  settings?: OrgModelSettings;
  /** Opens a sealed API key (see secret-box.ts); undefined when this process has no secret key. */
  open?: (sealed: string, aad: string) => string;
}

/**
 * For each field: the role's own org setting, else the org's `default`, else the environment
 * (`resolveModelConfig`). The API key goes with the endpoint: when the org names the base URL, the key is
 * the org's (sealed on the blackboard) or none, never the operator's environment key, so an org admin cannot
 * point the operator's key at a server of their choosing. Timeouts and retries stay the environment's.
 *
 * @example
 * const cfg = resolveOrgModelConfig('coder', { env: process.env, org: 'acme', settings, open: box.open });
 */
export function resolveOrgModelConfig(role: string, opts: OrgResolveOptions): ModelConfig {
  const base = resolveModelConfig(role, { env: opts.env });
  const s = opts.settings;
  if (!s) return base;
  const own: StoredModelSetting = s.roles[role] ?? {};
  const def: StoredModelSetting = s.roles.default ?? {};
  const keyFrom = own.apiKeySealed ? role : def.apiKeySealed ? 'default' : undefined;
  let apiKey: string | undefined;
  if (keyFrom) {
    if (!opts.open)
      throw new ModelConfigError(
        `org ${opts.org} stores an API key for ${keyFrom}, but this process has no secret key to open it (set CODEMESH_SECRET_KEY to the gateway's, or share its state dir)`,
      );
    apiKey = opts.open(s.roles[keyFrom]!.apiKeySealed!, sealedKeyAad(opts.org, keyFrom));
  }
  const cfg: ModelConfig = { ...base };
  const provider = own.provider ?? def.provider;
  const baseUrl = own.baseUrl ?? def.baseUrl;
  if (provider === 'local') {
    cfg.local = { ...localTuning(opts.env), path: allowedLocalPath(own.path ?? def.path, opts) };
    cfg.model = own.model ?? def.model ?? basename(cfg.local.path).replace(/\.gguf$/i, '');
    cfg.priceInPer1k = own.priceInPer1k ?? def.priceInPer1k ?? 0;
    cfg.priceOutPer1k = own.priceOutPer1k ?? def.priceOutPer1k ?? 0;
    delete cfg.replay;
    return cfg;
  }
  if (baseUrl || provider === 'openai') delete cfg.local;
  if (baseUrl) {
    cfg.baseURL = baseUrl.replace(/\/+$/, '');
    cfg.apiKey = apiKey ?? NO_API_KEY;
    delete cfg.replay;
  } else if (apiKey) {
    cfg.apiKey = apiKey;
  }
  const model = own.model ?? def.model;
  if (model && model !== base.model) {
    cfg.model = model;
    // The environment's prices are for the environment's model.
    cfg.priceInPer1k = knownPrice(model)?.in ?? 0;
    cfg.priceOutPer1k = knownPrice(model)?.out ?? 0;
  }
  cfg.priceInPer1k = own.priceInPer1k ?? def.priceInPer1k ?? cfg.priceInPer1k;
  cfg.priceOutPer1k = own.priceOutPer1k ?? def.priceOutPer1k ?? cfg.priceOutPer1k;
  validateModelConfig(cfg);
  return cfg;
}

/**
 * An org may name a GGUF file only under a directory the operator allows (`CODEMESH_LOCAL_MODEL_DIRS`,
 * colon-separated): an org admin must not make the actors load any file of their machine.
 */
function allowedLocalPath(path: string | undefined, opts: OrgResolveOptions): string {
  if (!path)
    throw new ModelConfigError(`org ${opts.org} chose the local model provider but named no GGUF path`);
  const dirs = (opts.env.CODEMESH_LOCAL_MODEL_DIRS ?? '').split(':').filter((d) => isAbsolute(d));
  if (!dirs.length)
    throw new ModelConfigError(
      `org ${opts.org} chose a local model, but the operator allows none (set CODEMESH_LOCAL_MODEL_DIRS)`,
    );
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    throw new ModelConfigError(`org ${opts.org}'s local model ${path} does not exist on this machine`);
  }
  const inside = dirs.some((d) => {
    let rd: string;
    try {
      rd = realpathSync(d);
    } catch {
      return false;
    }
    const rel = relative(rd, real);
    return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
  });
  if (!inside)
    throw new ModelConfigError(
      `org ${opts.org}'s local model ${path} is outside the directories the operator allows (CODEMESH_LOCAL_MODEL_DIRS)`,
    );
  return real;
}
