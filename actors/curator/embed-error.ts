// The error of the Curator's embedding path: a provider that cannot embed, or vectors the record cannot store.
import { CuratorError } from './errors.ts';

/**
 * An embedding request failed (unreachable server, refused key, timeout, wrong vector length) or the settings
 * are invalid. Messages never contain the API key. `code` is `curator.embedding_failed` or
 * `curator.embedding_config`.
 */
export class EmbeddingError extends CuratorError {
  constructor(
    code: 'curator.embedding_failed' | 'curator.embedding_config',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'EmbeddingError';
  }
}
