// Campaign routes through app.request() on a real NATS and an in-memory record: a repository query, the list
// (org-scoped), the gateway's events on the events stream, the retry of a failed repository, and the link from
// a campaign's tasks back to it in the task list. The driver is run by hand, one pass at a time.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CampaignDriver, streamCampaignEvents } from '../../actors/campaign/index.ts';
import { projectEvent } from '../../actors/recorder/project.ts';
import { CampaignRecord, campaignTaskId, keys, TaskRecord, withCampaignEvent } from '../../schemas/index.ts';
import { makeRepo } from '../../test/temp-repo.ts';
import { DEV, startTestGateway, type TestGateway } from '../test-setup.ts';

let g: TestGateway;
let alice: string;
let bob: string;
beforeAll(async () => {
  g = await startTestGateway();
  alice = await g.jwt('alice');
  bob = await g.jwt('bob');
  // Three more repositories in org-a: two services (Python, Node) and a Python library.
  const repos: Array<[string, Record<string, string>]> = [
    ['pay-svc', { 'pyproject.toml': '[project]\nname = "pay-svc"\nversion = "1.0.0"\n' }],
    ['web-svc', { 'package.json': JSON.stringify({ name: 'web-svc', version: '1.0.0' }) }],
    ['pylib', { 'requirements.txt': 'requests==2.0\n' }],
  ];
  for (const [name, files] of repos) {
    const { dir } = makeRepo(files, mkdtempSync(join(g.repoRoot, 'codemesh-fx-')));
    const r = await g.call('POST', '/v1/repos', DEV, { org: 'org-a', path: dir, name });
    if (r.status !== 201) throw new Error(`repo ${name}: ${await r.text()}`);
  }
});
afterAll(async () => g?.stop());

type View = {
  id: string;
  status: string;
  createdBy: string;
  repos: Array<{
    repoId: string;
    name: string;
    state: string;
    taskId: string | null;
    retries: number;
    proposedAt: string | null;
  }>;
};
async function start(token: string, body: Record<string, unknown>) {
  const r = await g.call('POST', '/v1/campaigns', token, {
    title: 'Bump',
    description: 'Bump the dependencies.',
    approve: 'auto',
    ...body,
  });
  return {
    status: r.status,
    json: (await r.json()) as { campaign: View; error?: { code: string; message: string } },
  };
}
const read = async (id: string) => (await g.mesh.board.get(keys.campaign(id), CampaignRecord))!.value;

describe('campaign routes', () => {
  it('selects repositories by query: lang and name over the registered ones where the caller is a developer', async () => {
    const svc = await start(alice, { repos: { query: 'lang:python name:*-svc' } });
    expect(svc.status).toBe(201);
    expect(svc.json.campaign.repos.map((r) => r.name)).toEqual(['pay-svc']);
    const py = await start(alice, { repos: { query: 'lang:py' } });
    expect(py.json.campaign.repos.map((r) => r.name).sort()).toEqual(['pay-svc', 'pylib']);
    const named = await start(alice, { repos: { query: 'svc' } });
    expect(named.json.campaign.repos.map((r) => r.name).sort()).toEqual(['pay-svc', 'web-svc']);
    // bob is no developer in org-a: the query finds nothing of it (and says nothing about what is there).
    const none = await start(bob, { repos: { query: 'name:*-svc' } });
    expect(none.status).toBe(400);
    expect(none.json.error?.code).toBe('NO_REPOSITORY');
    const bad = await start(alice, { repos: { query: 'lang:cobol' } });
    expect(bad.status).toBe(400);
    expect(bad.json.error?.message).toMatch(/lang:cobol is not one of node, python, go/);
    const badTerm = await start(alice, { repos: { query: 'owner:me' } });
    expect(badTerm.json.error?.message).toMatch(/owner: is not a query term/);
  });

  it('lists the campaigns the caller may see, newest first, with their burndown; filters by status', async () => {
    const mine = await start(alice, { repos: ['web-svc'] });
    const theirs = await start(bob, { repos: ['py-calc'] });
    expect(theirs.status).toBe(201);
    const list = async (token: string, q = '') =>
      (await (await g.call('GET', `/v1/campaigns${q}`, token)).json()) as {
        items: Array<{ id: string; orgId: string; repos: number; burndown: Record<string, number> }>;
        total: number;
      };
    const a = await list(alice);
    expect(a.items[0]!.id).toBe(mine.json.campaign.id);
    expect(a.items.every((c) => c.orgId === 'org-a')).toBe(true);
    expect(a.items.map((c) => c.id)).not.toContain(theirs.json.campaign.id);
    expect(a.items[0]).toMatchObject({ repos: 1, burndown: { pending: 1 } });
    const b = await list(bob);
    expect(b.items.map((c) => c.id)).toEqual([theirs.json.campaign.id]);
    // The superuser sees both orgs'.
    const all = await list(DEV);
    expect(all.items.map((c) => c.id)).toEqual(
      expect.arrayContaining([mine.json.campaign.id, theirs.json.campaign.id]),
    );
    await g.call('POST', `/v1/campaigns/${mine.json.campaign.id}/cancel`, alice);
    expect((await list(alice, '?status=cancelled')).items.map((c) => c.id)).toContain(mine.json.campaign.id);
    expect((await list(alice, '?status=running')).items.map((c) => c.id)).not.toContain(
      mine.json.campaign.id,
    );
    expect((await g.call('GET', '/v1/campaigns?status=nope', alice)).status).toBe(400);
  });

  it("puts the gateway's own campaign events on the events stream at once (no driver running)", async () => {
    const c = await start(alice, { repos: ['pylib'] });
    await g.call('POST', `/v1/campaigns/${c.json.campaign.id}/pause`, alice);
    const events = (await g.mesh.bus.history(c.json.campaign.id)).map((e) => e.event);
    expect(events.map((e) => e.type)).toEqual(['campaign.created', 'campaign.paused']);
    expect(events[1]!.data).toMatchObject({
      campaignId: c.json.campaign.id,
      title: 'Bump',
      detail: `by ${g.userId('alice')}`,
    });
    expect((await read(c.json.campaign.id)).streamedSeq).toBe(2);
  });

  it('bad queries, lists and retries are 4xx with a code, never 5xx', async () => {
    const c = await start(alice, { repos: ['pylib'] });
    const id = c.json.campaign.id;
    const cases: Array<[string, string, unknown?]> = [
      ['POST', '/v1/campaigns', { title: 'x', description: 'y', repos: { query: '' } }],
      ['POST', '/v1/campaigns', { title: 'x', description: 'y', repos: { query: 'x', more: 1 } }],
      ['POST', '/v1/campaigns', { title: 'x', description: 'y', repos: { query: 'name:' } }],
      ['POST', '/v1/campaigns', { title: 'x', description: 'y', repos: { query: 'x'.repeat(301) } }],
      ['POST', '/v1/campaigns', { title: 'x', description: 'y', repos: { query: 'name:[(*' } }],
      ['GET', '/v1/campaigns?limit=abc'],
      ['GET', '/v1/campaigns?limit=0'],
      ['GET', '/v1/campaigns?other=1'],
      ['POST', `/v1/campaigns/${id}/repos/${encodeURIComponent('%00')}/retry`],
      ['POST', `/v1/campaigns/${id}/repos/${'r'.repeat(500)}/retry`],
      ['POST', '/v1/campaigns/cp-nosuchcampaign/repos/pylib/retry'],
      ['POST', '/v1/campaigns/NOT-AN-ID/repos/pylib/retry'],
      ['GET', '/v1/tasks?campaign=%27%3B%20drop%20table%20tasks%3B--'],
    ];
    for (const [method, path, body] of cases) {
      const r = await g.call(method, path, alice, body);
      const json = (await r.json()) as { error?: { code?: string }; items?: unknown[] };
      if (r.status === 200) {
        // A filter that matches nothing is an empty page, not an error.
        expect(path, `${method} ${path}`).toMatch(/^\/v1\/tasks\?campaign=/);
        expect(json.items).toEqual([]);
        continue;
      }
      expect(r.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
      expect(r.status, `${method} ${path}`).toBeLessThan(500);
      expect(json.error?.code, `${method} ${path}`).toMatch(/^[A-Z_]+$/);
    }
  });

  it('a cancel asks the tasks under way to stop at once, without waiting for a driver', async () => {
    const c = await start(alice, { repos: ['web-svc'] });
    const id = c.json.campaign.id;
    const driver = new CampaignDriver(g.mesh);
    await driver.pass();
    await driver.pass();
    const taskId = campaignTaskId(id, 0);
    expect((await read(id)).repos[0]).toMatchObject({ state: 'running', taskId });
    expect((await g.call('POST', `/v1/campaigns/${id}/cancel`, alice)).status).toBe(200);
    const asked = (await g.mesh.bus.history(taskId, { repeats: true })).filter(
      (e) => e.event.type === 'task.cancel_requested',
    );
    expect(asked.map((e) => e.event.data)).toEqual([
      {
        reason: `campaign cancelled (cancelled by ${g.userId('alice')})`,
        by: g.userId('alice'),
        campaignId: id,
      },
    ]);
  });

  it('the SSE feed replays from the events stream what the entry no longer keeps', async () => {
    const c = await start(alice, { repos: ['web-svc'] });
    const id = c.json.campaign.id;
    // Four more events, all on the stream; then the entry drops the first three (as past MAX_CAMPAIGN_EVENTS).
    let cur = await read(id);
    for (const detail of ['one', 'two', 'three', 'four'])
      cur = withCampaignEvent(cur, { at: new Date().toISOString(), type: 'campaign.waiting', detail });
    cur = withCampaignEvent(
      { ...cur, status: 'completed' },
      { at: new Date().toISOString(), type: 'campaign.completed' },
    );
    await streamCampaignEvents(g.mesh, cur);
    await g.mesh.board.mutate(keys.campaign(id), CampaignRecord, () => ({
      ...cur,
      events: cur.events.slice(3),
      streamedSeq: cur.lastSeq,
    }));
    expect((await read(id)).events.map((e) => e.seq)).toEqual([4, 5, 6]);
    const res = await g.call('GET', `/v1/campaigns/${id}/events?after=1`, alice);
    const text = await res.text();
    const frames = text
      .split('\n\n')
      .map((f) =>
        Object.fromEntries(
          f.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]),
        ),
      )
      .filter((f) => f.id)
      .map((f) => ({
        id: Number(f.id),
        type: f.event,
        detail: (JSON.parse(f.data!) as { detail?: string }).detail,
      }));
    expect(frames).toEqual([
      { id: 2, type: 'campaign.waiting', detail: 'one' },
      { id: 3, type: 'campaign.waiting', detail: 'two' },
      { id: 4, type: 'campaign.waiting', detail: 'three' },
      { id: 5, type: 'campaign.waiting', detail: 'four' },
      { id: 6, type: 'campaign.completed', detail: undefined },
    ]);
  });

  it('retries a failed repository with a new task id, with the ones behind it; its tasks link back to the campaign', async () => {
    const c = await start(alice, { repos: ['ts-calc', 'pay-svc', 'pylib'] });
    const id = c.json.campaign.id;
    const driver = new CampaignDriver(g.mesh);
    await driver.pass(); // plans
    await driver.pass(); // starts two (maxConcurrent 2; no dependency between them)
    let cur = await read(id);
    expect(cur.repos.map((r) => r.taskId)).toEqual([campaignTaskId(id, 0), campaignTaskId(id, 1), undefined]);
    // pylib is made to depend on ts-calc; ts-calc's task fails, pay-svc's completes.
    await g.mesh.board.mutate(keys.campaign(id), CampaignRecord, (x) => ({
      ...x!,
      repos: [x!.repos[0]!, x!.repos[1]!, { ...x!.repos[2]!, upstream: [x!.repos[0]!.repoId] }],
    }));
    await g.mesh.board.mutate(keys.task(campaignTaskId(id, 0)), TaskRecord, (t) => ({
      ...t!,
      status: 'failed' as const,
      reason: 'tests fail',
    }));
    await g.mesh.board.mutate(keys.task(campaignTaskId(id, 1)), TaskRecord, (t) => ({
      ...t!,
      status: 'completed' as const,
    }));
    await driver.pass();
    cur = await read(id);
    expect(cur.repos.map((r) => r.state)).toEqual(['failed', 'merged', 'failed']);
    expect(cur.repos[2]!.reason).toBe('upstream ts-calc failed: not started');
    expect(cur.status).toBe('completed');

    // A repository that has not failed is not retried.
    const notFailed = await g.call('POST', `/v1/campaigns/${id}/repos/pay-svc/retry`, alice);
    expect(notFailed.status).toBe(409);
    expect(((await notFailed.json()) as { error: { code: string } }).error.code).toBe('NOT_FAILED');
    expect((await g.call('POST', `/v1/campaigns/${id}/repos/nope/retry`, alice)).status).toBe(404);
    // Bob may not view alice's campaign: it answers as a missing one.
    expect((await g.call('POST', `/v1/campaigns/${id}/repos/ts-calc/retry`, bob)).status).toBe(404);

    // Say ts-calc's failed try had reached the gate: that proposal still counts within its hour after the retry.
    const proposedAt = new Date().toISOString();
    await g.mesh.board.mutate(keys.campaign(id), CampaignRecord, (x) => ({
      ...x!,
      repos: [{ ...x!.repos[0]!, proposedAt }, x!.repos[1]!, x!.repos[2]!],
    }));
    const retried = await g.call('POST', `/v1/campaigns/${id}/repos/${cur.repos[0]!.repoId}/retry`, alice);
    expect(retried.status).toBe(200);
    const view = ((await retried.json()) as { campaign: View & { status: string } }).campaign;
    expect(view.status).toBe('running');
    expect(view.repos[0]).toMatchObject({ state: 'pending', taskId: null, retries: 1, proposedAt: null });
    // pylib, which failed only because ts-calc did, goes back with it; pay-svc stays merged.
    expect(view.repos.map((r) => r.state)).toEqual(['pending', 'merged', 'pending']);
    cur = await read(id);
    expect(cur.repos.map((r) => r.retries)).toEqual([1, 0, 0]);
    expect(cur.repos[0]!.earlierProposals).toEqual([proposedAt]);
    expect(cur.events.at(-1)).toMatchObject({
      type: 'repo.retried',
      repoId: cur.repos[0]!.repoId,
      detail: `by ${g.userId('alice')}; with pylib (not started behind it)`,
    });
    expect((await g.mesh.bus.history(id)).map((e) => e.event.type)).toContain('campaign.repo.retried');

    await driver.pass();
    cur = await read(id);
    const retryTask = campaignTaskId(id, 0, 1);
    expect(retryTask).toBe(`${campaignTaskId(id, 0)}x1`);
    expect(cur.repos[0]).toMatchObject({ state: 'running', taskId: retryTask });
    expect(cur.repos[2]!.state).toBe('pending');
    const task = (await g.mesh.board.get(keys.task(retryTask), TaskRecord))!.value;
    expect(task).toMatchObject({ createdBy: g.userId('alice'), campaignId: id });
    // The first task is untouched (its entry is write-once): two tasks, two ids.
    expect((await g.mesh.board.get(keys.task(campaignTaskId(id, 0)), TaskRecord))!.value.status).toBe(
      'failed',
    );

    // The recorder's projection puts them in the task list with who asked and the campaign.
    for (const t of [campaignTaskId(id, 0), retryTask])
      for (const { seq, event } of await g.mesh.bus.history(t))
        await projectEvent(g.record.db, g.mesh.board, seq, event);
    const list = (await (await g.call('GET', `/v1/tasks?campaign=${id}`, alice)).json()) as {
      items: Array<{ id: string; createdBy: string | null; campaignId: string | null }>;
    };
    expect(list.items.map((t) => t.id).sort()).toEqual([campaignTaskId(id, 0), retryTask].sort());
    expect(list.items.every((t) => t.createdBy === g.userId('alice') && t.campaignId === id)).toBe(true);
  });
});
