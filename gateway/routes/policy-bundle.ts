// An org's policy bundle over HTTP (`GET/PUT /v1/config/policy`): the YAML that `codemesh policy org` installs
// under the state dir, where every policy check of the org's tasks reads it (default < org < repository).
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Hono } from 'hono';
import {
  defaultPolicyBundle,
  extendDefaultBundle,
  orgPolicyPath,
  PolicyBundleError,
} from '../../actors/policy/index.ts';
import { OrgPolicyBody } from '../../schemas/api.ts';
import type { PolicyBundle } from '../../schemas/index.ts';
import { type Ctx, type Env, type Gateway, jsonBody } from '../context.ts';
import { ApiError } from '../errors.ts';
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

export function policyBundleRoutes(app: Hono<Env>, gw: Gateway): void {
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
    if (yaml === null) return { org, yaml: null, bundle: summary(defaultPolicyBundle) };
    try {
      return { org, yaml, bundle: summary(extendDefaultBundle([{ text: yaml, source: `org:${org}` }])) };
    } catch (err) {
      // A file broken by hand: shown with why, so an admin can replace it.
      if (err instanceof PolicyBundleError)
        return { org, yaml, bundle: summary(defaultPolicyBundle), error: err.message };
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
    const path = pathOf(req.org);
    if (req.yaml === null) {
      await rm(path, { force: true });
      await gw.audit(p, 'config.policy', req.org, req.org, { removed: true });
      return c.json(await view(req.org));
    }
    let merged: PolicyBundle;
    try {
      // Checked as the policy check will merge it: a bundle that would break every check is refused here.
      merged = extendDefaultBundle([{ text: req.yaml, source: `org:${req.org}` }]);
    } catch (err) {
      if (err instanceof PolicyBundleError) throw new ApiError(400, err.code, err.message);
      throw err;
    }
    await mkdir(dirname(path), { recursive: true });
    // Written whole then renamed: a check reading it meanwhile sees the old or the new bundle, never half.
    await writeFile(`${path}.tmp`, req.yaml);
    await rename(`${path}.tmp`, path);
    await gw.audit(p, 'config.policy', req.org, req.org, {
      version: merged.version,
      rules: merged.rules.length,
    });
    return c.json(await view(req.org));
  });
}
