// Contracts of the blackboard (shared state in NATS KV) and the bus (JetStream streams).
import type { z } from 'zod';
import type { TaskEvent, TaskEventInput } from '../schemas/index.ts';

export interface Entry<T> {
  key: string;
  value: T;
  /** The KV revision: pass it to `update` for a compare-and-set. */
  revision: number;
}

export interface BoardChange {
  key: string;
  revision: number;
  op: 'PUT' | 'DEL' | 'PURGE';
  /** Parsed JSON value; null for deletes. */
  value: unknown;
}

/**
 * The blackboard: every entry is JSON validated by a zod schema on read and write.
 * Writes are compare-and-set (`update`) or create-once (`create`); `mutate` wraps a bounded CAS retry loop.
 */
export interface Blackboard {
  get<S extends z.ZodType>(key: string, schema: S): Promise<Entry<z.infer<S>> | undefined>;
  /** Creates the key; throws RevisionConflictError if it exists. */
  create<S extends z.ZodType>(key: string, schema: S, value: z.input<S>): Promise<Entry<z.infer<S>>>;
  /** Writes if the key is still at `revision`; throws RevisionConflictError otherwise. */
  update<S extends z.ZodType>(
    key: string,
    schema: S,
    value: z.input<S>,
    revision: number,
  ): Promise<Entry<z.infer<S>>>;
  /**
   * Idempotent create of a write-once entry: returns the stored entry if an equal one exists (a redelivered
   * message), throws WriteOnceError if a different one does.
   */
  putOnce<S extends z.ZodType>(
    key: string,
    schema: S,
    value: z.input<S>,
    same?: (a: z.infer<S>, b: z.infer<S>) => boolean,
  ): Promise<{ entry: Entry<z.infer<S>>; created: boolean }>;
  /**
   * Read-modify-write under compare-and-set, retried on conflict (bounded). `fn` returns the new value, or
   * undefined to leave the key as it is.
   */
  mutate<S extends z.ZodType>(
    key: string,
    schema: S,
    fn: (current: z.infer<S> | undefined) => z.input<S> | undefined,
    opts?: { retries?: number },
  ): Promise<Entry<z.infer<S>> | undefined>;
  delete(key: string): Promise<void>;
  /** Garbage-collects the parts of large entries no entry points to (older than `olderThanMs`, default 10 min). */
  collectBlobParts(opts?: {
    olderThanMs?: number;
    now?: number;
  }): Promise<{ entries: number; parts: number; removed: number }>;
  keys(filter?: string): Promise<string[]>;
  /** Every change to keys matching `filter` (NATS wildcards), from now or including current values. */
  watch(opts?: {
    filter?: string;
    includeHistory?: boolean;
    signal?: AbortSignal;
  }): AsyncIterable<BoardChange>;
}

export interface PublishedEvent {
  event: TaskEvent;
  /** Stream sequence: also the SSE event id. */
  seq: number;
  duplicate: boolean;
}

/** The task event log (JetStream stream CODEMESH_EVENTS). */
export interface EventBus {
  /** Publishes with the event id as JetStream message id (de-duplicated within the stream's window). */
  publish(event: TaskEventInput): Promise<PublishedEvent>;
  /**
   * Replays a task's events from `afterSeq` (exclusive), then follows live ones until `signal` aborts; each
   * event id once (a re-driven or repeated message is skipped) unless `repeats`.
   */
  follow(
    taskId: string,
    opts: { afterSeq?: number; signal: AbortSignal; repeats?: boolean },
  ): AsyncIterable<{ seq: number; event: TaskEvent }>;
  /** All events of a task stored so far, in order; each event id once unless `repeats`. */
  history(taskId: string, opts?: { repeats?: boolean }): Promise<Array<{ seq: number; event: TaskEvent }>>;
}
