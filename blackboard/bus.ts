// The task event log on JetStream: publish with de-duplication, replay and follow per task.
import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { Streams, subjects, TaskEvent, type TaskEventInput } from '../schemas/index.ts';
import type { EventBus, PublishedEvent } from './types.ts';

const NS = 1_000_000;

/** Creates (or updates) the streams codemesh uses. Safe to call from every process at start. */
export async function ensureStreams(jsm: JetStreamManager): Promise<void> {
  const want = [
    {
      name: Streams.events.name,
      subjects: [...Streams.events.subjects],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: 30 * 24 * 3600 * 1000 * NS,
      duplicate_window: 10 * 60 * 1000 * NS,
    },
    {
      name: Streams.work.name,
      subjects: [...Streams.work.subjects],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: 24 * 3600 * 1000 * NS,
      duplicate_window: 2 * 60 * 1000 * NS,
    },
  ];
  for (const cfg of want) {
    try {
      await jsm.streams.info(cfg.name);
      await jsm.streams.update(cfg.name, cfg);
    } catch {
      await jsm.streams.add(cfg);
    }
  }
}

/** Creates the durable, explicit-ack consumer of a role on the events stream if it does not exist. */
export async function ensureDurable(
  jsm: JetStreamManager,
  name: string,
  opts: { ackWaitMs?: number; filter?: string } = {},
): Promise<void> {
  try {
    await jsm.consumers.info(Streams.events.name, name);
  } catch {
    await jsm.consumers.add(Streams.events.name, {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      ack_wait: (opts.ackWaitMs ?? 30_000) * NS,
      deliver_policy: DeliverPolicy.All,
      filter_subject: opts.filter ?? subjects.allEvents(),
      max_ack_pending: 1000,
    });
  }
}

export function decodeEvent(m: JsMsg): TaskEvent {
  return TaskEvent.parse(m.json());
}

export class JetStreamEventBus implements EventBus {
  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
  ) {}

  async publish(input: TaskEventInput): Promise<PublishedEvent> {
    const event = TaskEvent.parse(input);
    const ack = await this.js.publish(subjects.event(event.taskId), JSON.stringify(event), {
      msgID: event.id,
    });
    return { event, seq: ack.seq, duplicate: ack.duplicate };
  }

  async history(taskId: string): Promise<Array<{ seq: number; event: TaskEvent }>> {
    const out: Array<{ seq: number; event: TaskEvent }> = [];
    const last = await this.lastSeq(taskId);
    if (last === 0) return out;
    const ac = new AbortController();
    for await (const e of this.follow(taskId, { signal: ac.signal })) {
      out.push(e);
      if (e.seq >= last) ac.abort();
    }
    return out;
  }

  private async lastSeq(taskId: string): Promise<number> {
    try {
      const m = await this.jsm.streams.getMessage(Streams.events.name, {
        last_by_subj: subjects.event(taskId),
      });
      return m?.seq ?? 0;
    } catch {
      return 0;
    }
  }

  async *follow(
    taskId: string,
    opts: { afterSeq?: number; signal: AbortSignal },
  ): AsyncIterable<{ seq: number; event: TaskEvent }> {
    if (opts.signal.aborted) return;
    const consumer = await this.js.consumers.get(Streams.events.name, {
      filter_subjects: subjects.event(taskId),
      ...(opts.afterSeq && opts.afterSeq > 0
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: opts.afterSeq + 1 }
        : { deliver_policy: DeliverPolicy.All }),
    });
    const msgs = await consumer.consume();
    const stop = () => void msgs.stop();
    opts.signal.addEventListener('abort', stop, { once: true });
    try {
      for await (const m of msgs) {
        yield { seq: m.seq, event: decodeEvent(m) };
        if (opts.signal.aborted) break;
      }
    } finally {
      opts.signal.removeEventListener('abort', stop);
      await msgs.close().catch(() => undefined);
    }
  }
}

export interface Delivery {
  seq: number;
  ack(): void;
  /** Redeliver after `delayMs`. */
  nak(delayMs: number): void;
}

/**
 * Runs a durable, explicit-ack consumer on the events stream: each valid event goes to `onEvent` with its
 * delivery (ack only once the effect is durable); a message that can never be valid is terminated.
 * @example const c = await consumeEvents(mesh.js, mesh.jsm, 'recorder', async (e, d) => { await write(e); d.ack(); });
 */
export async function consumeEvents(
  js: JetStreamClient,
  jsm: JetStreamManager,
  name: string,
  onEvent: (event: TaskEvent, delivery: Delivery) => Promise<void> | void,
  log: (line: string) => void = () => undefined,
): Promise<{ close(): Promise<void>; done: Promise<void> }> {
  await ensureDurable(jsm, name);
  const consumer = await js.consumers.get(Streams.events.name, name);
  const messages = await consumer.consume({ max_messages: 256 });
  const done = (async () => {
    for await (const m of messages) {
      let event: TaskEvent;
      try {
        event = decodeEvent(m);
      } catch (err) {
        log(`dropping invalid event ${m.seq}: ${String(err)}`);
        m.term();
        continue;
      }
      await onEvent(event, { seq: m.seq, ack: () => m.ack(), nak: (ms) => m.nak(ms) });
    }
  })();
  return {
    done,
    async close() {
      await messages.close().catch(() => undefined);
    },
  };
}
