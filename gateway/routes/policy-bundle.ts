// An org's policy bundle over HTTP (`GET/PUT /v1/config/policy`): the YAML that `codemesh policy org` installs
// under the state dir, where every policy check of the org's tasks reads it (default < org < repository).
// Every change through the API is a version in the record (`policies` row of kind `bundle`: revision, YAML,
// sha256, who, when), listed by `GET /v1/config/policy/versions` and restorable as a new revision.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Hono } from 'hono';
import {
  defaultPolicyBundle,
  extendDefaultBundle,
  orgPolicyPath,
  PolicyBundleError,
  parseBundleFile,
} from '../../actors/policy/index.ts';
import { and, eq } from 'drizzle-orm';
import { schema } from '../../actors/recorder/index.ts';
import {
  ORG_POLICY_KIND,
  OrgPolicyBody,
  OrgPolicyHistory,
  OrgPolicyRestoreBody,
  type OrgPolicyVersion,
} from '../../schemas/api.ts';
import { keys, OrgPolicyEntry, type PolicyBundle } from '../../schemas/index.ts';
import { type Ctx, type Env, type Gateway, jsonBody } from '../context.ts';
import { ApiError } from '../errors.ts';
import type { Principal } from '../types.ts';
import { requireOrgAdmin } from './admin.ts';

/** What the console shows of a merged bundle: its layers' versions and each rule's switches. */
const summary = (b: PolicyBundle) => ({
  version: b.version,
  rules: b.rules.map(({ id, kind, severity, enforcement, enabled }) => ({
    id,
    kind,
    severity,
    enforcement,
    enabled,
  })),
  licenses: { allow: b.licenses.allow ?? null, deny: b.licenses.deny },
});

/** Versions kept per org (the oldest are dropped first). */
const MAX_VERSIONS = 100;
const KIND = ORG_POLICY_KIND;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export function policyBundleRoutes(app: Hono<Env>, gw: Gateway): void {
  const history = async (org: string): Promise<OrgPolicyVersion[]> => {
    const [row] = await gw.db
      .select({ body: schema.policies.body })
      .from(schema.policies)
      .where(and(eq(schema.policies.orgId, org), eq(schema.policies.kind, KIND)));
    const h = OrgPolicyHistory.safeParse(row?.body);
    return h.success ? h.data.versions : [];
  };

  const pathOf = (org: string): string => {
    if (!gw.opts.stateDir)
      throw new ApiError(
        503,
        'STATE_DIR_MISSING',
        'org policy bundles live in the state dir: run the gateway with one',
      );
    return orgPolicyPath(gw.opts.stateDir, org);
  };

  /** The org's YAML and the bundle its tasks are checked with (before a repository's own layer). */
  const view = async (org: string) => {
    const yaml = gw.opts.stateDir ? await readFile(pathOf(org), 'utf8').catch(() => null) : null;
    const last = (await history(org)).at(-1);
    // `drift`: the file in use is not the last version stored through the API (installed with `codemesh
    // policy org`, or edited by hand).
    const stored = {
      revision: last?.revision ?? null,
      drift: (last?.yaml ?? null) !== yaml && !(last === undefined && yaml === null),
    };
    if (yaml === null) return { org, yaml: null, ...stored, bundle: summary(defaultPolicyBundle) };
    try {
      return {
        org,
        yaml,
        ...stored,
        bundle: summary(extendDefaultBundle([{ text: yaml, source: `org:${org}` }])),
      };
    } catch (err) {
      // A file broken by hand: shown with why, so an admin can replace it.
      if (err instanceof PolicyBundleError)
        return { org, yaml, ...stored, bundle: summary(defaultPolicyBundle), error: err.message };
      throw err;
    }
  };

  /**
   * Installs `yaml` (null: removes the org's bundle) as the next revision: the record's version and the state
   * dir's file change in one transaction (the row locked, so two admins get two revisions, in order; a file
   * that cannot be written rolls the version back). The YAML was checked by the caller.
   */
  const install = async (
    p: Principal,
    org: string,
    yaml: string | null,
    bundleVersion: string | undefined,
    restoredFrom?: number,
  ): Promise<OrgPolicyVersion> => {
    const path = pathOf(org);
    // The row exists before it is locked: two first versions of an org then wait for each other too.
    await gw.db
      .insert(schema.policies)
      .values({
        orgId: org,
        kind: KIND,
        body: { versions: [] },
        updatedBy: p.userId,
        updatedAt: new Date(gw.now()),
      })
      .onConflictDoNothing();
    return gw.db
      .transaction(async (tx) => {
        const [row] = await tx
          .select({ body: schema.policies.body })
          .from(schema.policies)
          .where(and(eq(schema.policies.orgId, org), eq(schema.policies.kind, KIND)))
          .for('update');
        const parsed = OrgPolicyHistory.safeParse(row?.body);
        const versions = parsed.success ? parsed.data.versions : [];
        const now = new Date(gw.now());
        const version: OrgPolicyVersion = {
          revision: (versions.at(-1)?.revision ?? 0) + 1,
          yaml,
          ...(bundleVersion !== undefined && { bundleVersion }),
          ...(yaml !== null && { sha256: sha256(yaml) }),
          by: p.userId,
          at: now.toISOString(),
          ...(restoredFrom !== undefined && { restoredFrom }),
        };
        const body: OrgPolicyHistory = { versions: [...versions, version].slice(-MAX_VERSIONS) };
        await tx
          .insert(schema.policies)
          .values({ orgId: org, kind: KIND, body, updatedBy: p.userId, updatedAt: now })
          .onConflictDoUpdate({
            target: [schema.policies.orgId, schema.policies.kind],
            set: { body, updatedBy: p.userId, updatedAt: now },
          });
        if (yaml === null) await rm(path, { force: true });
        else {
          await mkdir(dirname(path), { recursive: true });
          // Written whole then renamed: a check reading it meanwhile sees the old or the new bundle, never half.
          await writeFile(`${path}.tmp`, yaml);
          await rename(`${path}.tmp`, path);
        }
        return version;
      })
      .then(async (version) => {
        // What the policy checks of the org read on every machine (a later revision is never overwritten).
        await gw.mesh.board.mutate(keys.orgPolicy(org), OrgPolicyEntry, (cur) =>
          cur && cur.revision > version.revision
            ? undefined
            : {
                org,
                revision: version.revision,
                yaml: version.yaml,
                ...(version.sha256 ? { sha256: version.sha256 } : {}),
                updatedAt: version.at,
              },
        );
        return version;
      });
  };

  /** The merged bundle `yaml` makes for `org`, or a 400 naming the problem. */
  const check = (org: string, yaml: string): PolicyBundle => {
    try {
      // Checked as the policy check will merge it: a bundle that would break every check is refused here.
      return extendDefaultBundle([{ text: yaml, source: `org:${org}` }]);
    } catch (err) {
      if (err instanceof PolicyBundleError) throw new ApiError(400, err.code, err.message);
      throw err;
    }
  };

  app.get('/v1/config/policy', async (c: Ctx) => {
    const p = c.get('principal');
    const org = c.req.query('org') ?? '';
    await requireOrgAdmin(gw, p, org);
    return c.json(await view(org));
  });

  app.put('/v1/config/policy', async (c: Ctx) => {
    const p = c.get('principal');
    const req = OrgPolicyBody.parse(await jsonBody(c, gw.limits.maxBodyBytes));
    await requireOrgAdmin(gw, p, req.org);
    const merged = req.yaml === null ? undefined : check(req.org, req.yaml);
    const v = await install(p, req.org, req.yaml, merged && fileVersion(req.yaml!));
    await gw.audit(p, 'config.policy', req.org, req.org, {
      revision: v.revision,
      ...(merged ? { version: merged.version, rules: merged.rules.length } : { removed: true }),
    });
    return c.json(await view(req.org));
  });

  app.get('/v1/config/policy/versions', async (c: Ctx) => {
    const p = c.get('principal');
    const org = c.req.query('org') ?? '';
    await requireOrgAdmin(gw, p, org);
    return c.json({ org, versions: (await history(org)).reverse() });
  });

  app.post('/v1/config/policy/restore', async (c: Ctx) => {
    const p = c.get('principal');
    const req = OrgPolicyRestoreBody.parse(await jsonBody(c, gw.limits.maxBodyBytes));
    await requireOrgAdmin(gw, p, req.org);
    const old = (await history(req.org)).find((v) => v.revision === req.revision);
    if (!old)
      throw new ApiError(404, 'NOT_FOUND', `org ${req.org} has no policy bundle revision ${req.revision}`);
    // Checked again: the default bundle may have changed since (a rule it overlays may be gone).
    const merged = old.yaml === null ? undefined : check(req.org, old.yaml);
    const v = await install(p, req.org, old.yaml, old.bundleVersion, old.revision);
    await gw.audit(p, 'config.policy.restore', req.org, req.org, {
      revision: v.revision,
      restoredFrom: old.revision,
      ...(merged ? { version: merged.version } : { removed: true }),
    });
    return c.json(await view(req.org));
  });
}

/** The bundle file's own `version:` (the merged bundle names every layer). */
function fileVersion(yaml: string): string | undefined {
  try {
    return parseBundleFile(yaml, 'org').version;
  } catch {
    return undefined;
  }
}
