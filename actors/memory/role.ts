// The `memory` role: a durable consumer of the task events that stores each ended task's patch with its
// outcome (integrated, rejected, reverted) on the blackboard, acking only after the write.
import { consumeEvents, DEFAULT_REDELIVERY, type MeshConnection } from '../../blackboard/index.ts';
import { Consumers } from '../../schemas/index.ts';
import { rememberEvent } from './store.ts';

export async function startMemoryRole(
  mesh: MeshConnection,
  opts: { log?: (line: string) => void; now?: () => number } = {},
): Promise<{ role: 'memory'; stop(): Promise<void> }> {
  const log = (l: string) => opts.log?.(`memory: ${l}`);
  const now = opts.now ?? Date.now;
  const consumer = await consumeEvents(
    mesh.js,
    mesh.jsm,
    Consumers.memory,
    async (event, d) => {
      try {
        const stored = await rememberEvent(mesh.board, event, new Date(now()).toISOString());
        if (stored)
          await mesh.bus.publish({
            id: `${event.id}:memory.stored`,
            taskId: event.taskId,
            type: 'memory.stored',
            at: new Date(now()).toISOString(),
            data: { outcome: stored.outcome, patchId: stored.patchId },
          });
        d.ack();
      } catch (err) {
        log(`event ${event.id} not stored: ${String(err)}`);
        await d.fail(err);
      }
    },
    log,
    { policy: DEFAULT_REDELIVERY, nc: mesh.nc },
  );
  return {
    role: 'memory',
    async stop() {
      await consumer.close();
      await consumer.done.catch(() => {});
      await mesh.close();
    },
  };
}
