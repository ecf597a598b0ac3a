// The campaign driver against a real NATS blackboard, without the rest of the mesh (no conductor unless a test
// starts one; no agents: started tasks stay `planning`, i.e. in flight): the window between the claim and the
// publication, two drivers racing, the throttles, the events on the stream, and a cancel that stops tasks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MeshConnection } from '../../blackboard/index.ts';
import {
  CampaignRecord,
  type CampaignThrottle,
  campaignTaskId,
  keys,
  newCampaignId,
  PullRequestRecord,
  TaskRecord,
  type TaskStatus,
  withCampaignEvent,
} from '../../schemas/index.ts';
import { Conductor } from '../conductor/conductor.ts';
import { prepareTask } from '../conductor/submit.ts';
import { type NatsFixture, startNatsFixture } from '../../test/nats.ts';
import { makeRepo } from '../../test/temp-repo.ts';
import { CampaignDriver, hourlyPlacesTaken, inWindow } from './driver.ts';
import { streamCampaignEvents } from './stream.ts';

let nats: NatsFixture;
let mesh: MeshConnection;
beforeAll(async () => {
  nats = await startNatsFixture();
  mesh = await nats.connect('driver-test');
});
afterAll(async () => nats?.stop());

async function campaign(
  n: number,
  throttle: Partial<CampaignThrottle>,
  planned = true,
): Promise<CampaignRecord> {
  const at = new Date().toISOString();
  const c0 = CampaignRecord.parse({
    id: newCampaignId(),
    orgId: 'default',
    title: 'Bump',
    description: 'Bump everything.',
    approve: 'auto',
    budget: {},
    throttle: { maxConcurrent: 2, ...throttle },
    status: planned ? 'running' : 'planning',
    planned,
    repos: Array.from({ length: n }, (_, i) => ({
      repoId: `r-repo${i}`,
      name: `repo${i}`,
      path: makeRepo({ 'package.json': JSON.stringify({ name: `repo${i}`, version: '1.0.0' }) }).dir,
      state: 'pending',
    })),
    createdBy: 'u-test',
    createdAt: at,
    updatedAt: at,
  });
  const c = withCampaignEvent(c0, { at, type: 'campaign.created', detail: `${n} repositories` });
  await mesh.board.create(keys.campaign(c.id), CampaignRecord, c);
  return c;
}
const read = async (id: string) => (await mesh.board.get(keys.campaign(id), CampaignRecord))!.value;
/** Sets a task's status as the conductor would (the driver only reads it). */
const setTask = (taskId: string, status: TaskStatus, reason?: string) =>
  mesh.board.mutate(keys.task(taskId), TaskRecord, (t) =>
    t ? { ...t, status, ...(reason ? { reason } : {}) } : undefined,
  );
const until = async <T>(what: string, f: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};
const tasksOf = async (id: string) =>
  (await mesh.board.keys('task.*')).filter((k) => k.startsWith(`task.t-${id.slice(3)}r`)).sort();

describe('campaign driver', () => {
  it('publishes a claimed task its driver died before publishing, once, under the recorded id', async () => {
    const c = await campaign(1, {});
    const taskId = campaignTaskId(c.id, 0);
    // What a driver killed between its compare-and-set and the publication leaves behind.
    await mesh.board.mutate(keys.campaign(c.id), CampaignRecord, (cur) => ({
      ...cur!,
      repos: [{ ...cur!.repos[0]!, state: 'running' as const, taskId, startedAt: new Date().toISOString() }],
    }));
    expect(await mesh.board.get(keys.task(taskId), TaskRecord)).toBeUndefined();
    const driver = new CampaignDriver(mesh);
    await driver.pass();
    await driver.pass();
    const task = (await mesh.board.get(keys.task(taskId), TaskRecord))?.value;
    expect(task?.request.title).toBe('Bump (repo0)');
    expect(task?.orgId).toBe('default');
    // The task says who asked for it (the campaign's creator) and which campaign started it.
    expect(task?.createdBy).toBe('u-test');
    expect(task?.campaignId).toBe(c.id);
    expect(
      (await mesh.bus.history(taskId, { repeats: true })).filter((e) => e.event.type === 'task.created'),
    ).toHaveLength(1);
    expect(await tasksOf(c.id)).toEqual([keys.task(taskId)]);
  });

  it('publishes task.created of a task whose driver died after writing its entry and before announcing it', async () => {
    const c = await campaign(1, {});
    const taskId = campaignTaskId(c.id, 0);
    await mesh.board.mutate(keys.campaign(c.id), CampaignRecord, (cur) => ({
      ...cur!,
      repos: [{ ...cur!.repos[0]!, state: 'running' as const, taskId, startedAt: new Date().toISOString() }],
    }));
    // publishTask's first half: the entry, no event.
    const task = await prepareTask({ repo: c.repos[0]!.path, title: 'Bump (repo0)' }, { id: taskId });
    await mesh.board.putOnce(keys.task(taskId), TaskRecord, task, (a, b) => a.id === b.id);
    expect(await mesh.bus.history(taskId)).toEqual([]);
    const driver = new CampaignDriver(mesh);
    await driver.pass();
    await driver.pass();
    expect((await mesh.bus.history(taskId)).map((e) => e.event.type)).toEqual(['task.created']);
  });

  it('two drivers racing start each repository once and never more than maxConcurrent', async () => {
    const c = await campaign(5, { maxConcurrent: 2 }, false);
    const a = new CampaignDriver(await nats.connect('a'));
    const b = new CampaignDriver(await nats.connect('b'));
    for (let i = 0; i < 4; i++) await Promise.all([a.pass(), b.pass(), a.pass()]);
    const after = await read(c.id);
    expect(after.planned).toBe(true);
    expect(after.repos.filter((r) => r.state === 'running')).toHaveLength(2);
    expect(after.repos.filter((r) => r.state === 'pending')).toHaveLength(3);
    expect(await tasksOf(c.id)).toHaveLength(2);
    expect(after.events.filter((e) => e.type === 'repo.started')).toHaveLength(2);
    // Event numbers are unique and in order even with two writers.
    const seqs = after.events.map((e) => e.seq);
    expect(seqs).toEqual([...new Set(seqs)].sort((x, y) => x - y));
  });

  it("puts the campaign's events on the events stream once each, also after a writer died before it could", async () => {
    const c = await campaign(2, { maxConcurrent: 1 });
    const driver = new CampaignDriver(mesh);
    await driver.pass();
    const after = await read(c.id);
    expect(after.streamedSeq).toBe(after.lastSeq);
    const onStream = async () => (await mesh.bus.history(c.id)).map((e) => e.event);
    const events = await onStream();
    expect(events.map((e) => e.type)).toEqual(['campaign.created', 'campaign.repo.started']);
    expect(events.map((e) => e.id)).toEqual([`${c.id}:1`, `${c.id}:2`]);
    expect(events[1]!.data).toMatchObject({
      campaignId: c.id,
      seq: 2,
      title: 'Bump',
      repo: 'repo0',
      repoId: 'r-repo0',
      repoTaskId: campaignTaskId(c.id, 0),
      state: 'running',
    });
    // Nothing new: another pass publishes nothing.
    await driver.pass();
    expect(await onStream()).toHaveLength(2);

    // A writer that appended an event and died before publishing it (streamedSeq behind): the next pass does;
    // one that published and died before recording it publishes again, and the stream keeps one copy.
    const stale = await read(c.id);
    await mesh.board.mutate(keys.campaign(c.id), CampaignRecord, (cur) =>
      withCampaignEvent(
        { ...cur!, status: 'paused' },
        { at: new Date().toISOString(), type: 'campaign.paused', detail: 'by u-x' },
      ),
    );
    await driver.pass();
    const paused = await read(c.id);
    expect(paused.streamedSeq).toBe(3);
    expect((await onStream()).map((e) => e.type)).toEqual([
      'campaign.created',
      'campaign.repo.started',
      'campaign.paused',
    ]);
    expect(await streamCampaignEvents(mesh, { ...paused, streamedSeq: stale.streamedSeq - 1 })).toBe(2);
    expect(await onStream()).toHaveLength(3);
  });

  it('cancel stops the tasks under way through the conductor: they fail "campaign cancelled", their repositories end cancelled', async () => {
    const conductor = new Conductor(await nats.connect('cancel-conductor'), {
      consumer: 'conductor-cancel-test',
      sweepMs: 60_000,
      blobGcMs: 0,
    });
    await conductor.start();
    try {
      const c = await campaign(3, { maxConcurrent: 2 });
      const driver = new CampaignDriver(mesh);
      await driver.pass();
      const started = (await read(c.id)).repos.filter((r) => r.taskId).map((r) => r.taskId!);
      expect(started).toHaveLength(2);
      // One of them is at the approval gate: stopped as well.
      await setTask(started[1]!, 'awaiting_approval');
      await mesh.board.mutate(keys.campaign(c.id), CampaignRecord, (cur) =>
        withCampaignEvent(
          { ...cur!, status: 'cancelled', reason: 'cancelled by u-boss' },
          { at: new Date().toISOString(), type: 'campaign.cancelled', detail: 'by u-boss' },
        ),
      );
      await driver.pass();
      for (const id of started) {
        const t = await until(`${id} failed`, async () => {
          const v = (await mesh.board.get(keys.task(id), TaskRecord))?.value;
          return v?.status === 'failed' && v;
        });
        expect(t.reason).toBe('campaign cancelled (cancelled by u-boss)');
        const ev = (await mesh.bus.history(id)).map((e) => e.event.type);
        expect(ev).toContain('task.cancel_requested');
        await until(`${id}'s task.failed`, async () =>
          (await mesh.bus.history(id)).some((e) => e.event.type === 'task.failed'),
        );
      }
      await driver.pass();
      const after = await read(c.id);
      expect(after.repos.map((r) => r.state)).toEqual(['cancelled', 'cancelled', 'cancelled']);
      expect(after.repos[0]!.reason).toMatch(/^campaign cancelled/);
      expect(after.repos[2]!.taskId).toBeUndefined();
      // The cancel requests went once per task (one message id each, however many passes).
      await driver.pass();
      for (const id of started)
        expect(
          (await mesh.bus.history(id, { repeats: true })).filter(
            (e) => e.event.type === 'task.cancel_requested',
          ),
        ).toHaveLength(1);
    } finally {
      await conductor.stop();
    }
  });

  it('maxPrsPerHour counts proposals (gate reached, pull request opened) and tasks that may still propose, not starts', async () => {
    let now = Date.now();
    const c = await campaign(4, { maxConcurrent: 4, maxPrsPerHour: 2 });
    const driver = new CampaignDriver(mesh, { now: () => now });
    await driver.pass();
    await driver.pass();
    let cur = await read(c.id);
    expect(cur.repos.map((r) => r.state)).toEqual(['running', 'running', 'pending', 'pending']);
    expect(cur.waiting).toMatch(/maxPrsPerHour 2/);
    // repo0's task fails without proposing anything: its place goes back, repo2 starts within the same hour.
    await setTask(campaignTaskId(c.id, 0), 'failed', 'tests fail');
    await driver.pass();
    await driver.pass();
    cur = await read(c.id);
    expect(cur.repos.map((r) => r.state)).toEqual(['failed', 'running', 'running', 'pending']);
    // repo1 reaches the approval gate (no GitHub); repo2's pull request is opened while its task still runs.
    await setTask(campaignTaskId(c.id, 1), 'awaiting_approval');
    const prAt = new Date(now).toISOString();
    await mesh.board.create(keys.pr(campaignTaskId(c.id, 2)), PullRequestRecord, {
      taskId: campaignTaskId(c.id, 2),
      owner: 'o',
      repo: 'repo2',
      number: 7,
      nodeId: 'PR_7',
      url: 'http://127.0.0.1/o/repo2/pull/7',
      state: 'draft',
      bodyFor: 'gate-1',
      updatedAt: prAt,
    });
    now += 60_000;
    await driver.pass();
    cur = await read(c.id);
    expect(cur.repos[1]!.state).toBe('awaiting_approval');
    expect(cur.repos[2]!.state).toBe('running');
    expect(cur.repos[1]!.proposedAt).toBe(new Date(now).toISOString());
    expect(cur.repos[2]!.proposedAt).toBe(new Date(now).toISOString());
    expect(cur.repos[3]!.state).toBe('pending');
    // Both proposals hold their places for an hour, though neither task is still "starting".
    now += 58 * 60_000;
    await driver.pass();
    expect((await read(c.id)).repos[3]!.state).toBe('pending');
    now += 2 * 60_000;
    await driver.pass();
    cur = await read(c.id);
    expect(cur.repos[3]!.state).toBe('running');
  });

  it("hourlyPlacesTaken: this hour's proposals (a retried repository's earlier ones too) and unproposed tasks in flight", () => {
    const now = Date.parse('2026-12-02T12:00:00Z');
    const ago = (min: number) => new Date(now - min * 60_000).toISOString();
    const base = {
      name: 'x',
      path: '/x',
      packages: [],
      upstream: [],
      buildsOn: [],
      retries: 0,
      earlierProposals: [],
    };
    const c = {
      repos: [
        { ...base, repoId: 'a', state: 'running', proposedAt: ago(10) },
        { ...base, repoId: 'b', state: 'running' },
        { ...base, repoId: 'c', state: 'merged', proposedAt: ago(61) },
        { ...base, repoId: 'd', state: 'failed' },
        { ...base, repoId: 'e', state: 'running', retries: 1, earlierProposals: [ago(70), ago(30)] },
        { ...base, repoId: 'f', state: 'pending', retries: 1, earlierProposals: [ago(5)] },
      ],
    } as unknown as CampaignRecord;
    // a (proposed 10 min ago), b (in flight), e (in flight, and its earlier try 30 min ago), f's earlier try.
    expect(hourlyPlacesTaken(c, now)).toBe(5);
  });

  it('maxPrsPerHour and the rollout window hold starts back, and say why', async () => {
    const hourly = await campaign(3, { maxConcurrent: 3, maxPrsPerHour: 1 });
    const driver = new CampaignDriver(mesh);
    await driver.pass();
    await driver.pass();
    const h = await read(hourly.id);
    expect(h.repos.filter((r) => r.state === 'running')).toHaveLength(1);
    expect(h.waiting).toMatch(/maxPrsPerHour 1/);

    const now = Date.now();
    const hour = new Date(now).getUTCHours();
    const closed = await campaign(1, {
      window: { startHour: (hour + 2) % 22, endHour: ((hour + 2) % 22) + 1 },
    });
    await new CampaignDriver(mesh, { now: () => now }).pass();
    const w = await read(closed.id);
    expect(w.repos[0]!.state).toBe('pending');
    expect(w.waiting).toBe('outside the rollout window');
    expect(w.events.filter((e) => e.type === 'campaign.waiting')).toHaveLength(1);
  });

  it('inWindow: hours [start, end) on the listed UTC days', () => {
    const wed10 = Date.parse('2026-12-02T10:30:00Z');
    expect(inWindow(undefined, wed10)).toBe(true);
    expect(inWindow({ startHour: 9, endHour: 17 }, wed10)).toBe(true);
    expect(inWindow({ startHour: 11, endHour: 17 }, wed10)).toBe(false);
    expect(inWindow({ startHour: 9, endHour: 10 }, wed10)).toBe(false);
    expect(inWindow({ days: [1, 2], startHour: 0, endHour: 24 }, wed10)).toBe(false);
    expect(inWindow({ days: [3], startHour: 0, endHour: 24 }, wed10)).toBe(true);
  });
});
