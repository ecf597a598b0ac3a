// A bridge on a real nats-server (no mesh): it starts at new events (no replay of the stream), and a post that
// keeps failing is retried a bounded number of times, then dead-lettered with a reason that holds no secret.
// A campaign's events, put on the stream from its blackboard entry, are posted like a task's.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { listDeadLetters, type MeshConnection } from '../blackboard/index.ts';
import { streamCampaignEvents } from '../actors/campaign/index.ts';
import { CampaignRecord, type TaskEventInput, withCampaignEvent } from '../schemas/index.ts';
import { type ChatDouble, startChatDouble } from '../test/chat-double.ts';
import { type NatsFixture, startNatsFixture } from '../test/nats.ts';
import { type Bridge, bridgeSettingsFromEnv, startBridge } from './index.ts';

const SECRET = 'webhook-hmac-secret-0123456789';
let nats: NatsFixture;
let chat: ChatDouble;
let mesh: MeshConnection;
let bridge: Bridge | undefined;

beforeAll(async () => {
  nats = await startNatsFixture();
  chat = await startChatDouble({ matrixToken: 'unused' });
  mesh = await nats.connect('bridge');
});
afterAll(async () => {
  await bridge?.stop();
  await chat?.close();
  await nats?.stop();
});

const event = (taskId: string, type: TaskEventInput['type'], data: Record<string, unknown> = {}) => ({
  id: `${taskId}:${type}`,
  taskId,
  type,
  at: new Date().toISOString(),
  data,
});

async function until<T>(what: string, f: () => T | undefined | false | Promise<T | undefined | false>) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

it('starts at new events; a failing post is redelivered a bounded number of times, then dead-lettered', async () => {
  await mesh.bus.publish(event('t-before1', 'task.created', { title: 'old news' }));
  bridge = await startBridge(
    mesh,
    bridgeSettingsFromEnv('webhook', {
      CODEMESH_BRIDGE_WEBHOOK_URL: `${chat.url}/webhook`,
      CODEMESH_BRIDGE_WEBHOOK_SECRET: SECRET,
      CODEMESH_BRIDGE_PORT: '0',
    }),
    { redelivery: { maxDeliver: 3, backoffMs: [100] } },
  );
  expect(bridge.consumer).toBe('bridge-webhook');
  await mesh.bus.publish(event('t-after1', 'step.completed'));
  await mesh.bus.publish(event('t-after1', 'task.completed', { branch: 'codemesh/t-after1' }));
  await until('the completion post', () => chat.webhook.length > 0);
  // The event from before the bridge's first start and the step event (not in the table) are not posted.
  expect(chat.webhook.map((r) => r.json.id)).toEqual(['t-after1:task.completed']);
  expect(chat.webhook[0]!.json).toMatchObject({
    type: 'task.completed',
    text: '✅ task t-after1 completed on codemesh/t-after1',
  });

  chat.failWebhook(100);
  await mesh.bus.publish(event('t-fails1', 'task.failed', { reason: 'tests fail' }));
  const letter = await until('the dead letter', async () =>
    (await listDeadLetters(mesh.jsm, { limit: 10 })).find((l) => l.letter.consumer === 'bridge-webhook'),
  );
  expect(letter.letter).toMatchObject({ eventId: 't-fails1:task.failed', deliveries: 3 });
  expect(letter.letter.reason).toContain('webhook: HTTP 500');
  expect(letter.letter.reason).not.toContain(chat.url);
  expect(letter.letter.reason).not.toContain(SECRET);
  expect(chat.webhook).toHaveLength(1);
});

it("posts a campaign's updates from the stream: created, a repository started and ended, completed", async () => {
  chat.failWebhook(0);
  const before = chat.webhook.length;
  const at = new Date().toISOString();
  let c = CampaignRecord.parse({
    id: 'cp-bridge0001',
    orgId: 'default',
    title: 'Bump lodash',
    description: 'Bump it.',
    approve: 'auto',
    budget: {},
    throttle: {},
    status: 'running',
    planned: true,
    repos: [{ repoId: 'r-app1', name: 'app', path: '/nowhere', state: 'merged', taskId: 't-bridge0001r0' }],
    createdBy: 'u-1',
    createdAt: at,
    updatedAt: at,
  });
  c = withCampaignEvent(c, { at, type: 'campaign.created', detail: '1 repositories' });
  c = withCampaignEvent(c, {
    at,
    type: 'repo.started',
    repoId: 'r-app1',
    taskId: 't-bridge0001r0',
    state: 'running',
  });
  c = withCampaignEvent(c, {
    at,
    type: 'repo.state',
    repoId: 'r-app1',
    taskId: 't-bridge0001r0',
    state: 'merged',
  });
  c = withCampaignEvent(c, { at, type: 'campaign.completed', detail: '1 merged, 0 failed' });
  await mesh.board.create(`campaign.${c.id}`, CampaignRecord, c);
  expect(await streamCampaignEvents(mesh, c)).toBe(4);
  await until('the four campaign posts', () => chat.webhook.length >= before + 4);
  const posts = chat.webhook
    .slice(before)
    .map((r) => r.json as { id: string; type: string; text: string; link?: { url: string } });
  expect(posts.map((p) => p.type)).toEqual([
    'campaign.created',
    'campaign.repo.started',
    'campaign.repo.state',
    'campaign.completed',
  ]);
  expect(posts.map((p) => p.text)).toEqual([
    '🗺️ campaign cp-bridge0001 "Bump lodash" created: 1 repositories',
    '▶️ campaign cp-bridge0001 "Bump lodash": app started as task t-bridge0001r0',
    '✅ campaign cp-bridge0001 "Bump lodash": app merged',
    '🏁 campaign cp-bridge0001 "Bump lodash" completed: 1 merged, 0 failed',
  ]);
  expect(posts[0]!.id).toBe('cp-bridge0001:1');
  expect(posts[0]!.link?.url).toMatch(/\/console\/#\/campaigns\/cp-bridge0001$/);
  expect(posts[1]!.link?.url).toMatch(/\/console\/#\/tasks\/t-bridge0001r0$/);
});
