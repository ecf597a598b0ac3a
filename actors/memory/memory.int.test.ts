// The experience memory on a real blackboard (NATS KV): what each ending stores, and what a later task recalls.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MeshConnection } from '../../blackboard/index.ts';
import {
  keys,
  MemoryEntry,
  Patch,
  Plan,
  Review,
  TaskRecord,
  type TaskEvent,
  TestRun,
} from '../../schemas/index.ts';
import { type NatsFixture, startNatsFixture } from '../../test/nats.ts';
import { memoryRepoKey, memorySection, recallMemories, rememberEvent, startMemoryRole } from './index.ts';

let nats: NatsFixture;
let mesh: MeshConnection;
beforeAll(async () => {
  nats = await startNatsFixture();
  mesh = await nats.connect('memory-test');
});
afterAll(async () => nats?.stop());

const NOW = '2026-12-02T16:00:00.000Z';
// Built at run time, as the scanner's own tests do: no literal secret in the source.
const AWS_KEY = `AKIA${'Q4ZT7R2XW9L3M6NB'}`;
const GH_TOKEN = `ghp_${'x7Kq2Lm9Pz4Rt8Vw1Ys6Bn3Cd5Fg0Hj2Kl4M'}`;
const SHA = 'a'.repeat(40);
let n = 0;

/** A task with a plan, a patch, its test run and review on the board. */
async function ended(opts: {
  title: string;
  description: string;
  repo?: string;
  org?: string;
  decision?: 'approve' | 'revise';
  diff?: string;
}): Promise<TaskRecord> {
  const id = `t-memory${++n}x`;
  const task = TaskRecord.parse({
    id,
    request: { repo: opts.repo ?? '/repos/calc', title: opts.title, description: opts.description },
    ...(opts.org ? { orgId: opts.org } : {}),
    repoPath: opts.repo ?? '/repos/calc',
    baseCommit: SHA,
    status: 'completed',
    attempt: 1,
    workflow: { value: 'completed', context: {} },
    reason: opts.decision === 'revise' ? 'the reviewer asked for revisions 3 times' : undefined,
    createdAt: NOW,
    updatedAt: NOW,
  });
  await mesh.board.create(keys.task(id), TaskRecord, task);
  await mesh.board.create(keys.plan(id), Plan, {
    summary: `Plan for ${opts.title}`,
    subtasks: [
      { id: 'fix', title: 'fix', successCriteria: ['tests pass'], files: ['calc.py'], dependsOn: [] },
    ],
    risks: [],
  });
  const patch: Patch = {
    id: `${id}-p1`,
    taskId: id,
    attempt: 1,
    baseCommit: SHA,
    diff: opts.diff ?? 'diff --git a/calc.py b/calc.py\n-    return a + b\n+    return a - b\n',
    files: ['calc.py'],
    summary: 'fix',
    stats: { additions: 1, deletions: 1 },
    createdAt: NOW,
  };
  await mesh.board.create(keys.patch(patch.id), Patch, patch);
  await mesh.board.create(keys.review(id, 1), Review, {
    id: `${id}-1`,
    taskId: id,
    attempt: 1,
    patchId: patch.id,
    decision: opts.decision ?? 'approve',
    confidence: 0.8,
    critique: 'fine',
    risks: [],
    createdAt: NOW,
  });
  await mesh.board.create(keys.testrun(id, 1), TestRun, {
    id: `${id}-1`,
    taskId: id,
    attempt: 1,
    patchId: patch.id,
    runner: 'pytest',
    command: [],
    exitCode: 0,
    timedOut: false,
    passed: true,
    counts: { passed: 2, failed: 0, skipped: 0 },
    tests: [],
    log: '',
    durationMs: 1,
    createdAt: NOW,
    outcome: 'pass',
    verdict: {
      fixed: ['test_calc::test_subtract'],
      regressions: [],
      stillFailing: [],
      newTests: [],
      missing: [],
      flaky: [],
      envErrors: [],
      passing: 1,
    },
  });
  return task;
}

const event = (task: TaskRecord, type: TaskEvent['type'], data: Record<string, unknown> = {}): TaskEvent => ({
  id: `${task.id}:${type}`,
  taskId: task.id,
  type,
  at: NOW,
  data,
});

const memoryOf = async (task: TaskRecord, patchId = `${task.id}-p1`) =>
  (await mesh.board.get(keys.memory(memoryRepoKey(task.repoPath), task.id, patchId), MemoryEntry))?.value;

describe('what the memory stores', () => {
  it('an integrated patch with its issue, plan, tests and review; a rollback makes it reverted', async () => {
    const t = await ended({ title: 'subtract returns the sum', description: 'subtract(5, 3) gives 8' });
    expect(
      await rememberEvent(mesh.board, event(t, 'integrate.committed', { patchId: `${t.id}-p1` }), NOW),
    ).toBeDefined();
    expect(await memoryOf(t)).toMatchObject({
      taskId: t.id,
      title: 'subtract returns the sum',
      planSummary: 'Plan for subtract returns the sum',
      patchId: `${t.id}-p1`,
      files: ['calc.py'],
      outcome: 'integrated',
      tests: { outcome: 'pass', fixed: 1, regressions: 0 },
      review: { decision: 'approve', confidence: 0.8 },
    });
    // A redelivery writes the same entry.
    await rememberEvent(
      mesh.board,
      event(t, 'integrate.committed', { patchId: `${t.id}-p1` }),
      '2026-12-02T17:00:00.000Z',
    );
    expect((await memoryOf(t))?.createdAt).toBe(NOW);
    await mesh.board.mutate(keys.task(t.id), TaskRecord, (cur) => ({
      ...cur!,
      rollbackBranch: 'codemesh/revert',
    }));
    await rememberEvent(mesh.board, event(t, 'task.rolled_back'), NOW);
    expect(await memoryOf(t)).toMatchObject({ outcome: 'reverted', note: 'rolled back on codemesh/revert' });
  });

  it('a task that failed after its review asked for revisions is rejected; other failures are not stored', async () => {
    const rejected = await ended({ title: 'divide by zero', description: 'x', decision: 'revise' });
    await rememberEvent(mesh.board, event(rejected, 'task.failed'), NOW);
    expect(await memoryOf(rejected)).toMatchObject({
      outcome: 'rejected',
      note: 'the reviewer asked for revisions 3 times',
    });
    const outage = await ended({ title: 'an outage', description: 'x' });
    await mesh.board.delete(keys.review(outage.id, 1));
    expect(await rememberEvent(mesh.board, event(outage, 'task.failed'), NOW)).toBeUndefined();
    expect(await memoryOf(outage)).toBeUndefined();
    expect(await rememberEvent(mesh.board, event(outage, 'task.created'), NOW)).toBeUndefined();
  });
});

describe('change requests', () => {
  it("a person's change request stores the patch as rejected with the comment; an approval of it wins", async () => {
    const t = await ended({
      title: 'rounding of cents',
      description: 'cents are truncated',
      diff: `diff --git a/calc.py b/calc.py\n+KEY = "${AWS_KEY}"\n`,
    });
    const asked = (comment: string, gate = 1): TaskEvent => ({
      ...event(t, 'approval.changes_requested', {
        patchId: `${t.id}-p1`,
        comment,
        by: 'u-ana',
        byName: 'ana',
        gate,
      }),
      id: `${t.id}-p1:request_changes:g${gate}`,
    });
    expect(await rememberEvent(mesh.board, asked('use banker rounding, not floor'), NOW)).toMatchObject({
      outcome: 'rejected',
      note: 'changes requested by ana: use banker rounding, not floor',
    });
    expect(await memoryOf(t)).toMatchObject({ outcome: 'rejected', patchId: `${t.id}-p1` });
    // A token pasted into the comment, or left in a diff, is not kept.
    await rememberEvent(mesh.board, asked(`rotate ${GH_TOKEN} first`, 2), NOW);
    const kept = JSON.stringify(await memoryOf(t));
    expect(kept).toContain('changes requested by ana: rotate [REDACTED:github-token] first');
    expect(kept).toContain('[REDACTED:aws-access-key-id]');
    expect(kept).not.toContain(GH_TOKEN);
    expect(kept).not.toContain(AWS_KEY);
    // The same patch approved later and committed: integrated; a late change-request replay keeps that.
    await rememberEvent(mesh.board, event(t, 'integrate.committed', { patchId: `${t.id}-p1` }), NOW);
    expect(await rememberEvent(mesh.board, asked('use banker rounding, not floor'), NOW)).toBeUndefined();
    expect(await memoryOf(t)).toMatchObject({ outcome: 'integrated' });
    const section = memorySection([
      {
        entry: { ...(await memoryOf(t))!, outcome: 'rejected', note: 'changes requested by ana: no' },
        score: 1,
        via: ['lexical'],
      },
    ]);
    expect(section).toContain('— REJECTED (changes requested by ana: no)');
    expect(section).toContain(`source: task ${t.id}, patch ${t.id}-p1, found by lexical`);
    expect(section).toMatch(/do not propose it again; if you still do, say so explicitly/);
  });
});

describe('what a later task recalls', () => {
  it('similar tasks of the same repository and org, best first; never itself, another org or an unrelated one', async () => {
    const repo = '/repos/shop';
    const cart = await ended({
      repo,
      title: 'Cart total ignores the discount code',
      description: 'apply discount code to cart total',
    });
    const tax = await ended({
      repo,
      title: 'Tax is rounded twice',
      description: 'rounding of tax in invoice',
    });
    const other = await ended({
      repo,
      org: 'acme',
      title: 'Cart total ignores the discount code',
      description: 'discount code cart total',
    });
    const elsewhere = await ended({
      repo: '/repos/else',
      title: 'Cart total ignores the discount code',
      description: 'discount cart total code',
    });
    for (const t of [cart, tax, other, elsewhere])
      await rememberEvent(mesh.board, event(t, 'integrate.committed', { patchId: `${t.id}-p1` }), NOW);
    const now = await ended({
      repo,
      title: 'Discount code not applied to the cart total',
      description: 'the cart total stays the same with a discount code',
    });
    const got = await recallMemories(mesh, now, `${now.request.title}\n${now.request.description}`);
    expect(got.map((r) => r.entry.taskId)).toEqual([cart.id]);
    expect(got[0]!.score).toBeGreaterThan(0);
    // Itself, once stored, is not recalled.
    await rememberEvent(mesh.board, event(now, 'integrate.committed', { patchId: `${now.id}-p1` }), NOW);
    expect(
      (await recallMemories(mesh, now, now.request.title + now.request.description)).map(
        (r) => r.entry.taskId,
      ),
    ).toEqual([cart.id]);
    expect(await recallMemories(mesh, now, 'unrelated words entirely here')).toEqual([]);
    const section = memorySection(got);
    expect(section).toContain(`Cart total ignores the discount code [${cart.id}] — INTEGRATED`);
    expect(section).toContain('+    return a - b');
    expect(section).toContain('tests pass, 1 fixed, 0 regressions; review approve 0.80');
  });
});

describe('the memory role', () => {
  it('consumes the events, stores the entry, then says so in a memory.stored event', async () => {
    const t = await ended({ title: 'the role stores this', description: 'x' });
    const role = await startMemoryRole(await nats.connect('memory-role'));
    try {
      await mesh.bus.publish({ ...event(t, 'integrate.committed', { patchId: `${t.id}-p1` }) });
      const deadline = Date.now() + 20_000;
      while (!(await memoryOf(t)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await memoryOf(t)).toMatchObject({ outcome: 'integrated' });
      let stored: TaskEvent | undefined;
      while (!stored && Date.now() < deadline) {
        stored = (await mesh.bus.history(t.id)).map((h) => h.event).find((e) => e.type === 'memory.stored');
        if (!stored) await new Promise((r) => setTimeout(r, 100));
      }
      expect(stored?.data).toEqual({ outcome: 'integrated', patchId: `${t.id}-p1` });
    } finally {
      await role.stop();
    }
  });
});
