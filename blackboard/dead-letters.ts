// Reading and re-driving dead letters (stream CODEMESH_DLQ): what a durable consumer gave up on, listed newest
// first, and put back on its original subject once the cause is fixed.
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { Consumers, DeadLetter, keys, Streams, subjects, TaskRecord } from '../schemas/index.ts';
import { LETTER_PAYLOAD_CHARS, REDRIVE_HEADER } from './bus.ts';
import { DeadLetterGoneError, DeadLetterNotFoundError, DeadLetterTaskEndedError } from './errors.ts';
import type { Blackboard } from './types.ts';

/** The newest dead letters first (at most `limit`), with their DLQ stream sequence. */
export async function listDeadLetters(
  jsm: JetStreamManager,
  opts: { limit: number; beforeSeq?: number },
): Promise<Array<{ dlqSeq: number; letter: DeadLetter }>> {
  const info = await jsm.streams.info(Streams.dlq.name);
  const out: Array<{ dlqSeq: number; letter: DeadLetter }> = [];
  const first = info.state.first_seq;
  let seq = Math.min(info.state.last_seq, (opts.beforeSeq ?? Number.POSITIVE_INFINITY) - 1);
  for (; seq >= first && seq > 0 && out.length < opts.limit; seq--) {
    const m = await jsm.streams.getMessage(Streams.dlq.name, { seq }).catch(() => null);
    if (!m) continue;
    const r = DeadLetter.safeParse(m.json());
    if (r.success) out.push({ dlqSeq: seq, letter: r.data });
  }
  return out;
}

/** The dead letter at `dlqSeq`, or undefined (never written, re-driven already, or not a letter). */
export async function getDeadLetter(jsm: JetStreamManager, dlqSeq: number): Promise<DeadLetter | undefined> {
  const m = await jsm.streams.getMessage(Streams.dlq.name, { seq: dlqSeq }).catch(() => null);
  if (!m) return undefined;
  const r = DeadLetter.safeParse(m.json());
  return r.success ? r.data : undefined;
}

export interface Redriven {
  dlqSeq: number;
  letter: DeadLetter;
  /** Where the message went again, its new sequence there, and whether the server took it as a repeat. */
  subject: string;
  seq: number;
  duplicate: boolean;
}

/** Task states that take no more events; a completed task still takes a rollback request. */
const ENDED = new Set(['failed', 'rolled_back', 'abstained']);

/**
 * Refuses a conductor's letter whose task has ended or left the blackboard: the conductor applies events only
 * to a task on the board, an ended task takes none, and the letter itself already failed the task. Letters
 * of other consumers (the recorder's projection, the memory role) are re-driven whatever the task's state.
 */
async function refuseEnded(board: Blackboard, dlqSeq: number, letter: DeadLetter): Promise<void> {
  if (letter.consumer !== Consumers.conductor || !letter.taskId) return;
  const status = (await board.get(keys.task(letter.taskId), TaskRecord))?.value.status;
  const takesIt =
    status !== undefined &&
    !ENDED.has(status) &&
    !(status === 'completed' && letter.type !== 'rollback.requested');
  if (!takesIt) throw new DeadLetterTaskEndedError(dlqSeq, letter.taskId, status);
}

/**
 * Publishes the message a dead letter stands for again, on its original subject, then removes the letter.
 * Every consumer of that subject sees it again (they are idempotent); the message id is the letter's own, so
 * re-driving the same letter twice (two operators, a retry after a crash) publishes once. The copy carries
 * the header `Codemesh-Redrive-Of: <original sequence>`; the task's event log shows each event id once.
 * The original comes from the events stream; when it has aged out, from the letter when the letter holds it
 * whole. Throws DeadLetterNotFoundError (no such letter), DeadLetterGoneError (nothing left to publish) or
 * DeadLetterTaskEndedError (a conductor's letter whose task takes no more events).
 * @example await redriveDeadLetter(mesh.js, mesh.jsm, 12, { board: mesh.board });
 */
export async function redriveDeadLetter(
  js: JetStreamClient,
  jsm: JetStreamManager,
  dlqSeq: number,
  opts: { board: Blackboard },
): Promise<Redriven> {
  const letter = await getDeadLetter(jsm, dlqSeq);
  if (!letter) throw new DeadLetterNotFoundError(dlqSeq);
  await refuseEnded(opts.board, dlqSeq, letter);
  const original = await jsm.streams.getMessage(letter.stream, { seq: letter.seq }).catch(() => null);
  let subject: string;
  let data: Uint8Array | string;
  if (original) {
    subject = original.subject;
    data = original.data;
  } else if (letter.taskId && letter.payload.length < LETTER_PAYLOAD_CHARS) {
    subject = subjects.event(letter.taskId);
    data = letter.payload;
  } else {
    throw new DeadLetterGoneError(dlqSeq, letter.stream, letter.seq);
  }
  const h = headers();
  h.set(REDRIVE_HEADER, String(letter.seq));
  const ack = await js.publish(subject, data, {
    msgID: `redrive:${letter.consumer}:${letter.seq}`,
    headers: h,
  });
  // Removed after the publication: a crash in between leaves the letter, and re-driving it again is a repeat.
  await jsm.streams.deleteMessage(Streams.dlq.name, dlqSeq, false).catch(() => false);
  return { dlqSeq, letter, subject, seq: ack.seq, duplicate: ack.duplicate };
}
