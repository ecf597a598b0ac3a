// Model settings per org and role, and the org's daily quota: kept in the record (policies, kinds `models` and
// `quota`) and on the blackboard (`models.<org>`), where the actors read them at every model call. API keys
// are sealed (AES-256-GCM) before they are stored anywhere and are never returned, logged or audited.
import { and, eq } from 'drizzle-orm';
import type { Hono } from 'hono';
import { loadSecretKey, type SecretBox, secretBox } from '../../actors/llm/secret-box.ts';
import { schema } from '../../actors/recorder/index.ts';
import { ModelConfigBody } from '../../schemas/api.ts';
import { usedToday } from '../../actors/runtime/quota.ts';
import {
  CandidateDefaults,
  keys,
  nextUtcMidnight,
  OrgModelSettings,
  OrgQuota,
  QuotaDay,
  sealedKeyAad,
  type StoredModelSetting,
  utcDay,
} from '../../schemas/index.ts';
import { type Ctx, type Env, type Gateway, jsonBody } from '../context.ts';
import { ApiError } from '../errors.ts';
import { requireOrgAdmin } from './admin.ts';

type Stored = Record<string, Record<string, unknown>>;

/** Model settings as stored, with every API key replaced by whether one is set. */
function withoutKeys(roles: Stored) {
  return Object.fromEntries(
    Object.entries(roles).map(([role, { apiKey, apiKeySealed, ...rest }]) => [
      role,
      { ...rest, apiKeySet: typeof apiKey === 'string' || typeof apiKeySealed === 'string' },
    ]),
  );
}

export function modelRoutes(app: Hono<Env>, gw: Gateway): void {
  let box: SecretBox | undefined;
  const secrets = (): SecretBox => {
    if (!box) {
      const key =
        gw.opts.secretKey ?? loadSecretKey({ env: process.env, stateDir: gw.opts.stateDir, create: true });
      if (!key)
        throw new ApiError(
          503,
          'SECRET_KEY_MISSING',
          'API keys are stored encrypted: set CODEMESH_SECRET_KEY (32 bytes, hex or base64) or run the gateway with a state dir',
        );
      box = secretBox(key);
    }
    return box;
  };

  const stored = async (org: string): Promise<Stored> => {
    const [cur] = await gw.db
      .select({ body: schema.policies.body })
      .from(schema.policies)
      .where(and(eq(schema.policies.orgId, org), eq(schema.policies.kind, 'models')));
    return (cur?.body ?? {}) as Stored;
  };

  /** The org's candidate defaults (k, per-candidate model and temperature), kept in the record as their own policy. */
  const storedCandidates = async (org: string): Promise<CandidateDefaults | undefined> => {
    const [cur] = await gw.db
      .select({ body: schema.policies.body })
      .from(schema.policies)
      .where(and(eq(schema.policies.orgId, org), eq(schema.policies.kind, 'candidates')));
    return cur ? CandidateDefaults.parse(cur.body) : undefined;
  };

  const storedQuota = async (org: string): Promise<OrgQuota | undefined> => {
    const [cur] = await gw.db
      .select({ body: schema.policies.body })
      .from(schema.policies)
      .where(and(eq(schema.policies.orgId, org), eq(schema.policies.kind, 'quota')));
    const q = OrgQuota.safeParse(cur?.body);
    return q.success ? q.data : undefined;
  };

  /** The quota and what the org used of it today (UTC), when it has one. */
  const quotaView = async (org: string, quota: OrgQuota | undefined) => {
    if (!quota) return {};
    const now = gw.now();
    const day = (await gw.mesh.board.get(keys.quota(org, utcDay(now)), QuotaDay))?.value;
    const used = day ? usedToday(day, now) : { tokens: 0, usd: 0, calls: 0 };
    return {
      quota,
      quotaUsage: { day: utcDay(now), ...used, resetsAt: new Date(nextUtcMidnight(now)).toISOString() },
    };
  };

  app.post('/v1/config/models', async (c: Ctx) => {
    const p = c.get('principal');
    const req = ModelConfigBody.parse(await jsonBody(c, gw.limits.maxBodyBytes));
    await requireOrgAdmin(gw, p, req.org);
    const prev = await stored(req.org);
    const next: Record<string, StoredModelSetting> = {};
    for (const [role, old] of Object.entries(prev)) {
      const { apiKey, ...rest } = old as StoredModelSetting & { apiKey?: string };
      // Settings stored in clear before keys were sealed are sealed on their next write.
      next[role] = {
        ...rest,
        ...(typeof apiKey === 'string'
          ? { apiKeySealed: secrets().seal(apiKey, sealedKeyAad(req.org, role)) }
          : {}),
      };
    }
    for (const [role, setting] of Object.entries(req.roles)) {
      if (!setting) continue;
      const { apiKey, ...rest } = setting;
      next[role] = {
        ...next[role],
        ...rest,
        ...(apiKey ? { apiKeySealed: secrets().seal(apiKey, sealedKeyAad(req.org, role)) } : {}),
      };
    }
    const at = new Date(gw.now());
    // Candidate defaults are replaced whole when sent, kept when not.
    const candidates = req.candidates ?? (await storedCandidates(req.org));
    if (req.candidates)
      await gw.db
        .insert(schema.policies)
        .values({
          orgId: req.org,
          kind: 'candidates',
          body: req.candidates,
          updatedBy: p.userId,
          updatedAt: at,
        })
        .onConflictDoUpdate({
          target: [schema.policies.orgId, schema.policies.kind],
          set: { body: req.candidates, updatedBy: p.userId, updatedAt: at },
        });
    await gw.db
      .insert(schema.policies)
      .values({ orgId: req.org, kind: 'models', body: next, updatedBy: p.userId, updatedAt: at })
      .onConflictDoUpdate({
        target: [schema.policies.orgId, schema.policies.kind],
        set: { body: next, updatedBy: p.userId, updatedAt: at },
      });
    // Absent keeps the quota, null removes it.
    const quota = req.quota === undefined ? await storedQuota(req.org) : (req.quota ?? undefined);
    if (req.quota === null)
      await gw.db
        .delete(schema.policies)
        .where(and(eq(schema.policies.orgId, req.org), eq(schema.policies.kind, 'quota')));
    else if (req.quota)
      await gw.db
        .insert(schema.policies)
        .values({ orgId: req.org, kind: 'quota', body: req.quota, updatedBy: p.userId, updatedAt: at })
        .onConflictDoUpdate({
          target: [schema.policies.orgId, schema.policies.kind],
          set: { body: req.quota, updatedBy: p.userId, updatedAt: at },
        });
    // What the actors read, at their next model call (no restart).
    await gw.mesh.board.mutate(keys.models(req.org), OrgModelSettings, () => ({
      org: req.org,
      roles: next,
      ...(candidates ? { candidates } : {}),
      ...(quota ? { quota } : {}),
      updatedAt: at.toISOString(),
      updatedBy: p.userId,
    }));
    // The audit entry names what changed, never the key itself.
    await gw.audit(p, 'config.models', req.org, req.org, {
      roles: withoutKeys(req.roles as Stored),
      ...(req.candidates ? { candidates: req.candidates } : {}),
      ...(req.quota !== undefined ? { quota: req.quota } : {}),
    });
    return c.json({
      org: req.org,
      roles: withoutKeys(next),
      ...(candidates ? { candidates } : {}),
      ...(await quotaView(req.org, quota)),
    });
  });

  app.get('/v1/config/models', async (c: Ctx) => {
    const p = c.get('principal');
    const org = c.req.query('org') ?? '';
    await requireOrgAdmin(gw, p, org);
    const candidates = await storedCandidates(org);
    return c.json({
      org,
      roles: withoutKeys(await stored(org)),
      ...(candidates ? { candidates } : {}),
      ...(await quotaView(org, await storedQuota(org))),
    });
  });
}
