// The recorder actor: a durable consumer of its own on CODEMESH_EVENTS that projects every event onto the
// record and acks only after the database write (a crash before the ack means a redelivery, which is harmless).
import {
  type Blackboard,
  consumeEvents,
  DEFAULT_REDELIVERY,
  type MeshConnection,
  type RedeliveryPolicy,
} from '../../blackboard/index.ts';
import { Consumers, keys, type TaskEvent, TaskRecord, toSafeValue } from '../../schemas/index.ts';
import type { EmbeddingProvider } from '../curator/embed-provider.ts';
import { memoryRepoKey } from '../memory/store.ts';
import type { RecordDb } from './db.ts';
import { embedPendingMemories } from './memory-rows.ts';
import { projectEvent } from './project.ts';

/**
 * The blackboard as the projection reads it: every value with NUL bytes and lone surrogates replaced (a test
 * log may hold anything; Postgres refuses both). The record keeps what it can, never a poisoned row.
 */
function safeReads(board: Blackboard): Blackboard {
  const safe = Object.create(board) as Blackboard;
  safe.get = async (key, schema) => {
    const e = await board.get(key, schema);
    return e && { ...e, value: toSafeValue(e.value) };
  };
  return safe;
}

/** The recorder's durable consumer on the events stream (named in schemas' `Consumers`). */
export const RECORDER_CONSUMER = Consumers.recorder;

export interface RecorderOptions {
  consumer?: string;
  log?: (line: string) => void;
  /** Redelivery of an event whose write failed: bounded, then dead-lettered. */
  redelivery?: RedeliveryPolicy;
  /** The projection (tests put a failing one in). */
  project?: (db: RecordDb, board: Blackboard, seq: number, event: TaskEvent) => Promise<void>;
  /**
   * Embeds the experience memory's entries (only where the record has pgvector): after each `memory.stored`,
   * off the projection's path (a slow model must not hold the events back); a failure is logged and the entry
   * is embedded with the next one of its repository.
   */
  memoryEmbedder?: EmbeddingProvider;
}

export class Recorder {
  private consumer?: { close(): Promise<void> };
  private loop?: Promise<void>;
  private projected = 0;
  private lastSeq = 0;
  private readonly waiters: Array<{ seq: number; resolve: () => void }> = [];
  private readonly board: Blackboard;
  private embedding: Promise<void> = Promise.resolve();
  /** Aborts a memory embedding in flight at stop (a slow model must not hold the shutdown). */
  private readonly stopping = new AbortController();

  constructor(
    private readonly mesh: MeshConnection,
    private readonly db: RecordDb,
    private readonly opts: RecorderOptions = {},
  ) {
    this.board = safeReads(mesh.board);
  }

  async start(): Promise<void> {
    // One event at a time, in stream order: per-task order matters (status, agent runs) and the
    // projection is cheap next to the agents' work.
    const consumer = await consumeEvents(
      this.mesh.js,
      this.mesh.jsm,
      this.opts.consumer ?? RECORDER_CONSUMER,
      async (event, d) => {
        try {
          await (this.opts.project ?? projectEvent)(this.db, this.board, d.seq, toSafeValue(event));
          d.ack();
          if (event.type === 'memory.stored') this.embedMemories(event.taskId);
          this.projected++;
          this.lastSeq = Math.max(this.lastSeq, d.seq);
          this.wake();
        } catch (err) {
          this.log(`event ${event.id} not recorded: ${String(err)}`);
          await d.fail(err);
        }
      },
      (l) => this.log(l),
      { policy: this.opts.redelivery ?? DEFAULT_REDELIVERY, nc: this.mesh.nc },
    );
    this.consumer = consumer;
    this.loop = consumer.done;
  }

  /** Events projected by this instance so far (for /v1/metrics and tests). */
  get count(): number {
    return this.projected;
  }

  /** Resolves once an event with stream sequence ≥ `seq` has been projected (tests, read-your-writes). */
  waitForSeq(seq: number, timeoutMs = 10_000): Promise<void> {
    if (this.lastSeq >= seq) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`recorder did not reach seq ${seq} in ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({
        seq,
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
      });
    });
  }

  private wake(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (this.lastSeq >= w.seq) {
        this.waiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  async stop(): Promise<void> {
    await this.consumer?.close();
    await this.loop?.catch(() => undefined);
    this.stopping.abort();
    await this.embedding;
  }

  /** Resolves once the memory vectors asked for so far are written (or failed): tests. */
  memoryEmbedded(): Promise<void> {
    return this.embedding;
  }

  /** One at a time, in order: the repository of the task's entries gets its missing vectors. */
  private embedMemories(taskId: string): void {
    const provider = this.opts.memoryEmbedder;
    if (!provider) return;
    this.embedding = this.embedding.then(async () => {
      if (this.stopping.signal.aborted) return;
      try {
        const task = (await this.board.get(keys.task(taskId), TaskRecord))?.value;
        if (task)
          await embedPendingMemories(
            this.db,
            provider,
            memoryRepoKey(task.repoPath),
            16,
            this.stopping.signal,
          );
      } catch (err) {
        this.log(`memory of ${taskId} not embedded: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
  }

  private log(line: string): void {
    this.opts.log?.(`[recorder] ${line}`);
  }
}
