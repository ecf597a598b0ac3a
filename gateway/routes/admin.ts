// Administration: orgs, members and repo roles, repository registration, personal access tokens (model
// settings: models.ts). Every change goes to the audit log (who, what, when).
import { and, asc, desc, eq, inArray, or, type SQL } from 'drizzle-orm';
import type { Hono } from 'hono';
import { basename } from 'node:path';
import { schema } from '../../actors/recorder/index.ts';
import { resolveRepo } from '../../actors/runtime/git.ts';
import {
  CreateOrgBody,
  CreatePatBody,
  RegisterRepoBody,
  RepoConfigBody,
  SetMemberBody,
} from '../../schemas/api.ts';
import { newId, RepoConfig } from '../../schemas/index.ts';
import { atLeast, overlapError } from '../access.ts';
import { requireScope } from '../auth.ts';
import { checkRepoPlacement } from '../../actors/conductor/repo-policy.ts';
import { type Ctx, type Env, type Gateway, jsonBody, placementFor } from '../context.ts';
import { ApiError } from '../errors.ts';
import { mintPat } from '../pat.ts';
import type { Principal } from '../types.ts';

const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;

export async function requireOrgAdmin(gw: Gateway, p: Principal, orgId: string): Promise<void> {
  requireScope(p, 'config:write');
  if (!SLUG.test(orgId) || !atLeast(await gw.access.orgRole(p, orgId), 'admin'))
    throw new ApiError(403, 'FORBIDDEN', `you need the admin role in org ${orgId.slice(0, 64)}`);
}

/** Registered settings live with the org's policies (kind `repo-config:<repo id>`): no table change. */
export const repoConfigKind = (repoId: string) => `repo-config:${repoId}`;

async function storeRepoConfig(
  gw: Gateway,
  p: Principal,
  repo: { id: string; orgId: string },
  config: RepoConfig,
): Promise<void> {
  const at = new Date(gw.now());
  const kind = repoConfigKind(repo.id);
  await gw.db
    .insert(schema.policies)
    .values({ orgId: repo.orgId, kind, body: config, updatedBy: p.userId, updatedAt: at })
    .onConflictDoUpdate({
      target: [schema.policies.orgId, schema.policies.kind],
      set: { body: config, updatedBy: p.userId, updatedAt: at },
    });
  await gw.audit(p, 'repo.config', repo.id, repo.orgId, { config });
}

/** The settings stored for a registered repository, if any. */
export async function registeredRepoConfig(
  gw: Gateway,
  repo: { id: string; orgId: string },
): Promise<RepoConfig | undefined> {
  const [row] = await gw.db
    .select({ body: schema.policies.body })
    .from(schema.policies)
    .where(and(eq(schema.policies.orgId, repo.orgId), eq(schema.policies.kind, repoConfigKind(repo.id))));
  return row ? RepoConfig.parse(row.body) : undefined;
}

export function adminRoutes(app: Hono<Env>, gw: Gateway): void {
  const body = (c: Ctx) => jsonBody(c, gw.limits.maxBodyBytes);

  app.post('/v1/orgs', async (c) => {
    const p = c.get('principal');
    requireScope(p, 'config:write');
    if (!p.superuser) throw new ApiError(403, 'FORBIDDEN', 'only an instance administrator creates orgs');
    const { name } = CreateOrgBody.parse(await body(c));
    const created = await gw.db
      .insert(schema.orgs)
      .values({ id: name, name })
      .onConflictDoNothing()
      .returning();
    if (created.length === 0) throw new ApiError(409, 'ORG_EXISTS', `org ${name} exists`);
    await gw.db
      .insert(schema.memberships)
      .values({ userId: p.userId, orgId: name, role: 'admin' })
      .onConflictDoNothing();
    await gw.audit(p, 'org.create', name, name);
    return c.json({ org: { id: name, name } }, 201);
  });

  app.put('/v1/orgs/:org/members/:user', async (c) => {
    const p = c.get('principal');
    const orgId = c.req.param('org');
    await requireOrgAdmin(gw, p, orgId);
    const userId = c.req.param('user');
    const { role, repo } = SetMemberBody.parse(await body(c));
    const [user] = await gw.db
      .select({ id: schema.users.id })
      .from(schema.users)
      .where(eq(schema.users.id, userId));
    if (!user)
      throw new ApiError(404, 'USER_NOT_FOUND', 'no such user (users appear after their first sign-in)');
    if (repo) {
      const r = await gw.access.repoById(repo);
      if (!r || r.orgId !== orgId)
        throw new ApiError(404, 'REPO_NOT_FOUND', `org ${orgId} has no repository ${repo.slice(0, 64)}`);
      await gw.db
        .insert(schema.repoRoles)
        .values({ userId, repoId: repo, role })
        .onConflictDoUpdate({ target: [schema.repoRoles.userId, schema.repoRoles.repoId], set: { role } });
    } else {
      await gw.db
        .insert(schema.memberships)
        .values({ userId, orgId, role })
        .onConflictDoUpdate({ target: [schema.memberships.userId, schema.memberships.orgId], set: { role } });
    }
    gw.access.forgetRoles();
    await gw.audit(p, 'member.set', userId, orgId, { role, ...(repo ? { repo } : {}) });
    return c.json({ member: { userId, orgId, role, repo: repo ?? null } });
  });

  app.post('/v1/repos', async (c) => {
    const p = c.get('principal');
    const req = RegisterRepoBody.parse(await body(c));
    await requireOrgAdmin(gw, p, req.org);
    const placement = placementFor(gw, p);
    // The real path: a symlink or `..` cannot make a second registration of the same checkout.
    const path = await checkRepoPlacement(await resolveRepo(req.path), placement);
    if (await gw.access.overlappingRepo(path, req.org)) throw overlapError();
    const repo = { id: newId('r'), orgId: req.org, path, name: req.name ?? basename(path) };
    const created = await gw.db.insert(schema.repos).values(repo).onConflictDoNothing().returning();
    if (created.length === 0)
      throw new ApiError(409, 'REPO_EXISTS', 'this repository path is already registered (one org per path)');
    await gw.audit(p, 'repo.register', repo.id, req.org, { path });
    if (req.config) await storeRepoConfig(gw, p, repo, req.config);
    return c.json({ repo: { ...repo, config: req.config ?? {} } }, 201);
  });

  app.get('/v1/repos', async (c) => {
    const p = c.get('principal');
    requireScope(p, 'tasks:read');
    const vis = await gw.access.visibility(p);
    const r = schema.repos;
    const parts: SQL[] = [];
    if (vis.orgIds.length) parts.push(inArray(r.orgId, vis.orgIds));
    if (vis.repoIds.length) parts.push(inArray(r.id, vis.repoIds));
    if (!vis.all && parts.length === 0) return c.json({ items: [] });
    const rows = await gw.db
      .select({ id: r.id, orgId: r.orgId, name: r.name, path: r.path })
      .from(r)
      .where(vis.all ? undefined : or(...parts))
      .orderBy(asc(r.name), asc(r.id))
      .limit(500);
    const items = [];
    // The caller's role on each, so a client offers only what it may do (a viewer cannot submit tasks).
    for (const row of rows) {
      const role = await gw.access.repoRole(p, row);
      if (role) items.push({ ...row, role });
    }
    return c.json({ items });
  });

  app.put('/v1/repos/:id/config', async (c) => {
    const p = c.get('principal');
    // The scope first (it does not depend on the repository); then a repository the caller may not view
    // answers as a missing one (404), and one it views without the admin role in its org is refused (403).
    requireScope(p, 'config:write');
    const id = c.req.param('id');
    const repo = /^[a-z0-9_-]{1,64}$/i.test(id) ? await gw.access.repoById(id) : undefined;
    if (!repo || !(await gw.access.repoRole(p, repo)))
      throw new ApiError(404, 'REPO_NOT_FOUND', 'no such registered repository');
    await requireOrgAdmin(gw, p, repo.orgId);
    const config = RepoConfigBody.parse(await body(c));
    await storeRepoConfig(gw, p, repo, config);
    return c.json({ repo: { id: repo.id, config } });
  });

  app.post('/v1/tokens', async (c) => {
    const p = c.get('principal');
    if (p.via === 'pat') throw new ApiError(403, 'FORBIDDEN', 'an access token cannot create access tokens');
    const req = CreatePatBody.parse(await body(c));
    const missing = req.scopes.filter((s) => !p.scopes.has(s));
    if (missing.length)
      throw new ApiError(
        403,
        'INSUFFICIENT_SCOPE',
        `you cannot grant scopes you lack: ${missing.join(', ')}`,
      );
    const pat = mintPat();
    const expiresAt = new Date(gw.now() + req.expiresInDays * 86_400_000);
    await gw.db.insert(schema.personalAccessTokens).values({
      id: pat.id,
      userId: p.userId,
      name: req.name,
      secretSha256: pat.secretSha256,
      scopes: req.scopes,
      expiresAt,
    });
    await gw.audit(p, 'token.create', pat.id, null, {
      name: req.name,
      scopes: req.scopes,
      expiresAt: expiresAt.toISOString(),
    });
    // The only time the secret is shown.
    return c.json(
      { token: pat.token, id: pat.id, scopes: req.scopes, expiresAt: expiresAt.toISOString() },
      201,
    );
  });

  app.get('/v1/tokens', async (c) => {
    const p = c.get('principal');
    const t = schema.personalAccessTokens;
    const rows = await gw.db
      .select({
        id: t.id,
        name: t.name,
        scopes: t.scopes,
        expiresAt: t.expiresAt,
        revokedAt: t.revokedAt,
        createdAt: t.createdAt,
      })
      .from(t)
      .where(eq(t.userId, p.userId))
      .orderBy(desc(t.createdAt))
      .limit(200);
    return c.json({ items: rows });
  });

  app.delete('/v1/tokens/:id', async (c) => {
    const p = c.get('principal');
    const id = c.req.param('id');
    if (!/^[a-z0-9]{12}$/.test(id)) throw new ApiError(400, 'INVALID_ID', 'the id is not a token id');
    const t = schema.personalAccessTokens;
    const owner = p.superuser ? undefined : eq(t.userId, p.userId);
    const done = await gw.db
      .update(t)
      .set({ revokedAt: new Date(gw.now()) })
      .where(owner ? and(eq(t.id, id), owner) : eq(t.id, id))
      .returning({ id: t.id });
    if (done.length === 0) throw new ApiError(404, 'TOKEN_NOT_FOUND', 'no such token of yours');
    gw.auth.forgetPat(id);
    await gw.audit(p, 'token.revoke', id, null);
    return c.json({ revoked: id });
  });
}
