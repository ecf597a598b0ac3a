// Authentication: OIDC JWTs (JWKS), HS256 JWTs in development, personal access tokens, and the static
// development admin token. Every failure is the same 401; the reason goes in the message, never a secret.
import { createHash, timingSafeEqual } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { MiddlewareHandler } from 'hono';
import { createRemoteJWKSet, errors as joseErrors, type JWTPayload, jwtVerify } from 'jose';
import { type RecordStore, schema } from '../actors/recorder/index.ts';
import { ALL_SCOPES, type Scope } from '../schemas/api.ts';
import { ApiError } from './errors.ts';
import { parsePat, secretMatches } from './pat.ts';
import type { AuthConfig, Principal } from './types.ts';

export const DEV_USER_ID = 'u-dev-admin';
/** What HS256 tokens must carry as `iss` and `aud` when the settings name nothing else. */
export const DEFAULT_HS256_ISSUER = 'codemesh';
export const DEFAULT_HS256_AUDIENCE = 'codemesh';
export const DEFAULT_ORG_ID = 'default';

/** The user id codemesh gives the subject `sub` of `issuer` (stable, so admins can grant roles up front). */
export const userIdFor = (issuer: string, sub: string) =>
  `u-${createHash('sha256').update(`${issuer}|${sub}`).digest('hex').slice(0, 24)}`;

const digest = (s: string) => createHash('sha256').update(s).digest();
const unauthorized = (message: string) => new ApiError(401, 'UNAUTHORIZED', message);

function scopesOf(payload: JWTPayload): Set<Scope> {
  const raw = payload.scope ?? payload.scp;
  const list = typeof raw === 'string' ? raw.split(/\s+/) : Array.isArray(raw) ? raw.map(String) : [];
  return new Set(list.filter((s): s is Scope => (ALL_SCOPES as readonly string[]).includes(s)));
}

interface PatRow {
  userId: string;
  secretSha256: string;
  scopes: string[];
  expiresAt: Date;
  revokedAt: Date | null;
  superuser: boolean;
}

export class Authenticator {
  private readonly jwks?: ReturnType<typeof createRemoteJWKSet>;
  private readonly hsKey?: Uint8Array;
  private readonly devDigest?: Buffer;
  private devReady?: Promise<void>;
  private readonly knownUsers = new Set<string>();
  /** PAT rows for one second: a revocation through this gateway clears the entry at once. */
  private readonly patCache = new Map<string, { row: PatRow | undefined; until: number }>();

  constructor(
    private readonly record: RecordStore,
    private readonly cfg: AuthConfig,
    private readonly now: () => number = Date.now,
  ) {
    if (cfg.oidc) this.jwks = createRemoteJWKSet(new URL(cfg.oidc.jwksUrl), { timeoutDuration: 3000 });
    if (cfg.hs256) {
      if (cfg.hs256.secret.length < 32) throw new Error('the HS256 secret must be at least 32 characters');
      this.hsKey = new TextEncoder().encode(cfg.hs256.secret);
    }
    if (cfg.devToken !== undefined) {
      if (cfg.devToken.length < 16) throw new Error('the gateway token must be at least 16 characters');
      this.devDigest = digest(cfg.devToken);
    }
  }

  /** Creates the development admin (superuser, admin of org `default`) once. */
  ensureDevAdmin(): Promise<void> {
    this.devReady ??= (async () => {
      const db = this.record.db;
      await db
        .insert(schema.users)
        .values({ id: DEV_USER_ID, subject: 'local|dev-admin', name: 'development admin', superuser: true })
        .onConflictDoNothing();
      await db.insert(schema.orgs).values({ id: DEFAULT_ORG_ID, name: DEFAULT_ORG_ID }).onConflictDoNothing();
      await db
        .insert(schema.memberships)
        .values({ userId: DEV_USER_ID, orgId: DEFAULT_ORG_ID, role: 'admin' })
        .onConflictDoNothing();
    })();
    this.devReady.catch(() => {
      this.devReady = undefined;
    });
    return this.devReady;
  }

  forgetPat(id: string): void {
    this.patCache.delete(id);
  }

  async authenticate(header: string | undefined): Promise<Principal> {
    const m = /^Bearer +([\x21-\x7e]{1,4096})$/i.exec(header ?? '');
    if (!m) throw unauthorized('a bearer token is required');
    const token = m[1]!;
    // Hashing first gives equal-length buffers, so the comparison time does not depend on the guess.
    if (this.devDigest && timingSafeEqual(digest(token), this.devDigest)) {
      await this.ensureDevAdmin();
      return {
        userId: DEV_USER_ID,
        via: 'dev',
        tokenKey: 'dev',
        scopes: new Set(ALL_SCOPES),
        superuser: true,
      };
    }
    if (token.startsWith('cmp_')) return this.authenticatePat(token);
    if (token.split('.').length === 3) return this.authenticateJwt(token);
    throw unauthorized('the bearer token is not valid');
  }

  private async authenticatePat(token: string): Promise<Principal> {
    const pat = parsePat(token);
    if (!pat) throw unauthorized('the access token is not valid');
    const now = this.now();
    let cached = this.patCache.get(pat.id);
    if (!cached || cached.until < now) {
      const [row] = await this.record.db
        .select({
          userId: schema.personalAccessTokens.userId,
          secretSha256: schema.personalAccessTokens.secretSha256,
          scopes: schema.personalAccessTokens.scopes,
          expiresAt: schema.personalAccessTokens.expiresAt,
          revokedAt: schema.personalAccessTokens.revokedAt,
          superuser: schema.users.superuser,
        })
        .from(schema.personalAccessTokens)
        .innerJoin(schema.users, eq(schema.users.id, schema.personalAccessTokens.userId))
        .where(eq(schema.personalAccessTokens.id, pat.id));
      cached = { row, until: now + 1000 };
      this.patCache.set(pat.id, cached);
      if (this.patCache.size > 10_000) this.patCache.clear();
    }
    const row = cached.row;
    if (!row || !secretMatches(pat.secret, row.secretSha256))
      throw unauthorized('the access token is not valid');
    if (row.revokedAt) throw unauthorized('the access token was revoked');
    if (row.expiresAt.getTime() <= now) throw unauthorized('the access token has expired');
    const scopes = new Set(
      row.scopes.filter((s): s is Scope => (ALL_SCOPES as readonly string[]).includes(s)),
    );
    return { userId: row.userId, via: 'pat', tokenKey: `pat:${pat.id}`, scopes, superuser: row.superuser };
  }

  private async authenticateJwt(token: string): Promise<Principal> {
    const currentDate = new Date(this.now());
    let payload: JWTPayload | undefined;
    let issuer: string | undefined;
    const tries: Array<() => Promise<void>> = [];
    if (this.jwks && this.cfg.oidc) {
      const o = this.cfg.oidc;
      tries.push(async () => {
        payload = (
          await jwtVerify(token, this.jwks!, {
            issuer: o.issuer,
            audience: o.audience,
            algorithms: o.algorithms ?? ['RS256', 'ES256', 'PS256', 'EdDSA'],
            requiredClaims: ['exp', 'iat', 'sub'],
            currentDate,
          })
        ).payload;
        issuer = o.issuer;
      });
    }
    if (this.hsKey && this.cfg.hs256) {
      // Issuer and audience are always checked: a token minted for another service that shares the
      // secret (or for another codemesh instance) must not be accepted here.
      const hsIssuer = this.cfg.hs256.issuer || DEFAULT_HS256_ISSUER;
      const hsAudience = this.cfg.hs256.audience || DEFAULT_HS256_AUDIENCE;
      tries.push(async () => {
        payload = (
          await jwtVerify(token, this.hsKey!, {
            algorithms: ['HS256'],
            requiredClaims: ['exp', 'iat', 'sub', 'iss', 'aud'],
            currentDate,
            issuer: hsIssuer,
            audience: hsAudience,
          })
        ).payload;
        issuer = hsIssuer;
      });
    }
    let reason = 'no token issuer is configured';
    for (const t of tries) {
      try {
        await t();
        break;
      } catch (err) {
        reason =
          err instanceof joseErrors.JWTExpired
            ? 'the token has expired'
            : err instanceof joseErrors.JWTClaimValidationFailed
              ? `the token's ${err.claim} claim is not accepted`
              : 'the token signature or format is not valid';
      }
    }
    if (!payload || !issuer) throw unauthorized(reason);
    const lifetime = Number(payload.exp) - Number(payload.iat);
    const max = this.cfg.maxLifetimeSec ?? 3600;
    if (!(lifetime > 0 && lifetime <= max))
      throw unauthorized(`the token lives ${lifetime} s; at most ${max} s is accepted`);
    if (Number(payload.iat) * 1000 > this.now() + 60_000)
      throw unauthorized('the token is issued in the future');
    const subject = `${issuer}|${String(payload.sub)}`;
    const userId = userIdFor(issuer, String(payload.sub));
    if (!this.knownUsers.has(userId)) {
      await this.record.db
        .insert(schema.users)
        .values({
          id: userId,
          subject,
          email: typeof payload.email === 'string' ? payload.email : null,
          name: typeof payload.name === 'string' ? payload.name : null,
        })
        .onConflictDoNothing();
      this.knownUsers.add(userId);
    }
    return { userId, via: 'jwt', tokenKey: `jwt:${subject}`, scopes: scopesOf(payload), superuser: false };
  }
}

/** Authenticates every request except `open` paths and leaves the Principal in `c.var.principal`. */
export function requireAuth(
  auth: Authenticator,
  open: readonly string[] = ['/healthz', '/openapi.json'],
): MiddlewareHandler<{ Variables: { principal: Principal } }> {
  return async function authenticate(c, next) {
    if (open.includes(c.req.path)) return next();
    try {
      c.set('principal', await auth.authenticate(c.req.header('authorization')));
    } catch (err) {
      if (err instanceof ApiError && err.status === 401)
        c.header('WWW-Authenticate', 'Bearer realm="codemesh"');
      throw err;
    }
    return next();
  };
}

/** 403 unless the caller's token carries `scope`. */
export function requireScope(p: Principal, scope: Scope): void {
  if (!p.scopes.has(scope))
    throw new ApiError(403, 'INSUFFICIENT_SCOPE', `this token lacks the ${scope} scope`, { required: scope });
}
