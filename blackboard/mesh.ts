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
  /** How many times the connection dropped since it opened (it reconnects on its own, without limit). */
  readonly disconnects: number;
  /**
   * Calls `listener` each time the connection is back after a drop. Core requests in flight when the server
   * went away are lost with it (their replies never come): a caller that waits long re-asks here.
   * Returns the function that removes the listener.
   */
  onReconnect(listener: () => void): () => void;
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
  let jsm: JetStreamManager;
  let board: NatsKvBlackboard;
  try {
    jsm = await jetstreamManager(nc);
    await ensureStreams(jsm);
    board = await NatsKvBlackboard.open(js);
  } catch (err) {
    // Connected, but JetStream did not answer (a server still recovering its store, or killed again during
    // the set-up): the same as no server for whoever waits for NATS.
    await nc.close().catch(() => undefined);
    throw new NatsUnavailableError(
      `NATS at ${opts.url} answered but its JetStream did not: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const bus = new JetStreamEventBus(js, jsm);
  let disconnects = 0;
  const listeners = new Set<() => void>();
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') disconnects++;
      if (s.type === 'reconnect') for (const l of [...listeners]) l();
    }
  })().catch(() => undefined);
  return {
    nc,
    js,
    jsm,
    board,
    bus,
    get disconnects() {
      return disconnects;
    },
    onReconnect(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      await nc.drain().catch(() => nc.close());
    },
  };
}
