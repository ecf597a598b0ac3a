// Bearer-token guard (the spine's auth: one token from config). Full OIDC/PAT auth is issue 3.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Requires `Authorization: Bearer <token>` on every path except those in `open`. */
export function requireBearer(token: string, open: readonly string[] = ['/healthz']): MiddlewareHandler {
  if (token.length < 16) throw new Error('the gateway token must be at least 16 characters');
  const want = digest(token);
  return async function requireBearerToken(c, next) {
    if (open.includes(c.req.path)) return next();
    const m = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
    // Hashing first gives equal-length buffers, so the comparison time does not depend on the guess.
    if (!m || !timingSafeEqual(digest(m[1]!), want)) {
      c.header('WWW-Authenticate', 'Bearer realm="codemesh"');
      return c.json({ error: { code: 'UNAUTHORIZED', message: 'a valid bearer token is required' } }, 401);
    }
    return next();
  };
}
