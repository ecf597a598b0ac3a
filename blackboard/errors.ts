// Typed errors of the blackboard and bus.

export class NatsUnavailableError extends Error {
  override readonly name = 'NatsUnavailableError';
  readonly code = 'NATS_UNAVAILABLE';
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
