import { describe, expect, it } from 'vitest';
import { outLinks, safeUrl } from './pr.ts';

const pr = {
  owner: 'acme',
  repo: 'calc',
  number: 12,
  url: 'https://github.example/acme/calc/pull/12',
  state: 'ready' as const,
};

describe('task links', () => {
  it('links the issue, the pull request with its state, and the revert', () => {
    expect(
      outLinks({
        issueUrl: 'https://github.example/acme/calc/issues/3',
        pullRequest: { ...pr, revert: { number: 13, url: 'https://github.example/acme/calc/pull/13' } },
      }),
    ).toEqual([
      { label: 'issue', url: 'https://github.example/acme/calc/issues/3' },
      { label: 'pull request acme/calc#12', url: pr.url, state: 'ready' },
      { label: 'revert pull request #13', url: 'https://github.example/acme/calc/pull/13' },
    ]);
  });
  it('has nothing to link without a record', () => {
    expect(outLinks({ issueUrl: null, pullRequest: null })).toEqual([]);
    expect(outLinks({})).toEqual([]);
  });
  it('never links a script or a relative URL', () => {
    expect(safeUrl('javascript:alert(1)')).toBeUndefined();
    expect(safeUrl('/v1/tasks')).toBeUndefined();
    expect(safeUrl(42)).toBeUndefined();
    expect(outLinks({ pullRequest: { ...pr, url: 'javascript:alert(1)' } })).toEqual([]);
  });
});
