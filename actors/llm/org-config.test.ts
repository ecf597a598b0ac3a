import { describe, expect, it } from 'vitest';
import type { OrgModelSettings } from '../../schemas/index.ts';
import { NO_API_KEY } from './config.ts';
import { resolveOrgModelConfig } from './org-config.ts';
import { secretBox } from './secret-box.ts';

const ENV = {
  CODEMESH_LLM_BASE_URL: 'http://127.0.0.1:1111/v1',
  CODEMESH_LLM_API_KEY: 'sk-operator-key',
  CODEMESH_LLM_MODEL: 'env-model',
  CODEMESH_LLM_PRICE_IN_PER_1K: '0.5',
  CODEMESH_LLM_PRICE_OUT_PER_1K: '1.5',
};
const box = secretBox(Buffer.alloc(32, 3));
const settings = (roles: OrgModelSettings['roles']): OrgModelSettings => ({
  org: 'acme',
  roles,
  updatedAt: '2026-12-03T00:00:00.000Z',
  updatedBy: 'u',
});
const resolve = (role: string, s?: OrgModelSettings, open: typeof box.open | undefined = box.open) =>
  resolveOrgModelConfig(role, { env: ENV, org: 'acme', settings: s, open });

describe('model settings of an org over the environment', () => {
  it('without org settings the environment decides', () => {
    const cfg = resolve('coder');
    expect(cfg).toMatchObject({
      baseURL: ENV.CODEMESH_LLM_BASE_URL,
      apiKey: 'sk-operator-key',
      model: 'env-model',
    });
  });

  it("a role's own setting wins over the org default, field by field; the sealed key is opened", () => {
    const s = settings({
      default: {
        baseUrl: 'http://127.0.0.1:2222/v1/',
        model: 'org-model',
        apiKeySealed: box.seal('sk-org-default', 'models:acme:default'),
      },
      coder: { model: 'coder-model', priceInPer1k: 2 },
    });
    expect(resolve('planner', s)).toMatchObject({
      baseURL: 'http://127.0.0.1:2222/v1',
      apiKey: 'sk-org-default',
      model: 'org-model',
      priceInPer1k: 0,
      priceOutPer1k: 0,
    });
    expect(resolve('coder', s)).toMatchObject({
      baseURL: 'http://127.0.0.1:2222/v1',
      apiKey: 'sk-org-default',
      model: 'coder-model',
      priceInPer1k: 2,
    });
  });

  it("never sends the operator's environment key to a base URL the org chose", () => {
    const cfg = resolve('coder', settings({ coder: { baseUrl: 'http://attacker.example/v1' } }));
    expect(cfg.baseURL).toBe('http://attacker.example/v1');
    expect(cfg.apiKey).toBe(NO_API_KEY);
    // An org key alone goes to the operator's endpoint (the org pays with its own key there).
    const keyOnly = resolve(
      'coder',
      settings({ coder: { apiKeySealed: box.seal('sk-org', 'models:acme:coder') } }),
    );
    expect(keyOnly).toMatchObject({
      baseURL: ENV.CODEMESH_LLM_BASE_URL,
      apiKey: 'sk-org',
      model: 'env-model',
    });
    expect(keyOnly.priceInPer1k).toBe(0.5);
  });

  it('a sealed key that cannot be opened fails the call instead of falling back to another key', () => {
    const s = settings({
      coder: { baseUrl: 'http://x.example/v1', apiKeySealed: box.seal('k', 'models:acme:coder') },
    });
    expect(() => resolveOrgModelConfig('coder', { env: ENV, org: 'acme', settings: s })).toThrow(
      /no secret key/,
    );
    // Copied under another role, the sealed value does not open (bound to org and role).
    const moved = settings({ reviewer: { apiKeySealed: s.roles.coder!.apiKeySealed } });
    expect(() => resolve('reviewer', moved)).toThrow(/does not open/);
  });
});
