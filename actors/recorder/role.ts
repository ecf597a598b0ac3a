// The `recorder` role of the mesh: opens the record (DATABASE_URL, else PGlite under <dataDir>/pg), projects
// events into it and answers task chat questions.
import { join } from 'node:path';
import type { MeshConnection } from '../../blackboard/index.ts';
import { startChatResponder } from './chat-responder.ts';
import { openRecord } from './db.ts';
import { Recorder } from './recorder.ts';

export async function startRecorderRole(
  mesh: MeshConnection,
  opts: { dataDir: string; env?: Record<string, string | undefined>; log?: (line: string) => void },
): Promise<{ role: 'recorder'; stop(): Promise<void> }> {
  const env = opts.env ?? process.env;
  const record = await openRecord({
    databaseUrl: env.DATABASE_URL || undefined,
    dir: join(opts.dataDir, 'pg'),
    log: opts.log,
  });
  const recorder = new Recorder(mesh, record.db, { log: opts.log });
  await recorder.start();
  const chat = startChatResponder(mesh);
  return {
    role: 'recorder',
    async stop() {
      chat.stop();
      await recorder.stop();
      await record.close();
      await mesh.close();
    },
  };
}
