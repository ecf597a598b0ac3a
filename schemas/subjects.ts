// Every NATS subject, stream, consumer and KV bucket name of codemesh, defined once.

/** Subject roots. Concrete subjects are built by the helpers below, never typed by hand elsewhere. */
export const SubjectRoots = {
  /** Task events (JetStream, stream `events`): `cm.evt.<taskId>`. */
  events: 'cm.evt',
  /** Step announcements (JetStream, stream `work`): `cm.work.announce.<capability>`. */
  announce: 'cm.work.announce',
  /** Award notices to one agent instance (core NATS): `cm.work.award.<instanceId>`. */
  award: 'cm.work.award',
  /** Curator retrieval queries (core request/reply, queue group `curator`). */
  curator: 'cm.curator.query',
  /** Index builds asked of a Curator (core request/reply, queue group `curator`): `POST /v1/repos/index`. */
  curatorIndex: 'cm.curator.index',
  /** Experience-memory recall asked of the recorder, which holds the entries as rows (core request/reply). */
  memoryRecall: 'cm.memory.recall',
  /**
   * The gateway's REST API over NATS (core request/reply, queue group `gateway`): how the chat bridges act for a
   * user without an HTTP route to the gateway. Core NATS only: no stream may capture it (it carries tokens).
   */
  api: 'cm.api.request',
  /** Chat with a task's agents (core request/reply): `cm.chat.<taskId>`. */
  chat: 'cm.chat',
  /** Dead letters (JetStream, stream `dlq`): `cm.dlq.<consumer>`, what a durable consumer gave up on. */
  dlq: 'cm.dlq',
} as const;
export type SubjectRoot = (typeof SubjectRoots)[keyof typeof SubjectRoots];

export const Streams = {
  events: { name: 'CODEMESH_EVENTS', subjects: [`${SubjectRoots.events}.>`] },
  work: { name: 'CODEMESH_WORK', subjects: [`${SubjectRoots.announce}.>`] },
  dlq: { name: 'CODEMESH_DLQ', subjects: [`${SubjectRoots.dlq}.>`] },
} as const;
export type StreamName = (typeof Streams)[keyof typeof Streams]['name'];

export const Consumers = {
  /** The conductor's durable consumer on the events stream (shared by every conductor instance). */
  conductor: 'conductor',
  /** The recorder's durable consumer on the events stream (projection into Postgres). */
  recorder: 'recorder',
  /** The memory role's durable consumer (stores ended tasks' patches and outcomes on the blackboard). */
  memory: 'memory',
  /** The Integrator's GitHub publisher (draft pull request at the gate, ready after integration, reverts). */
  github: 'github',
} as const;
export type ConsumerName = (typeof Consumers)[keyof typeof Consumers];

/**
 * A chat bridge's durable consumer on the events stream: `bridge-<kind>` (`-<name>` when several bridges of one
 * kind post to different rooms; each has its own position in the stream).
 */
export const bridgeConsumer = (kind: string, name?: string) =>
  name ? `bridge-${kind}-${name}` : `bridge-${kind}`;

export const Buckets = {
  /** The blackboard. */
  board: 'CODEMESH_BOARD',
} as const;
export type BucketName = (typeof Buckets)[keyof typeof Buckets];

export const subjects = {
  event: (taskId: string) => `${SubjectRoots.events}.${taskId}`,
  allEvents: () => `${SubjectRoots.events}.>`,
  announce: (capability: string) => `${SubjectRoots.announce}.${capability}`,
  award: (instanceId: string) => `${SubjectRoots.award}.${instanceId}`,
  curator: () => SubjectRoots.curator,
  curatorIndex: () => SubjectRoots.curatorIndex,
  memoryRecall: () => SubjectRoots.memoryRecall,
  api: () => SubjectRoots.api,
  chat: (taskId: string) => `${SubjectRoots.chat}.${taskId}`,
  allChats: () => `${SubjectRoots.chat}.*`,
  dlq: (consumer: string) => `${SubjectRoots.dlq}.${consumer}`,
} as const;
