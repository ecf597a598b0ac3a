// The task event log on JetStream: publish with de-duplication, replay and follow per task; durable
// consumers with bounded redelivery, whose give-ups go to the dead-letter stream with their reason.
import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  DeadLetter,
  Streams,
  subjects,
  TaskEvent,
  type TaskEventInput,
  toSafeText,
} from '../schemas/index.ts';
import type { EventBus, PublishedEvent } from './types.ts';

const NS = 1_000_000;

/** Events are small (keys, counts, reasons); one larger than this has its long strings cut, with a marker. */
export const MAX_EVENT_BYTES = 64 * 1024;
const CUT_AT = 2000;

function cutStrings(v: unknown): unknown {
  if (typeof v === 'string')
    return v.length > CUT_AT ? `${v.slice(0, CUT_AT)}… [cut: ${v.length - CUT_AT} more characters]` : v;
  if (Array.isArray(v)) return v.slice(0, 200).map(cutStrings);
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cutStrings(x)]));
  return v;
}

/** The event as it is published: itself, or with long strings cut so it fits in one message. */
function fitEvent(event: TaskEvent): TaskEvent {
  if (Buffer.byteLength(JSON.stringify(event)) <= MAX_EVENT_BYTES) return event;
  const cut = { ...event, data: cutStrings(event.data) as TaskEvent['data'] };
  if (Buffer.byteLength(JSON.stringify(cut)) <= MAX_EVENT_BYTES) return cut;
  return { ...event, data: { cut: 'the event data was too large to publish' } };
}

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
    {
      name: Streams.dlq.name,
      subjects: [...Streams.dlq.subjects],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: 30 * 24 * 3600 * 1000 * NS,
      max_msgs: 100_000,
      // Several instances of one consumer may all see the server's max-deliveries advisory: one letter.
      duplicate_window: 10 * 60 * 1000 * NS,
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

/** How often a durable consumer tries one message, and how long it waits between tries. */
export interface RedeliveryPolicy {
  /** Deliveries before the message goes to the dead-letter stream (the first one counts). */
  maxDeliver: number;
  /** Wait before the n-th redelivery (the last value repeats). */
  backoffMs: readonly number[];
  /**
   * How long the server waits for an ack before it delivers a message again (a handler that crashed or hung
   * on it). Default 30 s; a handler that runs longer than this sees its message a second time.
   */
  ackWaitMs?: number;
}

export const DEFAULT_REDELIVERY: RedeliveryPolicy = {
  maxDeliver: 6,
  backoffMs: [500, 2000, 5000, 15_000, 30_000],
};

const DEFAULT_ACK_WAIT_MS = 30_000;

/**
 * How long one pull request of a consumer lives on the server (nats.js's default is 30 s). After a server
 * restart the client re-checks its consumer and pulls again, but a check that fails (JetStream still
 * recovering its store) is retried only after one expiry, and two missed heartbeats (half an expiry each)
 * are what tells it a pull was lost: with 30 s a consumer could sit idle for a minute after an outage.
 */
export const PULL_EXPIRES_MS = 5000;

/** Header of a message a dead letter's re-drive published again: the events-stream sequence of the original. */
export const REDRIVE_HEADER = 'Codemesh-Redrive-Of';

/**
 * Creates the durable, explicit-ack consumer of a role on the events stream, or brings an existing one's
 * delivery bound up to date. The server's `max_deliver` is a backstop two above the policy's: a process that
 * crashes on a message every time (no nak, no ack) still stops getting it, and the advisory dead-letters it.
 */
export async function ensureDurable(
  jsm: JetStreamManager,
  name: string,
  opts: {
    ackWaitMs?: number;
    filter?: string;
    maxDeliver?: number;
    /** Where a new consumer starts: every stored event (default), or the events published from now on. */
    deliver?: 'all' | 'new';
  } = {},
): Promise<void> {
  const maxDeliver = (opts.maxDeliver ?? DEFAULT_REDELIVERY.maxDeliver) + 2;
  const ackWait = (opts.ackWaitMs ?? DEFAULT_ACK_WAIT_MS) * NS;
  let existing: Awaited<ReturnType<typeof jsm.consumers.info>> | undefined;
  try {
    existing = await jsm.consumers.info(Streams.events.name, name);
  } catch {
    await jsm.consumers.add(Streams.events.name, {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      ack_wait: ackWait,
      deliver_policy: opts.deliver === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
      filter_subject: opts.filter ?? subjects.allEvents(),
      max_ack_pending: 1000,
      max_deliver: maxDeliver,
    });
    return;
  }
  if (existing.config.max_deliver !== maxDeliver || existing.config.ack_wait !== ackWait)
    await jsm.consumers.update(Streams.events.name, name, { max_deliver: maxDeliver, ack_wait: ackWait });
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
    const event = fitEvent(TaskEvent.parse(input));
    const ack = await this.js.publish(subjects.event(event.taskId), JSON.stringify(event), {
      msgID: event.id,
    });
    return { event, seq: ack.seq, duplicate: ack.duplicate };
  }

  async history(
    taskId: string,
    opts: { repeats?: boolean } = {},
  ): Promise<Array<{ seq: number; event: TaskEvent }>> {
    const out: Array<{ seq: number; event: TaskEvent }> = [];
    const last = await this.lastSeq(taskId);
    if (last === 0) return out;
    // follow() stops at `until` itself, also when the last message is a repeat it does not yield.
    for await (const e of this.follow(taskId, { signal: new AbortController().signal, ...opts, until: last }))
      out.push(e);
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

  /**
   * Each event once, by id: a message published again under an id already seen (a re-driven dead letter, a
   * repeat after the de-duplication window) is skipped, and so is a re-drive of a message at or before
   * `afterSeq` (the reader had the original). `repeats` yields every message (tests that look for doubles).
   */
  async *follow(
    taskId: string,
    opts: { afterSeq?: number; signal: AbortSignal; repeats?: boolean; until?: number },
  ): AsyncIterable<{ seq: number; event: TaskEvent }> {
    if (opts.signal.aborted) return;
    const consumer = await this.js.consumers.get(Streams.events.name, {
      filter_subjects: subjects.event(taskId),
      ...(opts.afterSeq && opts.afterSeq > 0
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: opts.afterSeq + 1 }
        : { deliver_policy: DeliverPolicy.All }),
    });
    const msgs = await consumer.consume({ expires: PULL_EXPIRES_MS });
    const stop = () => void msgs.stop();
    opts.signal.addEventListener('abort', stop, { once: true });
    const seen = new Set<string>();
    try {
      for await (const m of msgs) {
        const event = decodeEvent(m);
        const redriveOf = Number(m.headers?.get(REDRIVE_HEADER) || 0);
        const repeat = seen.has(event.id) || (redriveOf > 0 && redriveOf <= (opts.afterSeq ?? 0));
        seen.add(event.id);
        if (!repeat || opts.repeats) yield { seq: m.seq, event };
        // history() stops at the last message it asked for, yielded or not.
        if (opts.signal.aborted || (opts.until !== undefined && m.seq >= opts.until)) break;
      }
    } finally {
      opts.signal.removeEventListener('abort', stop);
      await msgs.close().catch(() => undefined);
    }
  }
}

export interface Delivery {
  seq: number;
  /** This delivery's number: 1 the first time. */
  deliveries: number;
  ack(): void;
  /**
   * The message could not be processed: redelivered after the policy's backoff, or, on its last delivery,
   * written to the dead-letter stream with `reason` and never delivered again.
   */
  fail(reason: unknown): Promise<void>;
}

/** A dead letter keeps the message's first this many characters. */
export const LETTER_PAYLOAD_CHARS = 16_384;

const describe = (reason: unknown) =>
  toSafeText(reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason)).slice(0, 4000);

/**
 * Writes a dead letter for message `seq` of the events stream (idempotent per consumer and sequence) and
 * returns its sequence in the dead-letter stream.
 */
export async function deadLetter(
  js: JetStreamClient,
  letter: Omit<DeadLetter, 'at' | 'stream' | 'payload'> & { payload: Uint8Array | string },
): Promise<number> {
  const raw = typeof letter.payload === 'string' ? letter.payload : new TextDecoder().decode(letter.payload);
  const body = DeadLetter.parse({
    ...letter,
    stream: Streams.events.name,
    reason: toSafeText(letter.reason),
    payload: toSafeText(raw.slice(0, LETTER_PAYLOAD_CHARS)),
    at: new Date().toISOString(),
  });
  const ack = await js.publish(subjects.dlq(letter.consumer), JSON.stringify(body), {
    msgID: `dlq:${letter.consumer}:${letter.seq}`,
  });
  return ack.seq;
}

/** A message a consumer has just dead-lettered, for the consumer's own follow-up (the conductor fails the task). */
export interface DeadLettered {
  consumer: string;
  /** Sequence of the message in the events stream, and of its letter in the dead-letter stream. */
  seq: number;
  dlqSeq: number;
  deliveries: number;
  reason: string;
  eventId?: string;
  /** The event's task; for a message that was not a valid event, the task its subject names. */
  taskId?: string;
  type?: string;
}

/** `cm.evt.<taskId>` → taskId (a message that is not a valid event still says on which task's subject it came). */
function taskOfSubject(subject: string): string | undefined {
  const prefix = subjects.event('');
  const rest = subject.startsWith(prefix) ? subject.slice(prefix.length) : '';
  return rest && !rest.includes('.') ? rest : undefined;
}

/**
 * Runs a durable, explicit-ack consumer on the events stream: each valid event goes to `onEvent` with its
 * delivery (ack only once the effect is durable; `fail` on an error). Redelivery is bounded by `policy`; a
 * message that can never be valid, or that failed on its last delivery, goes to the dead-letter stream.
 * @example const c = await consumeEvents(mesh.js, mesh.jsm, 'recorder', async (e, d) => { await write(e); d.ack(); });
 */
export async function consumeEvents(
  js: JetStreamClient,
  jsm: JetStreamManager,
  name: string,
  onEvent: (event: TaskEvent, delivery: Delivery) => Promise<void> | void,
  log: (line: string) => void = () => undefined,
  opts: {
    policy?: RedeliveryPolicy;
    nc?: NatsConnection;
    /** Called after a message was dead-lettered (by this consumer or by the server's max-deliveries). */
    onDeadLetter?: (letter: DeadLettered) => Promise<void> | void;
    /** Where the consumer starts when it is created (a chat bridge does not replay the stream's history). */
    deliver?: 'all' | 'new';
  } = {},
): Promise<{ close(): Promise<void>; done: Promise<void> }> {
  const policy = opts.policy ?? DEFAULT_REDELIVERY;
  await ensureDurable(jsm, name, {
    maxDeliver: policy.maxDeliver,
    ...(policy.ackWaitMs ? { ackWaitMs: policy.ackWaitMs } : {}),
    ...(opts.deliver ? { deliver: opts.deliver } : {}),
  });
  const consumer = await js.consumers.get(Streams.events.name, name);
  const messages = await consumer.consume({ max_messages: 256, expires: PULL_EXPIRES_MS });
  const notify = (l: DeadLettered) =>
    void Promise.resolve()
      .then(() => opts.onDeadLetter?.(l))
      .catch((e) => log(`after the dead letter of ${l.seq}: ${String(e)}`));
  const advisories = opts.nc ? watchMaxDeliveries(opts.nc, js, jsm, name, log, notify) : undefined;
  const done = (async () => {
    for await (const m of messages) {
      const deliveries = m.info.deliveryCount;
      let event: TaskEvent;
      try {
        event = decodeEvent(m);
      } catch (err) {
        log(`event ${m.seq} is not a valid event: dead-lettered`);
        const reason = `not a valid event: ${describe(err)}`;
        await deadLetter(js, { consumer: name, seq: m.seq, deliveries, reason, payload: m.data }).then(
          (dlqSeq) =>
            notify({
              consumer: name,
              seq: m.seq,
              dlqSeq,
              deliveries,
              reason,
              taskId: taskOfSubject(m.subject),
            }),
          (e) => log(`dead letter of ${m.seq} not written: ${String(e)}`),
        );
        m.term();
        continue;
      }
      const fail = async (reason: unknown) => {
        if (deliveries >= policy.maxDeliver) {
          log(`event ${event.id} failed ${deliveries} times: dead-lettered (${describe(reason)})`);
          try {
            const letter = {
              consumer: name,
              seq: m.seq,
              deliveries,
              reason: describe(reason),
              eventId: event.id,
              taskId: event.taskId,
              type: event.type,
            };
            const dlqSeq = await deadLetter(js, { ...letter, payload: m.data });
            m.term();
            notify({ ...letter, dlqSeq });
          } catch (err) {
            // Without its dead letter the message must not vanish: the server's backstop redelivers it.
            log(`dead letter of ${event.id} not written, left for redelivery: ${String(err)}`);
            m.nak(policy.backoffMs.at(-1) ?? 1000);
          }
          return;
        }
        const wait = policy.backoffMs[Math.min(deliveries - 1, policy.backoffMs.length - 1)] ?? 1000;
        log(`event ${event.id} failed (delivery ${deliveries}/${policy.maxDeliver}), retry in ${wait} ms`);
        m.nak(wait);
      };
      await onEvent(event, { seq: m.seq, deliveries, ack: () => m.ack(), fail });
    }
  })();
  return {
    done,
    async close() {
      advisories?.unsubscribe();
      await messages.close().catch(() => undefined);
    },
  };
}

/**
 * The server gives up on a message after `max_deliver` deliveries without ack or term (a consumer that crashed
 * or hung on it each time) and says so in an advisory: that message is dead-lettered too.
 */
function watchMaxDeliveries(
  nc: NatsConnection,
  js: JetStreamClient,
  jsm: JetStreamManager,
  name: string,
  log: (line: string) => void,
  notify: (letter: DeadLettered) => void,
): { unsubscribe(): void } {
  const subject = `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${Streams.events.name}.${name}`;
  return nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err) return;
      void (async () => {
        const a = msg.json<{ stream_seq: number; deliveries: number }>();
        const stored = await jsm.streams.getMessage(Streams.events.name, { seq: a.stream_seq });
        if (!stored) return;
        let known: Partial<TaskEvent> = {};
        try {
          known = TaskEvent.parse(stored.json());
        } catch {}
        const letter = {
          consumer: name,
          seq: a.stream_seq,
          deliveries: a.deliveries,
          reason: 'delivered the maximum number of times without an ack (the consumer crashed or hung on it)',
          eventId: known.id,
          taskId: known.taskId,
          type: known.type,
        };
        const dlqSeq = await deadLetter(js, { ...letter, payload: stored.data });
        notify({ ...letter, dlqSeq, taskId: letter.taskId ?? taskOfSubject(stored.subject) });
      })().catch((e) => log(`max-deliveries advisory not dead-lettered: ${String(e)}`));
    },
  });
}
