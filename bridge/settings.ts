// A bridge's settings, from the environment and the user-map file. Secrets (tokens, signing secrets) are kept
// here and in the requests that need them, never in a log line or an error message.
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export const BridgeKind = z.enum(['slack', 'matrix', 'webhook']);
export type BridgeKind = z.infer<typeof BridgeKind>;

/** One chat user, mapped to a codemesh user: the bridge acts with that user's personal access token. */
export const MappedUser = z.strictObject({
  /** The codemesh user id (shown in replies and logs). */
  user: z.string().min(1).max(200),
  /** The user's personal access token (`cmp_…`, scopes `tasks:read` and `patches:approve` for approvals). */
  token: z.string().min(1).max(500),
});
export type MappedUser = z.infer<typeof MappedUser>;

/** The user-map file: chat user ids (`slack:U0123`, `matrix:@alice:example.org`) → codemesh users. */
export const UserMap = z.strictObject({ users: z.record(z.string().min(1).max(300), MappedUser) });
export type UserMap = z.infer<typeof UserMap>;

const Url = z.url({ protocol: /^https?$/ });

export interface BridgeSettings {
  kind: BridgeKind;
  /** Suffix of the durable consumer's name (several bridges of one kind, each to its own room). */
  name?: string;
  /**
   * The gateway's HTTP API for the commands (with the mapped user's token), when set; by default the commands
   * go over NATS (`cm.api.request`, served by every gateway on the mesh), so a bridge speaks only NATS.
   */
  gatewayUrl?: string;
  /** Base of the links in the updates (the gateway's public URL; the console is under `/console/`). */
  linkUrl: string;
  users: UserMap['users'];
  /** Where the commands endpoint listens (Slack slash commands; every kind answers `GET /healthz`). */
  listen: { host: string; port: number };
  /** Event types posted (default: `DEFAULT_UPDATE_TYPES`). */
  events?: string[];
  /**
   * `CODEMESH_BRIDGE_ORGS` (comma list): only these orgs' task and campaign events are posted (a room is one
   * tenant's); an event whose org cannot be read is not posted. Unset: every org's (a one-tenant instance).
   */
  orgs?: string[];
  slack?: { webhookUrl: string; signingSecret: string };
  matrix?: {
    homeserver: string;
    accessToken: string;
    roomId: string;
    userId?: string;
    syncTimeoutMs: number;
  };
  webhook?: { url: string; secret?: string };
}

export class BridgeSettingsError extends Error {
  override name = 'BridgeSettingsError';
}

function need(env: NodeJS.ProcessEnv, name: string): string {
  const v = env[name]?.trim();
  if (!v) throw new BridgeSettingsError(`${name} is not set`);
  return v;
}

function url(env: NodeJS.ProcessEnv, name: string, fallback?: string): string {
  const v = env[name]?.trim() || fallback;
  if (!v) throw new BridgeSettingsError(`${name} is not set`);
  // The value may hold a secret (a Slack webhook URL is one): the message names the setting, not the value.
  if (!Url.safeParse(v).success) throw new BridgeSettingsError(`${name} is not an http(s) URL`);
  return v.replace(/\/+$/, '');
}

/** Reads the user-map file; the message names the file and the field, never a token. */
export function readUserMap(path: string): UserMap {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new BridgeSettingsError(
      `the user map ${path} cannot be read as JSON: ${(err as NodeJS.ErrnoException).code ?? 'invalid JSON'}`,
    );
  }
  const parsed = UserMap.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new BridgeSettingsError(`the user map ${path}: ${i?.path.join('.') || '(top)'}: ${i?.message}`);
  }
  return parsed.data;
}

/**
 * The settings of `codemesh bridge <kind>`:
 * - every kind: `CODEMESH_BRIDGE_USERS` (the user-map file), `CODEMESH_BRIDGE_GATEWAY_URL` (unset: commands
 *   go to the gateway over NATS), `CODEMESH_BRIDGE_LINK_URL` (default the gateway URL, else
 *   `http://127.0.0.1:$CODEMESH_PORT`),
 *   `CODEMESH_BRIDGE_HOST` / `CODEMESH_BRIDGE_PORT` (127.0.0.1:8788), `CODEMESH_BRIDGE_EVENTS` (comma list),
 *   `CODEMESH_BRIDGE_NAME`, `CODEMESH_BRIDGE_ORGS` (comma list: only these orgs' events are posted);
 * - slack: `CODEMESH_SLACK_WEBHOOK_URL`, `CODEMESH_SLACK_SIGNING_SECRET`;
 * - matrix: `CODEMESH_MATRIX_HOMESERVER`, `CODEMESH_MATRIX_TOKEN`, `CODEMESH_MATRIX_ROOM_ID`,
 *   `CODEMESH_MATRIX_USER_ID` (the bot's own id: its messages are not commands), `CODEMESH_MATRIX_SYNC_TIMEOUT_MS`;
 * - webhook: `CODEMESH_BRIDGE_WEBHOOK_URL`, `CODEMESH_BRIDGE_WEBHOOK_SECRET` (optional: HMAC-SHA256 signature).
 */
export function bridgeSettingsFromEnv(kind: string, env: NodeJS.ProcessEnv = process.env): BridgeSettings {
  const k = BridgeKind.safeParse(kind);
  if (!k.success)
    throw new BridgeSettingsError(`codemesh bridge takes one of: ${BridgeKind.options.join(', ')}`);
  const gatewayUrl = env.CODEMESH_BRIDGE_GATEWAY_URL?.trim()
    ? url(env, 'CODEMESH_BRIDGE_GATEWAY_URL', '')
    : undefined;
  const port = Number(env.CODEMESH_BRIDGE_PORT ?? 8788);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new BridgeSettingsError('CODEMESH_BRIDGE_PORT is not a port number');
  const usersFile = env.CODEMESH_BRIDGE_USERS?.trim();
  const events = env.CODEMESH_BRIDGE_EVENTS?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const orgs = env.CODEMESH_BRIDGE_ORGS?.split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  if (orgs?.some((o) => !/^[a-z0-9][a-z0-9-]{0,62}$/.test(o)))
    throw new BridgeSettingsError('CODEMESH_BRIDGE_ORGS takes org ids (lower-case letters, digits and -)');
  const s: BridgeSettings = {
    kind: k.data,
    ...(env.CODEMESH_BRIDGE_NAME ? { name: env.CODEMESH_BRIDGE_NAME } : {}),
    ...(gatewayUrl ? { gatewayUrl } : {}),
    linkUrl: url(
      env,
      'CODEMESH_BRIDGE_LINK_URL',
      gatewayUrl ?? `http://127.0.0.1:${env.CODEMESH_PORT ?? 8787}`,
    ),
    users: usersFile ? readUserMap(usersFile).users : {},
    listen: { host: env.CODEMESH_BRIDGE_HOST?.trim() || '127.0.0.1', port },
    ...(events?.length ? { events } : {}),
    ...(orgs?.length ? { orgs } : {}),
  };
  if (s.name && !/^[a-z0-9_-]{1,40}$/i.test(s.name))
    throw new BridgeSettingsError('CODEMESH_BRIDGE_NAME takes letters, digits, - and _ (at most 40)');
  if (k.data === 'slack')
    s.slack = {
      webhookUrl: url(env, 'CODEMESH_SLACK_WEBHOOK_URL'),
      signingSecret: need(env, 'CODEMESH_SLACK_SIGNING_SECRET'),
    };
  if (k.data === 'matrix') {
    const roomId = need(env, 'CODEMESH_MATRIX_ROOM_ID');
    if (!roomId.startsWith('!'))
      throw new BridgeSettingsError('CODEMESH_MATRIX_ROOM_ID is a room id (!…:server)');
    s.matrix = {
      homeserver: url(env, 'CODEMESH_MATRIX_HOMESERVER'),
      accessToken: need(env, 'CODEMESH_MATRIX_TOKEN'),
      roomId,
      ...(env.CODEMESH_MATRIX_USER_ID ? { userId: env.CODEMESH_MATRIX_USER_ID } : {}),
      syncTimeoutMs: Number(env.CODEMESH_MATRIX_SYNC_TIMEOUT_MS ?? 30_000),
    };
  }
  if (k.data === 'webhook') {
    const secret = env.CODEMESH_BRIDGE_WEBHOOK_SECRET?.trim();
    s.webhook = { url: url(env, 'CODEMESH_BRIDGE_WEBHOOK_URL'), ...(secret ? { secret } : {}) };
  }
  return s;
}
