// Test helper: a gateway on a real NATS and an in-memory record, an OIDC JWKS on loopback, two orgs.
import { mkdtempSync, realpathSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { openRecord, type RecordStore, schema } from '../actors/recorder/index.ts';
import { startChatAgent } from '../actors/chat/agent.ts';
import type { GitHub } from '../actors/integrator/github/index.ts';
import { ModelConfigError } from '../actors/llm/index.ts';
import { projectEvent } from '../actors/recorder/project.ts';
import { seedTask } from '../actors/recorder/test-scenario.ts';
import type { MeshConnection } from '../blackboard/index.ts';
import { ALL_SCOPES, type Scope } from '../schemas/api.ts';
import { makeFixtureRepo } from '../test/fixture-repo.ts';
import { type NatsFixture, startNatsFixture } from '../test/nats.ts';
import { createGateway } from './app.ts';
import { userIdFor } from './auth.ts';
import type { Limits } from './types.ts';

export const ISSUER = 'https://idp.test.local';
export const AUDIENCE = 'codemesh-api';
export const DEV = 'dev-admin-token-0123456789abcdef';
/** The gateway also accepts HS256 tokens signed with this (issuer and audience left to their defaults). */
export const HS_SECRET = 'hs256-test-secret-0123456789abcdef0123';

type Signer = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

export interface TestGateway {
  app: ReturnType<typeof createGateway>;
  mesh: MeshConnection;
  record: RecordStore;
  repoA: string;
  repoB: string;
  /** The gateway's state dir (a temp dir; repositories inside it are refused) and its repository root. */
  stateDir: string;
  repoRoot: string;
  /** A task in org-a (alice's) and one in org-b (bob's), both awaiting approval of patch `<id>-p1`. */
  taskA: string;
  taskB: string;
  userId(sub: string): string;
  jwt(
    sub: string,
    opts?: {
      scopes?: readonly Scope[];
      iss?: string;
      aud?: string;
      iat?: number;
      exp?: number;
      key?: 'other' | 'hs256';
    },
  ): Promise<string>;
  call(
    method: string,
    path: string,
    token?: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Response>;
  stop(): Promise<void>;
}

export async function startTestGateway(
  opts: { limits?: Partial<Limits>; github?: GitHub } = {},
): Promise<TestGateway> {
  const nats: NatsFixture = await startNatsFixture();
  const mesh = await nats.connect('gateway-test');
  const record = await openRecord();
  const main = await generateKeyPair('RS256');
  const other = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(main.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const jwks: Server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', () => r()));
  const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
  // Fixture repositories are made under one fresh directory, the one root; the state dir lies inside it.
  // (Not the temp dir itself: codemesh's own checkout may live there, as a CI clone does.)
  const repoRoot = mkdtempSync(join(realpathSync(tmpdir()), 'codemesh-roots-'));
  const stateDir = mkdtempSync(join(repoRoot, 'codemesh-state-'));
  const app = createGateway({
    mesh,
    record,
    repoRoots: [repoRoot],
    stateDir,
    token: DEV,
    auth: {
      oidc: { issuer: ISSUER, audience: AUDIENCE, jwksUrl },
      hs256: { secret: HS_SECRET },
      maxLifetimeSec: 3600,
    },
    limits: opts.limits,
    chatTimeoutMs: 3000,
    ...(opts.github ? { github: opts.github } : {}),
  });
  // No model here: the agent answers with the task's status (tests with a scripted model: actors/chat).
  const chat = startChatAgent(mesh, {
    models: () => {
      throw new ModelConfigError('no model in the gateway tests');
    },
  });
  const call: TestGateway['call'] = (method, path, token, body, headers = {}) =>
    Promise.resolve(
      app.request(path, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      }),
    );
  const jwt: TestGateway['jwt'] = async (sub, o = {}) => {
    const now = Math.floor(Date.now() / 1000);
    const key: Signer | Uint8Array =
      o.key === 'hs256'
        ? new TextEncoder().encode(HS_SECRET)
        : o.key === 'other'
          ? other.privateKey
          : main.privateKey;
    const payload: JWTPayload = { scope: (o.scopes ?? ALL_SCOPES).join(' '), email: `${sub}@example.com` };
    return new SignJWT(payload)
      .setProtectedHeader(o.key === 'hs256' ? { alg: 'HS256' } : { alg: 'RS256', kid: 'k1' })
      .setIssuer(o.iss ?? ISSUER)
      .setAudience(o.aud ?? AUDIENCE)
      .setSubject(sub)
      .setIssuedAt(o.iat ?? now)
      .setExpirationTime(o.exp ?? now + 600)
      .sign(key);
  };

  // Two orgs, a repository each; alice is admin of org-a, bob of org-b.
  const repoA = makeFixtureRepo('ts-calc', mkdtempSync(join(repoRoot, 'codemesh-fx-')));
  const repoB = makeFixtureRepo('py-calc', mkdtempSync(join(repoRoot, 'codemesh-fx-')));
  for (const [org, path, user] of [
    ['org-a', repoA, 'alice'],
    ['org-b', repoB, 'bob'],
  ] as const) {
    const created = await call('POST', '/v1/orgs', DEV, { name: org });
    if (created.status !== 201) throw new Error(`org: ${await created.text()}`);
    const repo = await call('POST', '/v1/repos', DEV, { org, path });
    if (repo.status !== 201) throw new Error(`repo: ${await repo.text()}`);
    await record.db
      .insert(schema.users)
      .values({ id: userIdFor(ISSUER, user), subject: `${ISSUER}|${user}` })
      .onConflictDoNothing();
    const m = await call('PUT', `/v1/orgs/${org}/members/${userIdFor(ISSUER, user)}`, DEV, { role: 'admin' });
    if (m.status !== 200) throw new Error(`member: ${await m.text()}`);
  }
  const taskA = 't-aaaaaa000001';
  const taskB = 't-bbbbbb000001';
  await seedTask(mesh, { id: taskA, repoPath: repoA });
  await seedTask(mesh, { id: taskB, repoPath: repoB });
  for (const id of [taskA, taskB])
    for (const { seq, event } of await mesh.bus.history(id))
      await projectEvent(record.db, mesh.board, seq, event);

  return {
    app,
    mesh,
    record,
    repoA,
    repoB,
    stateDir,
    repoRoot,
    taskA,
    taskB,
    userId: (sub) => userIdFor(ISSUER, sub),
    jwt,
    call,
    async stop() {
      chat.stop();
      await new Promise<void>((r) => jwks.close(() => r()));
      await record.close();
      await nats.stop();
    },
  };
}
