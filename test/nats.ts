// Shared helper for *.int.test.ts: one real nats-server per test file, stopped by pid afterwards.
import {
  connectMesh,
  freePort,
  type MeshConnection,
  type NatsServerHandle,
  startNatsServer,
} from '../blackboard/index.ts';

export interface NatsFixture {
  server: NatsServerHandle;
  connect(name?: string): Promise<MeshConnection>;
  stop(): Promise<void>;
}

export async function startNatsFixture(): Promise<NatsFixture> {
  const server = await startNatsServer();
  const open: MeshConnection[] = [];
  return {
    server,
    async connect(name = 'test') {
      const m = await connectMesh({ url: server.url, name });
      open.push(m);
      return m;
    },
    async stop() {
      await Promise.all(open.map((m) => m.close().catch(() => undefined)));
      await server.stop();
    },
  };
}

/** A nats-server that can be killed with SIGKILL and started again on the same port and store dir. */
export interface KillableNats {
  readonly url: string;
  readonly storeDir: string;
  /** kill -9: no shutdown, JetStream's files as the crash left them. */
  kill(): void;
  /** Starts it again on the same port and store (JetStream recovers the files). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startKillableNats(): Promise<KillableNats> {
  const port = await freePort();
  let server = await startNatsServer({ port });
  const storeDir = server.storeDir;
  return {
    url: server.url,
    storeDir,
    kill() {
      try {
        process.kill(server.pid, 'SIGKILL');
      } catch {}
    },
    async restart() {
      server = await startNatsServer({ port, storeDir });
    },
    async stop() {
      await server.stop();
    },
  };
}
