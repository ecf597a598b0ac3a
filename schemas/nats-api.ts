// The gateway's REST API carried over NATS request/reply (`cm.api.request`): one HTTP request as JSON, answered
// with the status and JSON body the HTTP route gives. The token is the caller's own (a PAT or JWT), checked by
// the gateway exactly as over HTTP.
import { z } from 'zod';

/** The path's segments percent-decoded, as the router matches them; undefined when one does not decode. */
function decodedSegments(path: string): string[] | undefined {
  const pathname = path.split('?', 1)[0]!;
  try {
    return pathname.slice(1).split('/').map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

/**
 * The path the gateway checks is the path its router sees: the URL parser leaves it as it is (`%2e%2e` is a
 * `..` to it) and no decoded segment is empty, `.`, `..` or holds a slash.
 */
function isCanonicalPath(path: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(path, 'http://nats.invalid');
  } catch {
    return false;
  }
  if (parsed.pathname !== path.split('?', 1)[0]) return false;
  const segs = decodedSegments(path);
  return !!segs?.every((s) => s !== '' && s !== '.' && s !== '..' && !/[/\\]/.test(s));
}

export const NatsApiRequest = z
  .object({
    method: z.enum(['GET', 'POST', 'PUT', 'DELETE']),
    /** A `/v1/...` path with its query; streams (SSE) are not served over NATS. */
    path: z
      .string()
      .max(2000)
      .regex(/^\/v1\/[A-Za-z0-9/_.~%?=&:,+-]*$/, 'a /v1/ path')
      .refine(isCanonicalPath, 'a canonical path: no empty, . or .. segments, encoded or not, no encoded /')
      .refine((p) => decodedSegments(p)?.at(-1) !== 'events', 'event streams are served over HTTP only'),
    /** A bearer token: printable ASCII only (a CR or LF would be a header injection). */
    token: z
      .string()
      .min(1)
      .max(8192)
      .regex(/^[\x21-\x7e]+$/, 'a bearer token (printable ASCII, no spaces or line breaks)'),
    body: z.unknown().optional(),
  })
  .strict();
export type NatsApiRequest = z.infer<typeof NatsApiRequest>;

export const NatsApiReply = z.object({
  status: z.number().int(),
  json: z.record(z.string(), z.unknown()),
});
export type NatsApiReply = z.infer<typeof NatsApiReply>;
