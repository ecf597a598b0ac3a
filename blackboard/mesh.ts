// One connection to the mesh: NATS, JetStream, the blackboard and the event bus, opened together.
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ensureStreams, JetStreamEventBus } from './bus.ts';
import { NatsUnavailableError } from './errors.ts';
import { NatsKvBlackboard } from './nats-kv-blackboard.ts';
import type { Blackboard, EventBus } from './types.ts';

export interface MeshConnection {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  board: Blackboard;
  bus: EventBus;
  close(): Promise<void>;
}

/** @example const mesh = await connectMesh({ url: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', name: 'coder' }); */
export async function connectMesh(opts: { url: string; name: string }): Promise<MeshConnection> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: opts.url,
      name: opts.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
  } catch (err) {
    throw new NatsUnavailableError(
      `cannot reach NATS at ${opts.url}: ${(err as Error).message}. Start one with \`codemesh up\` or set NATS_URL.`,
      { cause: err },
    );
  }
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm);
  const board = await NatsKvBlackboard.open(js);
  const bus = new JetStreamEventBus(js, jsm);
  return {
    nc,
    js,
    jsm,
    board,
    bus,
    async close() {
      await nc.drain().catch(() => nc.close());
    },
  };
}
