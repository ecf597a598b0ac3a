// The eval's settings for its embedded mesh.
import { describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox-agent/index.ts';
import { meshOptions } from './evaluate.ts';

const sandbox = { run: async () => ({}) } as unknown as Sandbox;

describe('meshOptions', () => {
  it('--test-timeout-s reaches the Tester inside the mesh, not only the grading', () => {
    const o = meshOptions({ sandbox, testTimeoutMs: 900_000 }, { dataDir: '/tmp/x', roles: ['tester'] });
    expect(o).toMatchObject({ testTimeoutMs: 900_000, sandbox, dataDir: '/tmp/x', roles: ['tester'] });
    expect(meshOptions({ sandbox }, { dataDir: '/tmp/x' })).not.toHaveProperty('testTimeoutMs');
  });
});
