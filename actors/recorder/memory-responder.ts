// The recorder's face for experience-memory recall: answers `cm.memory.recall` (queue group, so several
// recorders on one Postgres share the load) from the rows it holds, by vector and by words.
import type { Subscription } from '@nats-io/transport-node';
import type { MeshConnection } from '../../blackboard/index.ts';
import { MemoryRecallQuery, type MemoryRecallReply, subjects } from '../../schemas/index.ts';
import type { EmbeddingProvider } from '../curator/embed-provider.ts';
import type { RecordDb } from './db.ts';
import { recallFromRecord } from './memory-recall.ts';

export const MEMORY_RECALL_QUEUE = 'recorder';

/**
 * The embedding model of the memory, when one is configured: `CODEMESH_EMBED_BASE_URL` set (the Curator's
 * variables: model, dims, key), or `CODEMESH_MEMORY_EMBED=1` to use the `OPENAI_*` fallbacks;
 * `CODEMESH_MEMORY_EMBED=0` turns it off. Undefined: recall by words only.
 */
export async function memoryEmbedderFromEnv(
  env: Record<string, string | undefined>,
): Promise<EmbeddingProvider | undefined> {
  const flag = env.CODEMESH_MEMORY_EMBED?.trim();
  if (flag === '0') return undefined;
  if (flag !== '1' && !env.CODEMESH_EMBED_BASE_URL?.trim()) return undefined;
  const { createEmbeddingProvider, resolveEmbeddingConfig } = await import('../curator/embed-provider.ts');
  return createEmbeddingProvider(resolveEmbeddingConfig(env));
}

export async function answerMemoryRecall(
  db: RecordDb,
  raw: unknown,
  opts: { vector: boolean; provider?: EmbeddingProvider; maxDistance?: number },
): Promise<MemoryRecallReply> {
  const parsed = MemoryRecallQuery.safeParse(raw);
  if (!parsed.success)
    return {
      ok: false,
      code: 'INVALID_QUERY',
      error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    };
  try {
    return { ok: true, ...(await recallFromRecord(db, parsed.data, opts)) };
  } catch (err) {
    return { ok: false, code: 'RECALL_FAILED', error: err instanceof Error ? err.message : String(err) };
  }
}

/** Subscribes the responder; unsubscribe the returned subscription to stop it. */
export function startMemoryRecallResponder(
  mesh: MeshConnection,
  db: RecordDb,
  opts: { vector: boolean; provider?: EmbeddingProvider; maxDistance?: number; log?: (l: string) => void },
): Subscription {
  return mesh.nc.subscribe(subjects.memoryRecall(), {
    queue: MEMORY_RECALL_QUEUE,
    callback: (err, msg) => {
      if (err) {
        opts.log?.(`memory recall: ${err.message}`);
        return;
      }
      void (async () => {
        let raw: unknown;
        try {
          raw = msg.json();
        } catch {
          raw = undefined;
        }
        const reply = await answerMemoryRecall(db, raw, opts);
        if (!reply.ok) opts.log?.(`memory recall: ${reply.code}: ${reply.error}`);
        msg.respond(JSON.stringify(reply));
      })();
    },
  });
}
