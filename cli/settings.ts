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
  };
}
