// What every route of the gateway shares: the mesh, the record, access checks, limits, metrics, audit.
import type { Context } from 'hono';
import type { GitHub } from '../actors/integrator/github/index.ts';
import type { RepoPlacement } from '../actors/conductor/repo-policy.ts';
import { type RecordDb, schema } from '../actors/recorder/index.ts';
import type { MeshConnection } from '../blackboard/index.ts';
import { findUnsafeText, TaskId, UNSAFE_TEXT_MESSAGE } from '../schemas/index.ts';
import type { Access } from './access.ts';
import type { Authenticator } from './auth.ts';
import { ApiError } from './errors.ts';
import type { StreamSlots } from './limits.ts';
import type { HttpMetrics } from './metrics.ts';
import type { GatewayOptions, Limits, Principal } from './types.ts';

export type Env = { Variables: { principal: Principal } };
export type Ctx = Context<Env>;

export interface Gateway {
  mesh: MeshConnection;
  db: RecordDb;
  access: Access;
  auth: Authenticator;
  limits: Limits;
  slots: StreamSlots;
  /** The same, per user: one user's many tokens do not hold every stream the gateway can serve. */
  userSlots: StreamSlots;
  metrics: HttpMetrics;
  opts: GatewayOptions;
  github: GitHub;
  now: () => number;
  audit(
    p: Principal,
    action: string,
    target: string,
    orgId: string | null,
    detail?: Record<string, unknown>,
  ): Promise<void>;
}

export function makeAudit(db: RecordDb, now: () => number): Gateway['audit'] {
  return async (p, action, target, orgId, detail = {}) => {
    await db.insert(schema.auditLog).values({
      at: new Date(now()),
      actor: p.userId,
      via: p.via === 'pat' ? p.tokenKey : p.via,
      action,
      target,
      orgId,
      detail,
    });
  };
}

/**
 * Reads a JSON body of at most `max` bytes (413 above, 400 when it is not JSON). With `emptyAs`, a missing or
 * empty body stands for that value (routes whose every field is optional), else it is a 400.
 */
export async function jsonBody(c: Ctx, max: number, opts: { emptyAs?: unknown } = {}): Promise<unknown> {
  const declared = Number(c.req.header('content-length') ?? '0');
  if (declared > max) throw new ApiError(413, 'BODY_TOO_LARGE', `the body is larger than ${max} bytes`);
  const text = await c.req.text();
  if (Buffer.byteLength(text) > max)
    throw new ApiError(413, 'BODY_TOO_LARGE', `the body is larger than ${max} bytes`);
  if (text.trim() === '' && opts.emptyAs !== undefined) return opts.emptyAs;
  if (text.trim() === '') throw new ApiError(400, 'INVALID_JSON', 'the body is empty; send a JSON object');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError(400, 'INVALID_JSON', 'the body is not valid JSON');
  }
  // One check for every string of every body, before any route acts on it.
  const bad = findUnsafeText(value);
  if (bad)
    throw new ApiError(400, 'INVALID_TEXT', `${bad.slice(0, 200)} ${UNSAFE_TEXT_MESSAGE}`, {
      field: bad.slice(0, 200),
    });
  return value;
}

export function taskIdParam(raw: string): string {
  const r = TaskId.safeParse(raw);
  if (!r.success)
    throw new ApiError(400, 'INVALID_ID', 'the id is not a task id (t-<lowercase letters and digits>)');
  return r.data;
}

/**
 * Where `p` may register repositories: under the configured roots, never in the state dir. Without roots only
 * the instance administrator registers (anywhere but the state dir): 403 for everyone else.
 */
export function placementFor(gw: Gateway, p: Principal): RepoPlacement {
  if (!gw.opts.repoRoots && !p.superuser)
    throw new ApiError(
      403,
      'REPO_ROOTS_NOT_CONFIGURED',
      'this instance allows no repository paths yet; its administrator sets CODEMESH_REPO_ROOTS',
    );
  return { roots: gw.opts.repoRoots, stateDir: gw.opts.stateDir };
}
