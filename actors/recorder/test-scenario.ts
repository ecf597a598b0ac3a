// Test helper: one task's worth of blackboard entries and events, as the agents would leave them.
import type { MeshConnection } from '../../blackboard/index.ts';
import {
  Approval,
  CostLedger,
  keys,
  Patch,
  Plan,
  Review,
  type TaskEventInput,
  TaskRecord,
  TestRun,
} from '../../schemas/index.ts';

export async function seedTask(
  mesh: MeshConnection,
  opts: { id: string; repoPath: string; status?: TaskRecord['status'] },
): Promise<{ events: TaskEventInput[] }> {
  const { id, repoPath } = opts;
  const at = '2026-11-25T10:00:00.000Z';
  const base = 'a'.repeat(40);
  const pid = `${id}-p1`;
  const task: TaskRecord = {
    id,
    request: {
      repo: repoPath,
      title: 'Fix subtract',
      description: 'contact me at dev@example.com with key sk-abcdefghijklmnop1234',
      approve: 'manual',
      budget: { maxAttempts: 3, maxCostUsd: 5, maxTokens: 100000 },
    },
    repoPath,
    baseCommit: base,
    status: opts.status ?? 'awaiting_approval',
    attempt: 1,
    workflow: {
      value: opts.status ?? 'awaiting_approval',
      context: { attempt: 1, maxAttempts: 3, approveMode: 'manual', patchId: pid, gate: 1 },
    },
    createdAt: at,
    updatedAt: at,
  };
  await mesh.board.putOnce(keys.task(id), TaskRecord, task, () => true);
  await mesh.board.putOnce(
    keys.plan(id),
    Plan,
    {
      summary: 'make subtract right',
      subtasks: [{ id: 'fix', title: 'Fix', successCriteria: ['5-3=2'] }],
    },
    () => true,
  );
  await mesh.board.putOnce(
    keys.patch(pid),
    Patch,
    {
      id: pid,
      taskId: id,
      attempt: 1,
      baseCommit: base,
      diff: '--- a/calc.ts\n+++ b/calc.ts\n@@ -1 +1 @@\n-a + b\n+a - b\n',
      files: ['calc.ts'],
      summary: '1 file',
      stats: { additions: 1, deletions: 1 },
      createdAt: at,
    },
    () => true,
  );
  await mesh.board.putOnce(
    keys.testrun(id, 1),
    TestRun,
    {
      id: `${id}-1`,
      taskId: id,
      attempt: 1,
      patchId: pid,
      runner: 'vitest',
      command: ['npx', 'vitest', 'run'],
      exitCode: 0,
      timedOut: false,
      passed: true,
      counts: { passed: 2, failed: 0, skipped: 0 },
      tests: [{ name: 'subtracts', status: 'passed' }],
      log: 'ok Authorization: Bearer abc.def.ghi',
      // A clock's float noise, as `performance.now()` differences give (rounded by the schema).
      durationMs: 7613.290539000001,
      createdAt: at,
    },
    () => true,
  );
  await mesh.board.putOnce(
    keys.review(id, 1),
    Review,
    {
      id: `${id}-r1`,
      taskId: id,
      attempt: 1,
      patchId: pid,
      decision: 'approve',
      confidence: 0.9,
      critique: 'fine',
      risks: [],
      createdAt: at,
      calibration: {
        raw: 0.9,
        calibrated: 0.71,
        model: 'test-1',
        features: {
          raw: 0.9,
          approve: true,
          outcome: 'pass',
          fixed: 1,
          regressions: 0,
          reproduction: 'none',
          addedCovered: null,
          files: 1,
          lines: 2,
          retrievalMargin: 0.5,
          policyBlock: 0,
          policyWarn: 0,
          memoryIntegrated: 0,
          memoryFailed: 0,
        },
      },
    },
    () => true,
  );
  const call = {
    callId: `${id}-call1`,
    role: 'coder',
    model: 'm',
    promptTokens: 100,
    completionTokens: 20,
    costUsd: 0.08,
    at,
  };
  await mesh.board.putOnce(
    keys.cost(id),
    CostLedger,
    {
      taskId: id,
      entries: [call],
      totals: { promptTokens: 100, completionTokens: 20, costUsd: 0.08, calls: 1 },
    },
    () => true,
  );
  const events: TaskEventInput[] = [
    { id: `${id}:created`, taskId: id, type: 'task.created', at, data: { title: 'Fix subtract' } },
    {
      id: `${id}-plan-1#1:awarded`,
      taskId: id,
      type: 'step.awarded',
      at,
      step: { kind: 'plan', attempt: 1, round: 1 },
      data: { instanceId: 'planner-1' },
    },
    { id: `${id}-plan-1:plan.ready`, taskId: id, type: 'plan.ready', at, data: {} },
    {
      id: `${id}-plan-1:completed`,
      taskId: id,
      type: 'step.completed',
      at,
      step: { kind: 'plan', attempt: 1, round: 1 },
      data: {},
    },
    {
      id: `${id}-code-1:patch.proposed`,
      taskId: id,
      type: 'patch.proposed',
      at,
      step: { kind: 'code', attempt: 1 },
      data: { patchId: pid },
    },
    {
      id: `cost:${call.callId}`,
      taskId: id,
      type: 'cost.recorded',
      at,
      step: { kind: 'code', attempt: 1, round: 1 },
      data: { role: 'coder', model: 'm', promptTokens: 100, completionTokens: 20, costUsd: 0.08 },
    },
    {
      id: `${id}-test-1:test.completed`,
      taskId: id,
      type: 'test.completed',
      at,
      step: { kind: 'test', attempt: 1 },
      data: {},
    },
    {
      id: `${id}-review-1:review.completed`,
      taskId: id,
      type: 'review.completed',
      at,
      step: { kind: 'review', attempt: 1 },
      data: {},
    },
    {
      id: `${id}:approval-requested:${pid}`,
      taskId: id,
      type: 'approval.requested',
      at,
      data: { patchId: pid },
    },
  ];
  for (const e of events) await mesh.bus.publish(e);
  return { events };
}

/** Approves the seeded patch on the board (as the gateway would) and publishes the event. */
export async function seedApproval(mesh: MeshConnection, id: string): Promise<void> {
  const pid = `${id}-p1`;
  const at = '2026-11-25T10:05:00.000Z';
  await mesh.board.putOnce(
    keys.approval(pid),
    Approval,
    { patchId: pid, taskId: id, decision: 'approve', comment: 'ok', by: 'u', at },
    () => true,
  );
  await mesh.bus.publish({
    id: `${pid}:approval`,
    taskId: id,
    type: 'approval.granted',
    at,
    data: { patchId: pid },
  });
}
