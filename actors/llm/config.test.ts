// Settings resolution (environment, config object, defaults) and the secret-scrubbing helpers.
import { describe, expect, it } from 'vitest';
import {
  computeCostUsd,
  describeModelConfig,
  ModelConfigError,
  parseRoleMarker,
  redactSecrets,
  resolveModelConfig,
  roleMarker,
  safeUrl,
} from './index.ts';

describe('resolveModelConfig', () => {
  it('defaults to OpenAI and gpt-4o-mini with its prices', () => {
    const cfg = resolveModelConfig('planner', { env: {} });
    expect(cfg).toEqual({
      baseURL: 'https://api.openai.com/v1',
      apiKey: 'codemesh-no-key',
      model: 'gpt-4o-mini',
      timeoutMs: 120_000,
      maxRetries: 2,
      priceInPer1k: 0.00015,
      priceOutPer1k: 0.0006,
    });
  });

  it('falls back to OPENAI_API_KEY and OPENAI_BASE_URL', () => {
    const cfg = resolveModelConfig('coder', {
      env: { OPENAI_API_KEY: 'sk-openai', OPENAI_BASE_URL: 'http://proxy.local/v1/' },
    });
    expect(cfg.apiKey).toBe('sk-openai');
    expect(cfg.baseURL).toBe('http://proxy.local/v1');
  });

  it('prefers role env over generic env over config object over OPENAI_*', () => {
    const env = {
      OPENAI_API_KEY: 'sk-openai',
      OPENAI_BASE_URL: 'http://openai-env/v1',
      CODEMESH_LLM_MODEL: 'generic-model',
      CODEMESH_LLM_API_KEY: 'sk-generic',
      CODEMESH_CODER_LLM_MODEL: 'coder-model',
      CODEMESH_LLM_TIMEOUT_MS: '3000',
    };
    const file = {
      default: { baseURL: 'http://file-default/v1', maxRetries: 4, priceInPer1k: 0.5 },
      coder: { model: 'file-coder-model', baseURL: 'http://file-coder/v1', timeoutMs: 9000 },
    };
    const coder = resolveModelConfig('coder', { env, file });
    expect(coder).toMatchObject({
      model: 'coder-model',
      apiKey: 'sk-generic',
      baseURL: 'http://file-coder/v1',
      timeoutMs: 3000,
      maxRetries: 4,
      priceInPer1k: 0.5,
      priceOutPer1k: 0,
    });
    const reviewer = resolveModelConfig('reviewer', { env, file });
    expect(reviewer).toMatchObject({ model: 'generic-model', baseURL: 'http://file-default/v1' });
    const planner = resolveModelConfig('planner', {
      env: { CODEMESH_PLANNER_LLM_BASE_URL: 'http://p/v1' },
      file,
    });
    expect(planner.baseURL).toBe('http://p/v1');
  });

  it('treats empty environment values as unset', () => {
    const cfg = resolveModelConfig('coder', {
      env: { CODEMESH_LLM_MODEL: '', CODEMESH_CODER_LLM_MODEL: ' ' },
    });
    expect(cfg.model).toBe('gpt-4o-mini');
  });

  it('reads numeric settings from the environment', () => {
    const cfg = resolveModelConfig('coder', {
      env: {
        CODEMESH_LLM_MAX_RETRIES: '0',
        CODEMESH_CODER_LLM_PRICE_IN_PER_1K: '0.01',
        CODEMESH_CODER_LLM_PRICE_OUT_PER_1K: '0.03',
      },
    });
    expect(cfg).toMatchObject({ maxRetries: 0, priceInPer1k: 0.01, priceOutPer1k: 0.03 });
  });

  it('rejects invalid values with ModelConfigError', () => {
    expect(() => resolveModelConfig('coder', { env: { CODEMESH_LLM_TIMEOUT_MS: 'soon' } })).toThrow(
      /CODEMESH_LLM_TIMEOUT_MS must be a non-negative number/,
    );
    expect(() => resolveModelConfig('coder', { env: { CODEMESH_LLM_TIMEOUT_MS: '0' } })).toThrow(
      ModelConfigError,
    );
    expect(() => resolveModelConfig('coder', { env: { CODEMESH_LLM_BASE_URL: 'ftp://x' } })).toThrow(
      /http\(s\)/,
    );
    expect(() =>
      resolveModelConfig('coder', { env: {}, file: { coder: { baseUrl: 'http://typo' } } }),
    ).toThrow(ModelConfigError);
    expect(() => resolveModelConfig('Coder!', { env: {} })).toThrow(ModelConfigError);
  });

  it('does not echo a malformed base URL, which may be a misplaced key', () => {
    const err = (() => {
      try {
        resolveModelConfig('coder', { env: { CODEMESH_LLM_BASE_URL: 'sk-live-oops-a-key' } });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(ModelConfigError);
    expect(err?.message).toContain('CODEMESH_LLM_BASE_URL');
    expect(err?.message).not.toContain('sk-live-oops-a-key');
  });

  it('refuses credentials in the base URL', () => {
    expect(() =>
      resolveModelConfig('coder', { env: { CODEMESH_LLM_BASE_URL: 'https://me:hunter22@host/v1' } }),
    ).toThrow(/must not contain credentials/);
  });
});

describe('helpers', () => {
  it('describeModelConfig masks the key and URL credentials', () => {
    const shown = describeModelConfig({
      ...resolveModelConfig('coder', { env: { CODEMESH_LLM_API_KEY: 'sk-very-secret' } }),
      baseURL: 'https://host/v1?api-key=abcdef',
    });
    expect(JSON.stringify(shown)).not.toContain('sk-very-secret');
    expect(JSON.stringify(shown)).not.toContain('abcdef');
    expect(shown.apiKey).toBe('***');
    expect(describeModelConfig(resolveModelConfig('coder', { env: {} })).apiKey).toBe('(none)');
  });

  it('redactSecrets replaces every occurrence and skips tiny secrets', () => {
    expect(redactSecrets('a sk-123456 b sk-123456', ['sk-123456', undefined, 'b'])).toBe('a *** b ***');
  });

  it('safeUrl drops user info, query and trailing slash', () => {
    expect(safeUrl('https://u:p@host:8080/v1/?key=x#h')).toBe('https://host:8080/v1');
    expect(safeUrl('not a url')).toBe('<invalid URL>');
  });

  it('computeCostUsd prices per 1k tokens', () => {
    expect(
      computeCostUsd(
        { promptTokens: 2000, completionTokens: 1000 },
        { priceInPer1k: 0.1, priceOutPer1k: 0.3 },
      ),
    ).toBe(0.5);
    expect(
      computeCostUsd({ promptTokens: 7, completionTokens: 3 }, { priceInPer1k: 0, priceOutPer1k: 0 }),
    ).toBe(0);
  });

  it('roleMarker and parseRoleMarker agree', () => {
    expect(parseRoleMarker(`${roleMarker('reviewer')} You review patches.`)).toBe('reviewer');
    expect(parseRoleMarker('You review patches. [codemesh:role=reviewer]')).toBeUndefined();
  });
});
