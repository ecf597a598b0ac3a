// A CLI usage error: printed with its fix, exit code 2.
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'USAGE';
}
