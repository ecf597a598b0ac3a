// Typed errors of the blackboard and bus.
import { JetStreamApiError } from '@nats-io/jetstream';
import { errors } from '@nats-io/transport-node';

export class NatsUnavailableError extends Error {
  override readonly name = 'NatsUnavailableError';
  readonly code = 'NATS_UNAVAILABLE';
}

/**
 * Whether an error says NATS or its JetStream was not there (a timeout, no responders, a closed or lost
 * connection, JetStream not enabled or unavailable) rather than that a request was wrong. Follows `cause`.
 */
export function isNatsOutage(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (
      e instanceof NatsUnavailableError ||
      e instanceof errors.TimeoutError ||
      e instanceof errors.NoRespondersError ||
      e instanceof errors.ClosedConnectionError ||
      e instanceof errors.ConnectionError ||
      e instanceof errors.DrainingConnectionError ||
      (e instanceof JetStreamApiError && e.code === 503) ||
      e.name === 'JetStreamNotEnabled'
    )
      return true;
  }
  return false;
}

/** A compare-and-set lost: the key changed since it was read (or exists, for a create). */
export class RevisionConflictError extends Error {
  override readonly name = 'RevisionConflictError';
  readonly code = 'REVISION_CONFLICT';
  constructor(
    readonly key: string,
    options?: ErrorOptions,
  ) {
    super(`blackboard key ${key} changed concurrently`, options);
  }
}

/** A value read from or written to the blackboard does not match its schema. */
export class InvalidEntryError extends Error {
  override readonly name = 'InvalidEntryError';
  readonly code = 'INVALID_ENTRY';
  constructor(
    readonly key: string,
    detail: string,
  ) {
    super(`blackboard entry ${key} is invalid: ${detail}`);
  }
}

/** A write-once entry already holds a different value. */
export class WriteOnceError extends Error {
  override readonly name = 'WriteOnceError';
  readonly code = 'WRITE_ONCE';
  constructor(readonly key: string) {
    super(`blackboard entry ${key} is write-once and already holds another value`);
  }
}

/** No dead letter at this sequence of the dead-letter stream (never written, or re-driven already). */
export class DeadLetterNotFoundError extends Error {
  override readonly name = 'DeadLetterNotFoundError';
  readonly code = 'DEAD_LETTER_NOT_FOUND';
  constructor(readonly dlqSeq: number) {
    super(`no dead letter ${dlqSeq}`);
  }
}

/** The message a dead letter stands for is no longer in its stream, and the letter holds only part of it. */
export class DeadLetterGoneError extends Error {
  override readonly name = 'DeadLetterGoneError';
  readonly code = 'DEAD_LETTER_GONE';
  constructor(
    readonly dlqSeq: number,
    stream: string,
    seq: number,
  ) {
    super(
      `dead letter ${dlqSeq} cannot be re-driven: message ${seq} is gone from ${stream} and the letter holds only part of it`,
    );
  }
}

/**
 * A conductor's dead letter whose task has ended (failed, rolled back, abstained; completed, for any event but
 * a rollback request) or left the blackboard: the conductor would take nothing from it, so it is not re-driven.
 */
export class DeadLetterTaskEndedError extends Error {
  override readonly name = 'DeadLetterTaskEndedError';
  readonly code = 'DEAD_LETTER_TASK_ENDED';
  constructor(
    readonly dlqSeq: number,
    readonly taskId: string,
    readonly status: string | undefined,
  ) {
    super(
      `dead letter ${dlqSeq} is not re-driven: its task ${taskId} ${status ? `has ended (${status})` : 'is no longer on the blackboard'} and takes no more events of the conductor`,
    );
  }
}
