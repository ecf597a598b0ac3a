// Where codemesh keeps its state and how it reaches NATS, the model and the gateway, from env.
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';

export interface Settings {
  dataDir: string;
  natsUrl?: string;
  token: string;
  tokenGenerated: boolean;
  port: number;
  /** Lease of an awarded step (ms); a silent winner loses the step after it. */
  leaseMs?: number;
  /** Steps one agent actor runs at once (`codemesh actor coder` with 1: one Coder, one step at a time). */
  concurrency?: number;
}

export function settingsFromEnv(env: Record<string, string | undefined> = process.env): Settings {
  const token = env.CODEMESH_TOKEN;
  return {
    dataDir: resolve(env.CODEMESH_HOME ?? '.codemesh'),
    natsUrl: env.NATS_URL || undefined,
    token: token ?? randomBytes(24).toString('base64url'),
    tokenGenerated: !token,
    port: Number(env.CODEMESH_PORT ?? 8787),
    leaseMs: env.CODEMESH_LEASE_MS ? Number(env.CODEMESH_LEASE_MS) : undefined,
    concurrency: env.CODEMESH_CONCURRENCY ? Math.max(1, Number(env.CODEMESH_CONCURRENCY) || 1) : undefined,
  };
}

/** Gateway authentication beyond the development token: an OIDC issuer and/or an HS256 secret. */
export function authFromEnv(
  env: Record<string, string | undefined>,
): import('../gateway/index.ts').AuthConfig {
  const {
    CODEMESH_OIDC_ISSUER: issuer,
    CODEMESH_OIDC_AUDIENCE: audience,
    CODEMESH_OIDC_JWKS_URL: jwksUrl,
  } = env;
  return {
    ...(issuer && audience && jwksUrl ? { oidc: { issuer, audience, jwksUrl } } : {}),
    ...(env.CODEMESH_JWT_HS256_SECRET
      ? {
          hs256: {
            secret: env.CODEMESH_JWT_HS256_SECRET,
            issuer: env.CODEMESH_JWT_ISSUER || 'codemesh',
            audience: env.CODEMESH_JWT_AUDIENCE || 'codemesh',
          },
        }
      : {}),
    ...(env.CODEMESH_JWT_MAX_LIFETIME_SEC
      ? { maxLifetimeSec: Number(env.CODEMESH_JWT_MAX_LIFETIME_SEC) }
      : {}),
  };
}
