// Campaign routes (FR-015): start a change across many registered repositories, read its burndown, pause,
// resume or cancel it, and follow its events. The campaign driver (`actors/campaign/`) does the work; these
// routes only write the request and the human's decisions to `campaign.<id>` (create, then compare-and-set).
import { and, eq } from 'drizzle-orm';
import type { Hono } from 'hono';
import { z } from 'zod';
import { checkRepoPlacement } from '../../actors/conductor/repo-policy.ts';
import { cancelCampaignTasks, languagesOf, streamCampaignEvents } from '../../actors/campaign/index.ts';
import { schema } from '../../actors/recorder/index.ts';
import {
  burndown,
  CampaignAction,
  CampaignId,
  CampaignRecord,
  type CampaignRepo,
  CampaignStatus,
  CreateCampaignBody,
  campaignEventFromStream,
  keys,
  matchesRepoQuery,
  mergeRepoConfigs,
  newCampaignId,
  parseRepoQuery,
  RepoQueryError,
  withCampaignEvent,
} from '../../schemas/index.ts';
import { atLeast, type RepoRef } from '../access.ts';
import { requireScope } from '../auth.ts';
import { type Env, type Gateway, jsonBody } from '../context.ts';
import { ApiError } from '../errors.ts';
import { sseWithSlot } from '../sse.ts';
import { Limit, type Role as RoleName } from '../../schemas/api.ts';
import type { Principal } from '../types.ts';
import { registeredRepoConfig } from './admin.ts';

function campaignIdParam(raw: string): string {
  const r = CampaignId.safeParse(raw);
  if (!r.success)
    throw new ApiError(400, 'INVALID_ID', 'the id is not a campaign id (cp-<lowercase letters and digits>)');
  return r.data;
}

/** A registered repository by id, else by name (in `org` when given); the caller must be developer there. */
async function resolveRepo(gw: Gateway, p: Principal, ref: string, org?: string): Promise<RepoRef> {
  let found: RepoRef[] = [];
  const byId = /^r-[a-z0-9]+$/.test(ref) ? await gw.access.repoById(ref) : undefined;
  if (byId) found = [byId];
  else {
    const r = schema.repos;
    found = await gw.db
      .select({ id: r.id, orgId: r.orgId, path: r.path, name: r.name })
      .from(r)
      .where(org ? and(eq(r.name, ref), eq(r.orgId, org)) : eq(r.name, ref));
  }
  const allowed: RepoRef[] = [];
  for (const repo of found) if (atLeast(await gw.access.repoRole(p, repo), 'developer')) allowed.push(repo);
  // Not registered, and registered where the caller is not a developer, answer alike: nothing leaks.
  if (allowed.length === 0)
    throw new ApiError(
      403,
      'REPO_NOT_REGISTERED',
      `repos: "${ref.slice(0, 100)}" is not a repository registered in an org where you are a developer`,
    );
  if (allowed.length > 1)
    throw new ApiError(
      400,
      'INVALID_REQUEST',
      `repos: "${ref.slice(0, 100)}" names repositories in several orgs; pass "org" or the repository id`,
    );
  const repo = allowed[0]!;
  await checkRepoPlacement(repo.path, { roots: gw.opts.repoRoots, stateDir: gw.opts.stateDir });
  return repo;
}

/**
 * The registered repositories a query selects (`repos: { query }`): where the caller is a developer, in `org`
 * when given, sorted by name. Languages are read from each candidate's manifests at HEAD.
 */
async function queryRepos(gw: Gateway, p: Principal, query: string, org?: string): Promise<RepoRef[]> {
  let q: ReturnType<typeof parseRepoQuery>;
  try {
    q = parseRepoQuery(query);
  } catch (err) {
    if (err instanceof RepoQueryError)
      throw new ApiError(400, 'INVALID_REQUEST', `repos.query: ${err.message}`);
    throw err;
  }
  const r = schema.repos;
  const rows = await gw.db
    .select({ id: r.id, orgId: r.orgId, path: r.path, name: r.name })
    .from(r)
    .where(org ? eq(r.orgId, org) : undefined)
    .orderBy(r.name, r.id);
  const out: RepoRef[] = [];
  for (const repo of rows) {
    // Names and orgs first: only the candidates left have their manifests read.
    if (!matchesRepoQuery({ ...q, langs: [] }, repo, undefined)) continue;
    if (!atLeast(await gw.access.repoRole(p, repo), 'developer')) continue;
    const langs = q.langs.length ? await languagesOf(repo.path).catch(() => new Set<string>()) : undefined;
    if (!matchesRepoQuery(q, repo, langs)) continue;
    out.push(repo);
    if (out.length > 200)
      throw new ApiError(
        400,
        'INVALID_REQUEST',
        'repos.query: matches more than 200 repositories; narrow it',
      );
  }
  if (out.length === 0)
    throw new ApiError(
      400,
      'NO_REPOSITORY',
      'repos.query: matches no registered repository where you are a developer',
    );
  for (const repo of out)
    await checkRepoPlacement(repo.path, { roots: gw.opts.repoRoots, stateDir: gw.opts.stateDir });
  return out;
}

/**
 * 404 when the campaign does not exist or the caller may not view it (the viewer role in its org or on every
 * repository of it: what GET /v1/campaigns lists), so another org's ids do not leak; 403 when the caller views
 * it but lacks `want` in its org and on some repository.
 */
async function authorizeCampaign(
  gw: Gateway,
  p: Principal,
  id: string,
  want: RoleName,
): Promise<{ campaign: CampaignRecord; revision: number }> {
  // The same answer, byte for byte, whether the campaign exists nowhere or in an org the caller may not view.
  const notFound = () =>
    new ApiError(404, 'CAMPAIGN_NOT_FOUND', 'no campaign with this id that you may view');
  const entry = await gw.mesh.board.get(keys.campaign(id), CampaignRecord);
  if (!entry) throw notFound();
  const c = entry.value;
  const orgRole = p.superuser ? 'admin' : await gw.access.orgRole(p, c.orgId);
  if (atLeast(orgRole, want)) return { campaign: c, revision: entry.revision };
  const repos = await gw.access.reposByIds(c.repos.map((r) => r.repoId));
  const roles = await Promise.all(repos.map((repo) => gw.access.repoRole(p, repo)));
  const complete = repos.length === c.repos.length;
  const views = atLeast(orgRole, 'viewer') || (complete && roles.every((r) => atLeast(r, 'viewer')));
  if (!views) throw notFound();
  if (!complete || !roles.every((r) => atLeast(r, want)))
    throw new ApiError(403, 'FORBIDDEN', `you need the ${want} role on every repository of this campaign`);
  return { campaign: c, revision: entry.revision };
}

/** What the API shows of a campaign: the burndown and each repository's state (events: the SSE feed). */
export function campaignView(c: CampaignRecord) {
  const names = new Map(c.repos.map((r) => [r.repoId, r.name]));
  return {
    id: c.id,
    title: c.title,
    status: c.status,
    reason: c.reason ?? null,
    waiting: c.waiting ?? null,
    orgId: c.orgId,
    approve: c.approve,
    throttle: c.throttle,
    burndown: burndown(c),
    repos: c.repos.map((r: CampaignRepo) => ({
      repoId: r.repoId,
      name: r.name,
      state: r.state,
      taskId: r.taskId ?? null,
      upstream: r.upstream.map((u) => names.get(u) ?? u),
      buildsOn: r.buildsOn,
      startedAt: r.startedAt ?? null,
      /** When its change was proposed (pull request opened, or gate / integration reached): maxPrsPerHour. */
      proposedAt: r.proposedAt ?? null,
      endedAt: r.endedAt ?? null,
      retries: r.retries,
      branch: r.branch ?? null,
      commit: r.commit ?? null,
      reason: r.reason ?? null,
    })),
    lastEvent: c.lastSeq,
    createdBy: c.createdBy,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
  };
}

const ENDED = new Set(['completed', 'failed']);
const CAMPAIGN_CANCELLED_NOTE = 'a change already integrated stands';

/**
 * The gateway's own events go onto the stream at once (the bridges post a pause or a cancel without waiting
 * for a driver); a failure here is not the request's: the driver's next pass publishes what is left.
 */
async function streamSoon(gw: Gateway, c: CampaignRecord): Promise<void> {
  await streamCampaignEvents(gw.mesh, c).catch(() => undefined);
}

/** `GET /v1/campaigns` query. */
const ListCampaignsQuery = z
  .object({
    limit: Limit,
    status: CampaignStatus.optional(),
    org: z.string().max(100).optional(),
  })
  .strict();

/** A failed repository and the ones behind it that failed only because of it (never started), as indexes. */
function retryScope(c: CampaignRecord, repoId: string): number[] {
  const out = new Set<string>([repoId]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const r of c.repos)
      if (!out.has(r.repoId) && r.state === 'failed' && !r.taskId && r.upstream.some((u) => out.has(u))) {
        out.add(r.repoId);
        grew = true;
      }
  }
  return c.repos.flatMap((r, i) => (out.has(r.repoId) ? [i] : []));
}

export function campaignRoutes(app: Hono<Env>, gw: Gateway): void {
  app.post('/v1/campaigns', async (c) => {
    const p = c.get('principal');
    requireScope(p, 'tasks:write');
    const body = CreateCampaignBody.parse(await jsonBody(c, gw.limits.maxBodyBytes));
    const repos: RepoRef[] = [];
    if (Array.isArray(body.repos))
      for (const ref of body.repos) {
        const repo = await resolveRepo(gw, p, ref, body.org);
        if (repos.some((r) => r.id === repo.id))
          throw new ApiError(400, 'INVALID_REQUEST', `repos: the repository ${repo.name} is named twice`);
        repos.push(repo);
      }
    else repos.push(...(await queryRepos(gw, p, body.repos.query, body.org)));
    // One org: its quota is the campaign's, and its members decide about it.
    const orgs = new Set(repos.map((r) => r.orgId));
    if (orgs.size > 1)
      throw new ApiError(
        400,
        'INVALID_REQUEST',
        'repos: a campaign runs in one org; these repositories are in several',
      );
    const orgId = repos[0]!.orgId;
    const entries: CampaignRepo[] = [];
    for (const repo of repos) {
      const registered = await registeredRepoConfig(gw, repo);
      const config = registered ? mergeRepoConfigs(registered, body.config) : body.config;
      entries.push({
        repoId: repo.id,
        name: repo.name,
        path: repo.path,
        ...(config ? { config } : {}),
        state: 'pending',
        packages: [],
        upstream: [],
        buildsOn: [],
        retries: 0,
        earlierProposals: [],
      });
    }
    const at = new Date(gw.now()).toISOString();
    const id = newCampaignId(gw.now());
    const record = withCampaignEvent(
      CampaignRecord.parse({
        id,
        orgId,
        title: body.title,
        description: body.description,
        approve: body.approve,
        budget: body.budget,
        ...(body.config ? { config: body.config } : {}),
        throttle: body.throttle,
        status: 'planning',
        repos: entries,
        createdBy: p.userId,
        createdAt: at,
        updatedAt: at,
      }),
      {
        at,
        type: 'campaign.created',
        detail: `${entries.length} repositories${Array.isArray(body.repos) ? '' : ` (query "${body.repos.query}")`}`,
      },
    );
    await gw.mesh.board.create(keys.campaign(id), CampaignRecord, record);
    await streamSoon(gw, record);
    await gw.audit(p, 'campaign.create', id, orgId, {
      repos: entries.map((r) => r.repoId),
      throttle: body.throttle,
    });
    return c.json({ campaign: campaignView(record) }, 201, { location: `/v1/campaigns/${id}` });
  });

  app.get('/v1/campaigns', async (c) => {
    const p = c.get('principal');
    requireScope(p, 'tasks:read');
    const q = ListCampaignsQuery.parse(c.req.query());
    const vis = await gw.access.visibility(p);
    const orgs = new Set(vis.orgIds);
    const repoIds = new Set(vis.repoIds);
    const items: CampaignRecord[] = [];
    for (const key of await gw.mesh.board.keys('campaign.*')) {
      const cur = (await gw.mesh.board.get(key, CampaignRecord).catch(() => undefined))?.value;
      if (!cur) continue;
      if (q.org && cur.orgId !== q.org) continue;
      if (q.status && cur.status !== q.status) continue;
      // What GET /v1/campaigns/{id} shows the caller: a member of its org, or a role on each of its repositories.
      if (!vis.all && !orgs.has(cur.orgId) && !cur.repos.every((r) => repoIds.has(r.repoId))) continue;
      items.push(cur);
    }
    items.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
    return c.json({
      items: items.slice(0, q.limit).map((x) => {
        const { repos: _repos, ...summary } = campaignView(x);
        return { ...summary, repos: x.repos.length };
      }),
      total: items.length,
    });
  });

  app.post('/v1/campaigns/:id/repos/:repoId/retry', async (c) => {
    const p = c.get('principal');
    requireScope(p, 'tasks:write');
    const id = campaignIdParam(c.req.param('id'));
    const repoId = c.req.param('repoId');
    await authorizeCampaign(gw, p, id, 'developer');
    let refused: ApiError | undefined;
    const entry = await gw.mesh.board.mutate(keys.campaign(id), CampaignRecord, (cur) => {
      refused = undefined;
      if (!cur) return undefined;
      const i = cur.repos.findIndex((r) => r.repoId === repoId || r.name === repoId);
      const r = cur.repos[i];
      if (!r) {
        refused = new ApiError(
          404,
          'REPO_NOT_IN_CAMPAIGN',
          `the campaign has no repository ${repoId.slice(0, 100)}`,
        );
        return undefined;
      }
      if (cur.status === 'cancelled' || cur.status === 'failed') {
        refused = new ApiError(409, 'CAMPAIGN_ENDED', `the campaign is ${cur.status}`);
        return undefined;
      }
      if (r.state !== 'failed') {
        refused = new ApiError(
          409,
          'NOT_FAILED',
          `${r.name} is ${r.state}; only a failed repository is retried`,
        );
        return undefined;
      }
      const at = new Date(gw.now()).toISOString();
      const repos = cur.repos.slice();
      for (const j of retryScope(cur, r.repoId)) {
        const x = repos[j]!;
        repos[j] = {
          ...x,
          state: 'pending',
          // A repository that had a task gets a new one (new id); one never started keeps its first id.
          retries: x.taskId ? x.retries + 1 : x.retries,
          taskId: undefined,
          startedAt: undefined,
          endedAt: undefined,
          proposedAt: undefined,
          // An earlier try's pull request still counts for maxPrsPerHour within its hour.
          earlierProposals: [...x.earlierProposals, ...(x.proposedAt ? [x.proposedAt] : [])].slice(-20),
          commit: undefined,
          branch: undefined,
          pullRequest: undefined,
          reason: undefined,
          buildsOn: [],
        };
      }
      const reset = retryScope(cur, r.repoId).map((j) => cur.repos[j]!.name);
      return withCampaignEvent(
        { ...cur, repos, status: cur.status === 'completed' ? 'running' : cur.status, waiting: undefined },
        {
          at,
          type: 'repo.retried',
          repoId: r.repoId,
          state: 'pending',
          detail: `by ${p.userId}${reset.length > 1 ? `; with ${reset.slice(1).join(', ')} (not started behind it)` : ''}`,
        },
      );
    });
    if (refused) throw refused;
    if (!entry) throw new ApiError(404, 'CAMPAIGN_NOT_FOUND', `no campaign ${id}`);
    await streamSoon(gw, entry.value);
    await gw.audit(p, 'campaign.retry', id, entry.value.orgId, { repoId });
    return c.json({ campaign: campaignView(entry.value) });
  });

  app.get('/v1/campaigns/:id', async (c) => {
    const p = c.get('principal');
    requireScope(p, 'tasks:read');
    const { campaign } = await authorizeCampaign(gw, p, campaignIdParam(c.req.param('id')), 'viewer');
    return c.json({ campaign: campaignView(campaign) });
  });

  for (const action of CampaignAction.options)
    app.post(`/v1/campaigns/:id/${action}`, async (c) => {
      const p = c.get('principal');
      requireScope(p, 'tasks:write');
      const id = campaignIdParam(c.req.param('id'));
      await authorizeCampaign(gw, p, id, 'developer');
      let refused: ApiError | undefined;
      const entry = await gw.mesh.board.mutate(keys.campaign(id), CampaignRecord, (cur) => {
        refused = undefined;
        if (!cur) return undefined;
        if (ENDED.has(cur.status)) {
          refused = new ApiError(409, 'CAMPAIGN_ENDED', `the campaign has ended (${cur.status})`);
          return undefined;
        }
        const at = new Date(gw.now()).toISOString();
        if (action === 'pause') {
          if (cur.status === 'paused') return undefined;
          if (cur.status === 'cancelled') {
            refused = new ApiError(409, 'CAMPAIGN_CANCELLED', 'the campaign was cancelled');
            return undefined;
          }
          return withCampaignEvent(
            { ...cur, status: 'paused' },
            { at, type: 'campaign.paused', detail: `by ${p.userId}` },
          );
        }
        if (action === 'resume') {
          if (cur.status === 'running' || cur.status === 'planning') return undefined;
          if (cur.status === 'cancelled') {
            refused = new ApiError(409, 'CAMPAIGN_CANCELLED', 'the campaign was cancelled');
            return undefined;
          }
          return withCampaignEvent(
            { ...cur, status: cur.planned ? 'running' : 'planning' },
            { at, type: 'campaign.resumed', detail: `by ${p.userId}` },
          );
        }
        if (cur.status === 'cancelled') return undefined;
        return withCampaignEvent(
          { ...cur, status: 'cancelled', reason: `cancelled by ${p.userId}` },
          {
            at,
            type: 'campaign.cancelled',
            detail: `by ${p.userId}; tasks under way are stopped (${CAMPAIGN_CANCELLED_NOTE})`,
          },
        );
      });
      if (refused) throw refused;
      const now = entry?.value ?? (await gw.mesh.board.get(keys.campaign(id), CampaignRecord))?.value;
      if (!now) throw new ApiError(404, 'CAMPAIGN_NOT_FOUND', `no campaign ${id}`);
      if (entry) {
        await streamSoon(gw, entry.value);
        // The tasks under way stop now, not at the next driver pass (which sends the same requests again).
        if (action === 'cancel')
          await cancelCampaignTasks(gw.mesh, entry.value, new Date(gw.now()).toISOString()).catch(() => []);
      }
      await gw.audit(p, `campaign.${action}`, id, now.orgId);
      return c.json({ campaign: campaignView(now) });
    });

  app.get('/v1/campaigns/:id/events', async (c) => {
    const p = c.get('principal');
    requireScope(p, 'tasks:read');
    const id = campaignIdParam(c.req.param('id'));
    await authorizeCampaign(gw, p, id, 'viewer');
    const last = Number(c.req.header('last-event-id') ?? c.req.query('after') ?? '0');
    let sent = Number.isInteger(last) && last > 0 ? last : 0;
    return sseWithSlot(c, gw, p, 'campaign', async (stream, signal) => {
      // The entry keeps the last MAX_CAMPAIGN_EVENTS; older ones are replayed from the events stream.
      const first = (await gw.mesh.board.get(keys.campaign(id), CampaignRecord))?.value.events[0]?.seq;
      if (first !== undefined && sent + 1 < first)
        for (const { event } of await gw.mesh.bus.history(id)) {
          const e = campaignEventFromStream(event);
          if (!e || e.seq <= sent || e.seq >= first) continue;
          await stream.writeSSE({ id: String(e.seq), event: e.type, data: JSON.stringify(e) });
          sent = e.seq;
        }
      for await (const change of gw.mesh.board.watch({
        filter: keys.campaign(id),
        includeHistory: true,
        signal,
      })) {
        const parsed = CampaignRecord.safeParse(change.value);
        if (!parsed.success) continue;
        const cur = parsed.data;
        for (const e of cur.events)
          if (e.seq > sent) {
            await stream.writeSSE({ id: String(e.seq), event: e.type, data: JSON.stringify(e) });
            sent = e.seq;
          }
        await stream.writeSSE({
          event: 'burndown',
          data: JSON.stringify({ status: cur.status, burndown: burndown(cur) }),
        });
        if (ENDED.has(cur.status)) return;
      }
    });
  });
}
