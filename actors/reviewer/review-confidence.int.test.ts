// The review's calibrated confidence from the blackboard: the task's retrieved context and recalled memories
// reach its features, and weights written by `codemesh calibrate` in the state dir are used.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { MeshConnection } from '../../blackboard/index.ts';
import { keys, MemoryEntry, type Patch, PlanContext, TaskRecord, TaskRequest } from '../../schemas/index.ts';
import { type NatsFixture, startNatsFixture } from '../../test/nats.ts';
import { initialWorkflow } from '../conductor/workflow.ts';
import { memoryRepoKey } from '../memory/index.ts';
import type { StepInput } from '../runtime/types.ts';
import { CONFIDENCE_FEATURE_NAMES, calibrationPath, DEFAULT_CALIBRATION } from './confidence.ts';
import { reviewConfidence } from './review-confidence.ts';

let nats: NatsFixture;
let mesh: MeshConnection;
beforeAll(async () => {
  nats = await startNatsFixture();
  mesh = await nats.connect('review-confidence-test');
}, 120_000);
afterAll(async () => nats?.stop());

const at = '2026-12-02T00:00:00.000Z';
const task = TaskRecord.parse({
  id: 't-conf000001',
  request: TaskRequest.parse({
    repo: '/srv/r',
    title: 'Fix paginate off by one',
    description: 'paginate skips the last page',
  }),
  repoPath: '/srv/r',
  baseCommit: 'a'.repeat(40),
  status: 'reviewing',
  attempt: 1,
  workflow: initialWorkflow({ maxAttempts: 2, approveMode: 'manual' }),
  createdAt: at,
  updatedAt: at,
});
const patch: Patch = {
  id: `${task.id}-p1`,
  taskId: task.id,
  attempt: 1,
  baseCommit: task.baseCommit,
  diff: 'diff --git a/p.py b/p.py\n',
  files: ['p.py'],
  summary: 'fix',
  stats: { additions: 3, deletions: 1 },
  createdAt: at,
};

it('reads the context and the memories into the features and uses the state dir’s weights', async () => {
  await mesh.board.putOnce(
    keys.context(task.id),
    PlanContext,
    {
      taskId: task.id,
      commit: task.baseCommit,
      query: 'paginate',
      snippets: [
        { path: 'p.py', startLine: 1, endLine: 9, symbol: 'paginate', score: 8, why: '', text: '' },
        { path: 'q.py', startLine: 1, endLine: 9, symbol: '', score: 2, why: '', text: '' },
      ],
      at,
    },
    () => true,
  );
  await mesh.board.putOnce(
    keys.memory(memoryRepoKey(task.repoPath), 't-earlier0001', 't-earlier0001-p1'),
    MemoryEntry,
    {
      taskId: 't-earlier0001',
      repoPath: task.repoPath,
      title: 'Fix paginate off by one on the first page',
      description: 'paginate skips the first page',
      patchId: 't-earlier0001-p1',
      files: ['p.py'],
      diff: '',
      outcome: 'reverted',
      createdAt: at,
      updatedAt: at,
    },
    () => true,
  );
  const dataDir = mkdtempSync(join(tmpdir(), 'codemesh-conf-'));
  const input = { task, mesh, attempt: 1, deps: { dataDir } } as unknown as StepInput;
  const verdict = { decision: 'approve' as const, confidence: 0.9, critique: 'ok', risks: [] };
  const c = await reviewConfidence(input, verdict, patch, undefined);
  expect(c.raw).toBe(0.9);
  expect(c.model).toBe(DEFAULT_CALIBRATION.version);
  expect(c.features).toMatchObject({
    retrievalMargin: 0.75,
    memoryFailed: 1,
    memoryIntegrated: 0,
    outcome: 'none',
  });
  expect(c.calibrated).toBeGreaterThan(0);
  expect(c.calibrated).toBeLessThan(1);

  // Weights that say "always 0.5" (bias 0, nothing else) are used once written.
  writeFileSync(
    calibrationPath(dataDir),
    JSON.stringify({
      version: 'flat',
      names: [...CONFIDENCE_FEATURE_NAMES],
      weights: CONFIDENCE_FEATURE_NAMES.map(() => 0),
      fittedOn: 'test',
      at,
    }),
  );
  const flat = await reviewConfidence(input, verdict, patch, undefined);
  expect(flat).toMatchObject({ model: 'flat', calibrated: 0.5, raw: 0.9 });
});
