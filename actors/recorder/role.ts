// The `recorder` role of the mesh: opens the record (DATABASE_URL, else PGlite under <dataDir>/pg) and projects
// events into it; answers experience-memory recall from it. (Chat is the `chat` role's: actors/chat.)
import { join } from 'node:path';
import type { MeshConnection } from '../../blackboard/index.ts';
import { openRecord } from './db.ts';
import { memoryEmbedderFromEnv, startMemoryRecallResponder } from './memory-responder.ts';
import { importMemoriesFromBoard } from './memory-rows.ts';
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
  // Vectors of the experience memory need pgvector and a configured embedding model; else recall is by words.
  const provider = await memoryEmbedderFromEnv(env).catch((err: unknown) => {
    opts.log?.(`recorder: memory embeddings off: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  });
  const embedder = record.vector ? provider : undefined;
  if (provider && !record.vector) opts.log?.('recorder: memory embeddings off: the record has no pgvector');
  const recorder = new Recorder(mesh, record.db, {
    log: opts.log,
    ...(embedder ? { memoryEmbedder: embedder } : {}),
  });
  // Entries stored before the record kept them as rows (or on a new database): copied once, when it has none.
  const imported = await importMemoriesFromBoard(record.db, mesh.board).catch((err: unknown) => {
    opts.log?.(`recorder: memory entries not imported: ${err instanceof Error ? err.message : String(err)}`);
    return 0;
  });
  if (imported > 0) opts.log?.(`recorder: ${imported} memory entries imported from the blackboard`);
  await recorder.start();
  const maxDistance = Number(env.CODEMESH_MEMORY_MAX_DISTANCE ?? '') || undefined;
  const recall = startMemoryRecallResponder(mesh, record.db, {
    vector: record.vector,
    ...(embedder ? { provider: embedder } : {}),
    ...(maxDistance ? { maxDistance } : {}),
    log: opts.log,
  });
  await mesh.nc.flush();
  return {
    role: 'recorder',
    async stop() {
      recall.unsubscribe();
      await recorder.stop();
      await record.close();
      await mesh.close();
    },
  };
}
