// The model clients the agents use: per call, the settings of the task's org and the role are read from the
// blackboard (`models.<org>`, written by `POST /v1/config/models`), so a change applies to the next call
// without a restart; the environment is the fallback. Clients are reused while the settings stay the same.
import { createHash } from 'node:crypto';
import type { Blackboard } from '../../blackboard/index.ts';
import { DEFAULT_ORG, keys, OrgModelSettings } from '../../schemas/index.ts';
import {
  createModelClient,
  type ModelClient,
  type ModelConfig,
  resolveModelConfig,
  safeUrl,
  targetOf,
} from '../llm/index.ts';
import { resolveOrgModelConfig } from '../llm/org-config.ts';
import { loadSecretKey, type SecretBox, secretBox } from '../llm/secret-box.ts';
import type { ModelProvider } from './types.ts';

const MAX_CLIENTS = 64;

export interface BoardModelsOptions {
  env: Record<string, string | undefined>;
  /** Where `secret.key` is (the gateway's state dir); CODEMESH_SECRET_KEY wins. */
  stateDir?: string;
  /** Builds a client for a resolved config (tests). */
  create?: (cfg: ModelConfig) => ModelClient;
}

/**
 * @example
 * const models = modelsFromBoard(mesh.board, { env: process.env, stateDir: '.codemesh' });
 * await models('coder', { orgId: task.orgId }).chat({ role: 'coder', taskId, messages });
 */
export function modelsFromBoard(board: Blackboard, opts: BoardModelsOptions): ModelProvider {
  const create = opts.create ?? createModelClient;
  const clients = new Map<string, ModelClient>();
  let box: SecretBox | undefined;
  // Read when a sealed key is first met (the gateway may create the key file after this process started).
  const open = (sealed: string, aad: string): string => {
    if (!box) {
      const key = loadSecretKey({ env: opts.env, stateDir: opts.stateDir });
      if (!key) throw new Error('no secret key (CODEMESH_SECRET_KEY or <state dir>/secret.key)');
      box = secretBox(key);
    }
    return box.open(sealed, aad);
  };
  const clientFor = (cfg: ModelConfig): ModelClient => {
    // Keyed by a digest: the map never holds a key in clear (the client's closure does, as it must).
    const id = createHash('sha256').update(JSON.stringify(cfg)).digest('hex');
    let c = clients.get(id);
    if (!c) {
      if (clients.size >= MAX_CLIENTS) clients.clear();
      c = create(cfg);
      clients.set(id, c);
    }
    return c;
  };
  return (role, scope = {}) => {
    const org = scope.orgId ?? DEFAULT_ORG;
    let last: ModelConfig | undefined;
    const described = () => last ?? resolveModelConfig(role, { env: opts.env });
    return {
      get model() {
        return described().model;
      },
      get baseURL() {
        return safeUrl(described().baseURL);
      },
      async target() {
        const settings = (await board.get(keys.models(org), OrgModelSettings))?.value;
        return targetOf(resolveOrgModelConfig(role, { env: opts.env, org, settings, open }));
      },
      async chat(req) {
        const settings = (await board.get(keys.models(org), OrgModelSettings))?.value;
        const cfg = resolveOrgModelConfig(role, { env: opts.env, org, settings, open });
        last = cfg;
        return clientFor(cfg).chat(req);
      },
    };
  };
}
