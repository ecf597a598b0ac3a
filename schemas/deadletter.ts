// Dead letters: a message a durable consumer gave up on (stream CODEMESH_DLQ, subject `cm.dlq.<consumer>`).
import { z } from 'zod';

export const DeadLetter = z.object({
  /** The consumer that gave up, and the stream and sequence of the message it could not process. */
  consumer: z.string(),
  stream: z.string(),
  seq: z.number().int(),
  /** How many times it was delivered before it was given up. */
  deliveries: z.number().int(),
  /** Why: the last error, or why the message can never be valid. Text made safe for every store. */
  reason: z.string(),
  at: z.string(),
  /** What is known of the event (when it parsed): its id, task and type. */
  eventId: z.string().optional(),
  taskId: z.string().optional(),
  type: z.string().optional(),
  /** The message as received, cut to 16 KiB. */
  payload: z.string(),
});
export type DeadLetter = z.infer<typeof DeadLetter>;
