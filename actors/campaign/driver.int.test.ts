// The campaign driver against a real NATS blackboard, without the rest of the mesh (no conductor: started
// tasks stay `planning`, i.e. in flight): the window between the claim and the publication, two drivers
// racing, and the throttles.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MeshConnection } from '../../blackboard/index.ts';
import {
  CampaignRecord,
  type CampaignThrottle,
  campaignTaskId,
  keys,
  newCampaignId,
  TaskRecord,
} from '../../schemas/index.ts';
import { type NatsFixture, startNatsFixture } from '../../test/nats.ts';
import { makeRepo } from '../../test/temp-repo.ts';
import { CampaignDriver, inWindow } from './driver.ts';

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
  const c = CampaignRecord.parse({
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
  await mesh.board.create(keys.campaign(c.id), CampaignRecord, c);
  return c;
}
const read = async (id: string) => (await mesh.board.get(keys.campaign(id), CampaignRecord))!.value;
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
    expect((await mesh.bus.history(taskId)).filter((e) => e.event.type === 'task.created')).toHaveLength(1);
    expect(await tasksOf(c.id)).toEqual([keys.task(taskId)]);
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
