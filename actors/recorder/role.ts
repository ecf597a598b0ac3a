// The `recorder` role of the mesh: opens the record (DATABASE_URL, else PGlite under <dataDir>/pg) and projects
// events into it. (Chat is the `chat` role's: actors/chat.)
import { join } from 'node:path';
import type { MeshConnection } from '../../blackboard/index.ts';
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
  return {
    role: 'recorder',
    async stop() {
      await recorder.stop();
      await record.close();
      await mesh.close();
    },
  };
}
