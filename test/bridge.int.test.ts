// Chat-ops bridges (issue 12 item 3) on the whole mesh with the scripted model, against the chat test double on
// loopback: Slack, Matrix and webhook bridges post the task's updates (a failed post redelivered, posted once);
// a slash command with a bad or stale signature is refused; `approve` from a chat user whose codemesh user lacks
// the approver role is refused by the gateway (nothing decided); an unmapped chat user is refused; an accepted
// `approve` completes the task, audited under the mapped user.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { schema } from '../actors/recorder/index.ts';
import { connectMesh, type MeshConnection } from '../blackboard/index.ts';
import {
  type Bridge,
  bridgeSettingsFromEnv,
  slackSignature,
  startBridge,
  webhookSignature,
} from '../bridge/index.ts';
import { mintPat } from '../gateway/pat.ts';
import type { TaskEvent } from '../schemas/index.ts';
import { type ChatDouble, startChatDouble } from './chat-double.ts';
import { makeFixtureRepo } from './fixture-repo.ts';
import { type Harness, startHarness } from './harness.ts';
import type { Script } from './scripted-llm/index.ts';
import { APPROVE, SUBTRACT_PLAN, subtractCoder } from './ts-calc-answers.ts';

const SIGNING_SECRET = 'slack-signing-secret-0123456789abcdef';
const MATRIX_TOKEN = 'syt_matrix_bot_token_0123456789';
const HOOK_SECRET = 'hook-secret-0123456789';
const ROOM = '!ops:chat.test';

const script: Script = (req) => {
  if (req.roleHint === 'planner')
    return { usage: { prompt_tokens: 50, completion_tokens: 10 }, content: JSON.stringify(SUBTRACT_PLAN) };
  if (req.roleHint === 'reviewer') return APPROVE;
  return subtractCoder(req);
};

let h: Harness;
let chat: ChatDouble;
const conns: MeshConnection[] = [];
const bridges: Record<'slack' | 'matrix' | 'webhook', Bridge> = {} as Record<
  'slack' | 'matrix' | 'webhook',
  Bridge
>;
const logs: string[] = [];
let tokens: { alice: string; bob: string };
let env: Record<string, string>;

async function addUser(id: string, role: 'approver' | 'developer'): Promise<string> {
  const db = h.record.db;
  await db.insert(schema.users).values({ id, subject: `local|${id}`, name: id });
  await db.insert(schema.memberships).values({ userId: id, orgId: 'default', role });
  const pat = mintPat();
  await db.insert(schema.personalAccessTokens).values({
    id: pat.id,
    userId: id,
    name: 'chat bridge',
    secretSha256: pat.secretSha256,
    scopes: ['tasks:read', 'tasks:write', 'patches:approve'],
    expiresAt: new Date(Date.now() + 86_400_000),
  });
  return pat.token;
}

beforeAll(async () => {
  chat = await startChatDouble({ matrixToken: MATRIX_TOKEN });
  h = await startHarness();
  h.setScript(script);
  // The development admin and its org `default` are made at the first request.
  expect((await h.api('/v1/tasks')).status).toBe(200);
  tokens = { alice: await addUser('u-alice', 'approver'), bob: await addUser('u-bob', 'developer') };
  const dir = mkdtempSync(join(tmpdir(), 'codemesh-bridge-'));
  const usersFile = join(dir, 'users.json');
  const alice = { user: 'u-alice', token: tokens.alice };
  const bob = { user: 'u-bob', token: tokens.bob };
  writeFileSync(
    usersFile,
    JSON.stringify({
      users: {
        'slack:UALICE': alice,
        'slack:UBOB': bob,
        'matrix:@alice:chat.test': alice,
        'matrix:@bob:chat.test': bob,
      },
    }),
    { mode: 0o600 },
  );
  env = {
    CODEMESH_BRIDGE_USERS: usersFile,
    CODEMESH_BRIDGE_LINK_URL: 'https://codemesh.example',
    CODEMESH_BRIDGE_PORT: '0',
    CODEMESH_SLACK_WEBHOOK_URL: `${chat.url}/slack/webhook`,
    CODEMESH_SLACK_SIGNING_SECRET: SIGNING_SECRET,
    CODEMESH_MATRIX_HOMESERVER: chat.url,
    CODEMESH_MATRIX_TOKEN: MATRIX_TOKEN,
    CODEMESH_MATRIX_ROOM_ID: ROOM,
    CODEMESH_MATRIX_USER_ID: '@codemesh:chat.test',
    CODEMESH_MATRIX_SYNC_TIMEOUT_MS: '1000',
    CODEMESH_BRIDGE_WEBHOOK_URL: `${chat.url}/webhook`,
    CODEMESH_BRIDGE_WEBHOOK_SECRET: HOOK_SECRET,
  };
  for (const kind of ['slack', 'matrix', 'webhook'] as const) {
    // Each bridge is its own process in production: its own NATS connection here.
    const mesh = await connectMesh({ url: h.mesh.natsUrl, name: `bridge-${kind}` });
    conns.push(mesh);
    bridges[kind] = await startBridge(mesh, bridgeSettingsFromEnv(kind, env), {
      redelivery: { maxDeliver: 5, backoffMs: [300] },
      log: (l) => logs.push(l),
    });
  }
}, 120_000);

afterAll(async () => {
  for (const b of Object.values(bridges)) await b?.stop();
  for (const c of conns) await c.close();
  await h?.stop();
  await chat?.close();
});

async function until<T>(what: string, f: () => T | undefined | false, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A slash command to the Slack bridge, signed with `secret` at `ts` (seconds). */
async function slash(user: string, text: string, opts: { secret?: string; ts?: number } = {}) {
  const body = new URLSearchParams({
    token: 'legacy-verification-token',
    team_id: 'T1',
    user_id: user,
    user_name: user.toLowerCase(),
    command: '/codemesh',
    text,
    response_url: 'https://hooks.slack.test/commands/1',
  }).toString();
  const ts = String(opts.ts ?? Math.floor(Date.now() / 1000));
  const res = await fetch(`${bridges.slack.url}/slack/commands`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': ts,
      'x-slack-signature': slackSignature(opts.secret ?? SIGNING_SECRET, ts, body),
    },
    body,
  });
  return {
    status: res.status,
    body: (await res.json()) as { response_type?: string; text?: string; error?: { code: string } },
  };
}

const slackTexts = () => chat.slack.map((r) => String(r.json.text));
const approvalOf = async (pid: string) =>
  ((await (await h.api(`/v1/patches/${pid}`)).json()) as { approval: unknown }).approval;

it('posts updates to Slack, Matrix and a webhook; refuses bad signatures, unmapped users and non-approvers; an approve from chat completes the task', {
  timeout: 300_000,
}, async () => {
  // The first Slack post fails (HTTP 500): not acked, redelivered after the backoff, posted once.
  chat.failSlack(1);
  const repo = makeFixtureRepo('ts-calc');
  const created = await h.api('/v1/tasks', {
    method: 'POST',
    body: JSON.stringify({
      repo,
      title: 'Fix subtract <now>',
      description: 'subtract(5, 3) returns 8',
      approve: 'manual',
    }),
  });
  expect(created.status).toBe(201);
  const id = ((await created.json()) as { task: { id: string } }).task.id;
  const pid = `${id}-p1`;
  await h.waitForStatus(id, 'awaiting_approval', 180_000);

  // Updates: started, then awaiting approval with the console link, on every bridge.
  const link = `https://codemesh.example/console/#/tasks/${id}`;
  await until('the approval update on Slack', () => slackTexts().some((t) => t.includes('awaits approval')));
  expect(slackTexts().filter((t) => t.includes(`task ${id}`) && t.includes('started'))).toHaveLength(1);
  expect(logs.some((l) => /slack: task\.created of .* not posted: slack webhook: HTTP 500/.test(l))).toBe(
    true,
  );
  const gate = chat.slack.find((r) => String(r.json.text).includes('awaits approval'))!;
  expect(gate.json.text).toContain(`task ${id} "Fix subtract &lt;now&gt;" awaits approval of patch ${pid}`);
  expect(JSON.stringify(gate.json.blocks)).toContain(`<${link}|review the patch>`);
  await until(
    'the approval update on Matrix',
    () =>
      chat.matrix.find((m) => m.txnId === `${id}:created`) &&
      chat.matrix.some((m) => String(m.content.body).includes('awaits approval')),
  );
  expect(chat.matrix.find((m) => m.txnId === `${id}:created`)).toMatchObject({
    roomId: ROOM,
    content: { msgtype: 'm.text' },
  });
  await until('the approval update on the webhook', () =>
    chat.webhook.find((r) => r.json.type === 'approval.requested'),
  );
  for (const r of chat.webhook) {
    expect(r.headers['x-codemesh-signature-256']).toBe(webhookSignature(HOOK_SECRET, r.body));
    expect(r.headers['idempotency-key']).toBe(r.json.id);
  }

  // A slash command with a bad signature, or a stale one: 401, nothing decided.
  const forged = await slash('UALICE', `approve ${id}`, { secret: 'not-the-secret' });
  expect(forged.status).toBe(401);
  expect(forged.body.error?.code).toBe('BAD_SIGNATURE');
  const stale = await slash('UALICE', `approve ${id}`, { ts: Math.floor(Date.now() / 1000) - 6 * 60 });
  expect(stale.status).toBe(401);
  // A chat user mapped to no codemesh user, and one whose user is a developer: refused, nothing decided.
  const eve = await slash('UEVE', `approve ${id}`);
  expect(eve.body).toMatchObject({
    response_type: 'ephemeral',
    text: expect.stringMatching(/not mapped to a codemesh user/),
  });
  const bob = await slash('UBOB', `approve ${id}`);
  expect(bob.status).toBe(200);
  expect(bob.body).toMatchObject({
    response_type: 'ephemeral',
    text: expect.stringContaining(
      'refused: you need the approver role on the repository of this task (FORBIDDEN)',
    ),
  });
  // Matrix: bob may read the status, not approve.
  chat.matrixSay('@bob:chat.test', `!codemesh status ${id}`);
  chat.matrixSay('@bob:chat.test', `!codemesh approve ${id}`);
  await until(
    'the Matrix replies',
    () => chat.matrix.filter((m) => m.txnId.startsWith('reply-')).length >= 2,
  );
  const replies = chat.matrix.filter((m) => m.txnId.startsWith('reply-')).map((m) => String(m.content.body));
  expect(replies[0]).toBe(
    `@bob:chat.test: task ${id} "Fix subtract <now>": awaiting_approval (patch ${pid})`,
  );
  expect(replies[1]).toMatch(/^@bob:chat\.test: refused: you need the approver role/);
  expect(await approvalOf(pid)).toBeNull();

  // The Matrix bridge restarts: a command sent while it was down is carried out by the new process (the /sync
  // position is on the blackboard), and nothing earlier is run again.
  await bridges.matrix.stop();
  chat.matrixSay('@bob:chat.test', `!codemesh status ${id}`);
  const again = await connectMesh({ url: h.mesh.natsUrl, name: 'bridge-matrix-2' });
  conns.push(again);
  bridges.matrix = await startBridge(again, bridgeSettingsFromEnv('matrix', env), {
    redelivery: { maxDeliver: 5, backoffMs: [300] },
    log: (l) => logs.push(l),
  });
  await until(
    'the reply of the restarted bridge',
    () => chat.matrix.filter((m) => m.txnId.startsWith('reply-')).length >= 3,
  );
  await new Promise((r) => setTimeout(r, 1500));
  expect(chat.matrix.filter((m) => m.txnId.startsWith('reply-')).map((m) => String(m.content.body))).toEqual([
    replies[0],
    replies[1],
    replies[0],
  ]);
  expect(logs.filter((l) => l.includes('command status from matrix:@bob:chat.test'))).toHaveLength(2);
  expect(logs.filter((l) => l.includes('command approve from matrix:@bob:chat.test'))).toHaveLength(1);
  const still = (await (await h.api(`/v1/tasks/${id}`)).json()) as { task: { status: string } };
  expect(still.task.status).toBe('awaiting_approval');

  // alice holds the approver role: her approve, through the gateway with her token, completes the task.
  const ok = await slash('UALICE', `approve ${id}`);
  expect(ok.body).toEqual({ response_type: 'in_channel', text: `patch ${pid} approved by u-alice` });
  await h.waitForStatus(id, 'completed', 120_000);
  expect(await approvalOf(pid)).toMatchObject({ decision: 'approve', by: 'u-alice' });
  const audit = await h.record.db
    .select({ actor: schema.auditLog.actor, via: schema.auditLog.via })
    .from(schema.auditLog)
    .where(and(eq(schema.auditLog.action, 'patch.approve'), eq(schema.auditLog.target, pid)));
  expect(audit).toEqual([{ actor: 'u-alice', via: expect.stringMatching(/^pat/) }]);

  await until('the completion on Slack', () =>
    slackTexts().some((t) => t.includes(`task ${id}`) && t.includes('completed')),
  );
  expect(slackTexts().some((t) => t.includes(`patch ${pid} approved by`))).toBe(true);
  await until('the completion on Matrix', () => chat.matrix.find((m) => m.txnId === `${id}:completed`));
  await until('the completion on the webhook', () =>
    chat.webhook.find((r) => r.json.type === 'task.completed'),
  );

  // Each event once per chat: Matrix by its txnId (the event id), Slack and the webhook by what they got.
  const posted = (kind: 'slack' | 'webhook') =>
    (kind === 'slack' ? slackTexts() : chat.webhook.map((r) => String(r.json.id))).length;
  const before = { slack: posted('slack'), webhook: posted('webhook'), matrix: chat.matrixSends };
  const completed: TaskEvent = {
    id: `${id}:completed`,
    taskId: id,
    type: 'task.completed',
    at: new Date().toISOString(),
    data: {},
  };
  expect(await bridges.slack.handle(completed)).toBe('duplicate');
  expect(await bridges.webhook.handle(completed)).toBe('duplicate');
  expect(posted('slack')).toBe(before.slack);
  expect(posted('webhook')).toBe(before.webhook);
  const ids = chat.webhook.map((r) => String(r.json.id)).filter((x) => x.startsWith(id));
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids).toEqual(expect.arrayContaining([`${id}:created`, `${id}:completed`]));

  // A rollback from chat, by the approver: the task is rolled back and the room told so.
  const back = await slash('UALICE', `rollback ${id} broke the invoices`);
  expect(back.body).toEqual({
    response_type: 'in_channel',
    text: `rollback of patch ${pid} requested by u-alice`,
  });
  await h.waitForStatus(id, 'rolled_back', 120_000);
  await until('the rollback on Slack', () =>
    slackTexts().some((t) => t.includes(`task ${id}`) && t.includes('rolled back')),
  );
  expect(slackTexts().some((t) => t.includes(`rollback of ${pid} requested by`))).toBe(true);

  // No secret in any log line or post.
  const everything = [
    ...logs,
    ...chat.slack.map((r) => r.body),
    ...chat.webhook.map((r) => r.body),
    JSON.stringify(chat.matrix),
  ].join('\n');
  for (const secret of [SIGNING_SECRET, MATRIX_TOKEN, HOOK_SECRET, tokens.alice, tokens.bob])
    expect(everything).not.toContain(secret);
});
