// Identifier formats: safe as NATS subject tokens and KV key segments ([a-z0-9-]).
import { randomBytes } from 'node:crypto';
import { z } from 'zod';

const TOKEN = /^[a-z0-9][a-z0-9-]{0,80}$/;

export const TaskId = z
  .string()
  .regex(/^t-[a-z0-9]{6,40}$/, 'a task id looks like t-<lowercase letters and digits>');
export type TaskId = z.infer<typeof TaskId>;

export const Token = z.string().regex(TOKEN, 'lowercase letters, digits and dashes');

/** A sortable, random id: time in base36 then 8 random base36 characters. */
export function newId(prefix: string, now: number = Date.now()): string {
  const rand = [...randomBytes(8)].map((b) => (b % 36).toString(36)).join('');
  return `${prefix}-${now.toString(36)}${rand}`;
}

export const newTaskId = (now?: number) => newId('t', now);

export const StepKind = z.enum(['plan', 'code', 'test', 'review', 'integrate', 'rollback']);
export type StepKind = z.infer<typeof StepKind>;

/** A step of a task: `<taskId>-<kind>-<attempt>`. Attempt counts code/test/review rounds from 1. */
export function stepId(taskId: string, kind: StepKind, attempt: number): string {
  return `${taskId}-${kind}-${attempt}`;
}

/** The patch produced by a code step is named after its task and attempt. */
export function patchId(taskId: string, attempt: number): string {
  return `${taskId}-p${attempt}`;
}

export function parsePatchId(id: string): { taskId: string; attempt: number } | undefined {
  const m = /^(t-[a-z0-9]+)-p(\d+)$/.exec(id);
  return m ? { taskId: m[1]!, attempt: Number(m[2]) } : undefined;
}
