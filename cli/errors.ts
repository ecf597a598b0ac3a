// A CLI usage error: printed with its fix, exit code 2.
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'USAGE';
}

/** The gateway's port is taken: nothing was started. */
export class PortBusyError extends Error {
  override readonly name = 'PortBusyError';
  readonly code = 'PORT_BUSY';
  constructor(port: number, reason: string) {
    super(
      `port ${port} on 127.0.0.1 is ${reason === 'EACCES' ? 'not allowed' : 'in use'}; choose another with --port or CODEMESH_PORT (nothing was started)`,
    );
  }
}
