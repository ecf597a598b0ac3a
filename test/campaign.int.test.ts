// A multi-repo campaign through the whole mesh (scripted model): four registered repositories, two of which
// depend on a third (package.json), one independent (pyproject). The conductor and the campaign driver run as
// separate processes and are killed with SIGKILL mid-campaign, then restarted. Shown: upstream first; the
// downstream tasks state the upstream task and commit and bump to its new version; never more than
// maxConcurrent tasks at once (from the tasks' own event timestamps); pause holds every start; each repository
// done once (one task, one commit on one codemesh branch); the campaign completes.
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Roles } from '../actors/mesh.ts';
import { campaignTaskId, keys, TaskRecord } from '../schemas/index.ts';
import { CODEMESH_ROOT } from './fixture-repo.ts';
import { type Harness, readSse, startHarness } from './harness.ts';
import type { ScriptRequest } from './scripted-llm/index.ts';
import { gitIn, makeRepo } from './temp-repo.ts';

const USAGE = { prompt_tokens: 50, completion_tokens: 10 };
const block = (file: string, search: string, replace: string) =>
  `${file}\n<<<<<<< SEARCH\n${search}\n=======\n${replace}\n>>>>>>> REPLACE\n`;

/** The whole conversation's text (the task's title and description are in it). */
const textOf = (req: ScriptRequest) =>
  (req.body.messages ?? [])
    .map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content)))
    .join('\n');

/** Stateless answers (decided from the conversation), so a step re-run after a kill gets the same ones. */
function script(req: ScriptRequest) {
  const text = textOf(req);
  const repo = /Part of campaign cp-[a-z0-9]+ \("[^"]*"\), repository ([a-z-]+)\./.exec(text)?.[1] ?? '?';
  if (req.roleHint === 'planner')
    return {
      usage: USAGE,
      content: JSON.stringify({
        summary: `release step for ${repo}`,
        subtasks: [
          {
            id: 'bump',
            title: 'Bump',
            successCriteria: ['manifest updated'],
            files: [repo === 'tools' ? 'pyproject.toml' : 'package.json'],
          },
        ],
        risks: [],
      }),
    };
  if (req.roleHint === 'reviewer')
    return {
      usage: USAGE,
      content: JSON.stringify({ decision: 'approve', confidence: 0.9, critique: 'ok', risks: [] }),
    };
  if (repo === 'core')
    return { usage: USAGE, content: block('package.json', '  "version": "1.0.0"', '  "version": "1.1.0"') };
  if (repo === 'tools')
    return { usage: USAGE, content: block('pyproject.toml', 'version = "0.1.0"', 'version = "0.2.0"') };
  // (SEARCH holds whole lines, indentation included.) A downstream repository: the version its task description says the upstream is now at.
  const v = /package core now at version ([0-9.]+)/.exec(text)?.[1] ?? 'MISSING';
  return { usage: USAGE, content: block('package.json', '    "core": "1.0.0"', `    "core": "${v}"`) };
}

let h: Harness;
let current = '';
/** What the campaign and its tasks look like (for a failure message). */
async function dump(): Promise<string> {
  if (!current) return '';
  const c = await getCampaign(current);
  const tasks = [];
  for (const r of c.repos)
    if (r.taskId) {
      const t = (await h.client.board.get(keys.task(r.taskId), TaskRecord))?.value;
      tasks.push({
        name: r.name,
        status: t?.status,
        reason: t?.reason,
        events: (await h.client.bus.history(r.taskId)).map((e) => e.event.type),
      });
    }
  return JSON.stringify({ campaign: c, tasks }, null, 1).slice(0, 20_000);
}
const procs = new Map<string, ChildProcess>();

function startRole(role: 'conductor' | 'campaign'): void {
  const child = spawn(process.execPath, [`${CODEMESH_ROOT}/bin/codemesh.js`, 'actor', role], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NATS_URL: h.mesh.natsUrl,
      CODEMESH_HOME: h.dataDir,
      CODEMESH_LEASE_MS: '10000',
      CODEMESH_CAMPAIGN_POLL_MS: '250',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', () => undefined);
  procs.set(role, child);
}
function kill9(role: string): void {
  const p = procs.get(role);
  if (p?.pid) process.kill(p.pid, 'SIGKILL');
  procs.delete(role);
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 120_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${await dump()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  h = await startHarness({ roles: Roles.filter((r) => r !== 'conductor' && r !== 'campaign') });
  h.setScript(script);
  startRole('conductor');
});
afterAll(async () => {
  for (const role of [...procs.keys()]) kill9(role);
  await h?.stop();
});

interface CampaignView {
  id: string;
  status: string;
  burndown: Record<string, number>;
  repos: Array<{
    repoId: string;
    name: string;
    state: string;
    taskId: string | null;
    upstream: string[];
    buildsOn: Array<{ taskId: string; commit?: string; version?: string }>;
  }>;
}
const getCampaign = async (id: string) =>
  ((await (await h.api(`/v1/campaigns/${id}`)).json()) as { campaign: CampaignView }).campaign;

it('runs a campaign over 4 repositories: upstream first, throttled, through kill -9 of driver and conductor, each once', async () => {
  const pkg = (o: Record<string, unknown>) => JSON.stringify({ private: true, ...o }, null, 2);
  const repos = {
    core: makeRepo({
      'package.json': pkg({ name: 'core', version: '1.0.0' }),
      'index.js': 'module.exports = 1;\n',
    }).dir,
    'app-a': makeRepo({
      'package.json': pkg({ name: 'app-a', version: '1.0.0', dependencies: { core: '1.0.0' } }),
    }).dir,
    'app-b': makeRepo({
      'package.json': pkg({ name: 'app-b', version: '2.0.0', devDependencies: { core: '1.0.0' } }),
    }).dir,
    tools: makeRepo({
      'pyproject.toml': '[project]\nname = "tools"\nversion = "0.1.0"\ndependencies = ["requests>=2"]\n',
    }).dir,
  };
  const base = Object.fromEntries(Object.entries(repos).map(([n, d]) => [n, gitIn(d, 'rev-parse', 'HEAD')]));
  const ids: Record<string, string> = {};
  for (const [name, path] of Object.entries(repos)) {
    const res = await h.api('/v1/repos', {
      method: 'POST',
      body: JSON.stringify({ org: 'default', path, name }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    ids[name] = ((await res.json()) as { repo: { id: string } }).repo.id;
  }

  // Bad input is refused before anything exists.
  const bad = await h.api('/v1/campaigns', {
    method: 'POST',
    body: JSON.stringify({ title: 'x', description: 'y', repos: ['nope'] }),
  });
  expect(bad.status).toBe(403);
  const dup = await h.api('/v1/campaigns', {
    method: 'POST',
    body: JSON.stringify({ title: 'x', description: 'y', repos: ['core', ids.core] }),
  });
  expect(dup.status).toBe(400);

  const res = await h.api('/v1/campaigns', {
    method: 'POST',
    body: JSON.stringify({
      title: 'Release core 1.1.0',
      description: 'Release the next minor version and move every dependant to it.',
      repos: ['core', ids['app-a'], 'app-b', 'tools'],
      approve: 'auto',
      config: { test: { runner: 'none' } },
      throttle: { maxConcurrent: 2, maxPrsPerHour: 100 },
    }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  const { campaign } = (await res.json()) as { campaign: CampaignView };
  current = campaign.id;
  expect(res.headers.get('location')).toBe(`/v1/campaigns/${campaign.id}`);

  // Paused before any driver runs: a driver plans it but starts nothing until it is resumed.
  expect((await h.api(`/v1/campaigns/${campaign.id}/pause`, { method: 'POST' })).status).toBe(200);
  startRole('campaign');
  const planned = await waitFor('the graph', async () => {
    const c = await getCampaign(campaign.id);
    return c.repos.some((r) => r.upstream.length) ? c : undefined;
  });
  const byName = (c: CampaignView, n: string) => c.repos.find((r) => r.name === n)!;
  expect(byName(planned, 'app-a').upstream).toEqual(['core']);
  expect(byName(planned, 'app-b').upstream).toEqual(['core']);
  expect(byName(planned, 'core').upstream).toEqual([]);
  expect(byName(planned, 'tools').upstream).toEqual([]);
  await new Promise((r) => setTimeout(r, 1500));
  const held = await getCampaign(campaign.id);
  expect(held.status).toBe('paused');
  expect(held.burndown.pending).toBe(4);

  const sse = h
    .api(`/v1/campaigns/${campaign.id}/events`)
    .then((r) => readSse(r, (e) => (e.type as string) === 'campaign.completed'));
  expect((await h.api(`/v1/campaigns/${campaign.id}/resume`, { method: 'POST' })).status).toBe(200);

  // Mid-campaign: a downstream task has started on core's change. Kill -9 the driver and the conductor.
  await waitFor('a downstream task to start', async () => {
    const c = await getCampaign(campaign.id);
    return ['app-a', 'app-b'].some((n) => byName(c, n).state === 'running') ? c : undefined;
  });
  kill9('campaign');
  kill9('conductor');
  await new Promise((r) => setTimeout(r, 1000));
  startRole('conductor');
  startRole('campaign');

  const done = await waitFor(
    'the campaign to complete',
    async () => {
      const c = await getCampaign(campaign.id);
      return c.status === 'completed' || c.status === 'failed' ? c : undefined;
    },
    240_000,
  );
  expect(done.status).toBe('completed');
  expect(done.burndown).toMatchObject({ merged: 4, failed: 0, pending: 0, running: 0 });

  // Each repository done once: its deterministic task, and no other task on the board for the campaign.
  const taskKeys = (await h.client.board.keys('task.*')).filter((k) =>
    k.startsWith(`task.t-${campaign.id.slice(3)}`),
  );
  expect(taskKeys.sort()).toEqual([0, 1, 2, 3].map((i) => keys.task(campaignTaskId(campaign.id, i))).sort());
  const tasks: Record<string, TaskRecord> = {};
  const spans: Record<string, { start: number; end: number }> = {};
  for (const r of done.repos) {
    const t = (await h.client.board.get(keys.task(r.taskId!), TaskRecord))!.value;
    expect(t.status, t.reason).toBe('completed');
    tasks[r.name] = t;
    const events = await h.client.bus.history(t.id);
    expect(events.filter((e) => e.event.type === 'task.created')).toHaveLength(1);
    expect(events.filter((e) => e.event.type === 'integrate.committed')).toHaveLength(1);
    const ends = events.filter((e) => ['task.completed', 'task.failed'].includes(e.event.type));
    expect(ends).toHaveLength(1);
    spans[r.name] = {
      start: Date.parse(events.find((e) => e.event.type === 'task.created')!.event.at),
      end: Date.parse(ends[0]!.event.at),
    };
    // One codemesh branch, one commit on it.
    const dir = repos[r.name as keyof typeof repos];
    expect(
      gitIn(dir, 'branch', '--list', 'codemesh/*')
        .split('\n')
        .map((s) => s.replace(/^[*+ ]+/, '')),
    ).toEqual([`codemesh/${t.id}`]);
    expect(gitIn(dir, 'rev-list', '--count', `${base[r.name]}..codemesh/${t.id}`)).toBe('1');
  }

  // Upstream first: both dependants were created after core's task completed.
  for (const n of ['app-a', 'app-b']) expect(spans[n]!.start).toBeGreaterThanOrEqual(spans.core!.end);
  // On the new version: the description names core's task and commit and the new version, and the change uses it.
  for (const n of ['app-a', 'app-b']) {
    const desc = tasks[n]!.request.description;
    expect(desc).toContain(tasks.core!.id);
    expect(desc).toContain(tasks.core!.commit!);
    expect(desc).toContain('package core now at version 1.1.0');
    const manifest = JSON.parse(
      gitIn(repos[n as 'app-a'], 'show', `codemesh/${tasks[n]!.id}:package.json`),
    ) as Record<string, Record<string, string>>;
    expect(manifest.dependencies?.core ?? manifest.devDependencies?.core).toBe('1.1.0');
  }
  // The throttle, from the tasks' own event timestamps: never more than 2 between task.created and its end.
  const marks = Object.values(spans).flatMap((s) => [
    { t: s.start, d: 1 },
    { t: s.end, d: -1 },
  ]);
  marks.sort((a, b) => a.t - b.t || a.d - b.d);
  let open = 0;
  let most = 0;
  for (const m of marks) {
    open += m.d;
    most = Math.max(most, open);
  }
  expect(most).toBeLessThanOrEqual(2);
  expect(most).toBe(2);

  // The SSE feed: the events in order, ending with the completion.
  const feed = await sse;
  expect(feed.map((e) => e.id)).toEqual([...feed.map((e) => e.id)].sort((a, b) => a - b));
  expect(feed.at(-1)?.event.type).toBe('campaign.completed');
  expect(feed.filter((e) => (e.event.type as string) === 'repo.started')).toHaveLength(4);

  // An ended campaign takes no more decisions.
  expect((await h.api(`/v1/campaigns/${campaign.id}/pause`, { method: 'POST' })).status).toBe(409);
}, 400_000);

it('cancel: repositories not started are cancelled and get no task', async () => {
  const { dir } = makeRepo({ 'package.json': JSON.stringify({ name: 'lonely', version: '1.0.0' }) });
  const reg = await h.api('/v1/repos', {
    method: 'POST',
    body: JSON.stringify({ org: 'default', path: dir, name: 'lonely' }),
  });
  expect(reg.status).toBe(201);
  kill9('campaign');
  const res = await h.api('/v1/campaigns', {
    method: 'POST',
    body: JSON.stringify({
      title: 'Never',
      description: 'Cancelled before it starts.',
      repos: ['lonely'],
      approve: 'auto',
    }),
  });
  const { campaign } = (await res.json()) as { campaign: CampaignView };
  expect((await h.api(`/v1/campaigns/${campaign.id}/cancel`, { method: 'POST' })).status).toBe(200);
  expect((await h.api(`/v1/campaigns/${campaign.id}/resume`, { method: 'POST' })).status).toBe(409);
  startRole('campaign');
  const c = await waitFor('the repository to be cancelled', async () => {
    const v = await getCampaign(campaign.id);
    return v.repos[0]!.state === 'cancelled' ? v : undefined;
  });
  expect(c.status).toBe('cancelled');
  expect(await h.client.board.get(keys.task(campaignTaskId(campaign.id, 0)), TaskRecord)).toBeUndefined();
  expect((await h.api('/v1/campaigns/cp-nosuchcampaign1')).status).toBe(404);
  expect((await h.api('/v1/campaigns/nope')).status).toBe(400);
}, 120_000);
