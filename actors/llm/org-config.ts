// The settings of one model call: the org's settings for the role (`POST /v1/config/models`, read from the
// blackboard at call time), field by field over the environment's, which stay the fallback.
import { type OrgModelSettings, sealedKeyAad, type StoredModelSetting } from '../../schemas/index.ts';
import { knownPrice, NO_API_KEY, resolveModelConfig, validateModelConfig } from './config.ts';
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
  const baseUrl = own.baseUrl ?? def.baseUrl;
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
