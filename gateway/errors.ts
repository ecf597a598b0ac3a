// Gateway errors and their single mapping to HTTP (JSON bodies with a stable code).
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ZodError } from 'zod';
import { RepoNotFoundError } from '../actors/runtime/git.ts';
import { WriteOnceError } from '../blackboard/index.ts';
import { RepoPathRefusedError } from '../actors/conductor/repo-policy.ts';
import { RollbackRefusedError } from '../actors/conductor/rollback.ts';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export function fieldErrors(err: ZodError): Array<{ path: string; message: string }> {
  return err.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message }));
}

export function toErrorResponse(err: unknown, c: Context): Response {
  if (err instanceof ApiError) {
    const retry = (err.details as { retryAfter?: number } | undefined)?.retryAfter;
    if (retry) c.header('Retry-After', String(retry));
    return c.json(
      { error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } },
      err.status,
    );
  }
  if (err instanceof ZodError)
    return c.json(
      {
        error: {
          code: 'INVALID_REQUEST',
          message: 'the request does not match the schema',
          fields: fieldErrors(err),
        },
      },
      400,
    );
  if (err instanceof RepoNotFoundError)
    return c.json({ error: { code: err.code, message: err.message } }, 422);
  if (err instanceof RepoPathRefusedError)
    return c.json({ error: { code: err.code, message: err.message } }, 403);
  if (err instanceof RollbackRefusedError)
    return c.json({ error: { code: err.code, message: err.message } }, 409);
  if (err instanceof WriteOnceError)
    return c.json({ error: { code: 'ALREADY_DECIDED', message: err.message } }, 409);
  if (err instanceof HTTPException)
    return c.json({ error: { code: `HTTP_${err.status}`, message: err.message } }, err.status);
  // Unknown failures: no internals (or secrets) in the body; the message is logged by the caller.
  return c.json({ error: { code: 'INTERNAL', message: 'internal error' } }, 500);
}
