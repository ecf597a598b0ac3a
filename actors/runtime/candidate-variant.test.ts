import { describe, expect, it } from 'vitest';
import { candidateVariantsFromEnv, resolveVariant } from './candidate-variant.ts';

describe('candidate variants', () => {
  it('spreads temperatures over 0.2–1.0 when nothing is configured', () => {
    expect([1, 2, 3].map((i) => resolveVariant(undefined, [], i, 3))).toEqual([
      { temperature: 0.2 },
      { temperature: 0.6 },
      { temperature: 1 },
    ]);
    expect(resolveVariant(undefined, [], 1, 1)).toEqual({});
  });

  it('takes the org’s variant over the environment’s, field by field', () => {
    const env = candidateVariantsFromEnv({
      CODEMESH_CANDIDATE_MODELS: 'env-a,,env-c',
      CODEMESH_CANDIDATE_TEMPERATURES: '0.3,0.5',
    });
    expect(env).toEqual([{ model: 'env-a', temperature: 0.3 }, { temperature: 0.5 }, { model: 'env-c' }]);
    const org = { variants: [{ temperature: 0.9 }, { model: 'org-b' }] };
    expect(resolveVariant(org, env, 1, 3)).toEqual({ model: 'env-a', temperature: 0.9 });
    expect(resolveVariant(org, env, 2, 3)).toEqual({ model: 'org-b', temperature: 0.5 });
    expect(resolveVariant(org, env, 3, 3)).toEqual({ model: 'env-c', temperature: 1 });
  });

  it('refuses a temperature outside 0–2', () => {
    expect(() => candidateVariantsFromEnv({ CODEMESH_CANDIDATE_TEMPERATURES: '0.2,hot' })).toThrow(/"hot"/);
    expect(() => candidateVariantsFromEnv({ CODEMESH_CANDIDATE_TEMPERATURES: '3' })).toThrow();
  });
});
