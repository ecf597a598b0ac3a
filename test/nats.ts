// Shared helper for *.int.test.ts: one real nats-server per test file, stopped by pid afterwards.
import {
  connectMesh,
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
