// The gateway's REST API carried over NATS request/reply (`cm.api.request`): one HTTP request as JSON, answered
// with the status and JSON body the HTTP route gives. The token is the caller's own (a PAT or JWT), checked by
// the gateway exactly as over HTTP.
import { z } from 'zod';

export const NatsApiRequest = z
  .object({
    method: z.enum(['GET', 'POST', 'PUT', 'DELETE']),
    /** A `/v1/...` path with its query; streams (SSE) are not served over NATS. */
    path: z
      .string()
      .max(2000)
      .regex(/^\/v1\/[A-Za-z0-9/_.~%?=&:,+-]*$/, 'a /v1/ path')
      .refine((p) => !/\/\.\.?(\/|\?|$)/.test(p), 'no . or .. segments')
      .refine((p) => !/\/events(\?|$)/.test(p), 'event streams are served over HTTP only'),
    token: z.string().min(1).max(8192),
    body: z.unknown().optional(),
  })
  .strict();
export type NatsApiRequest = z.infer<typeof NatsApiRequest>;

export const NatsApiReply = z.object({
  status: z.number().int(),
  json: z.record(z.string(), z.unknown()),
});
export type NatsApiReply = z.infer<typeof NatsApiReply>;
