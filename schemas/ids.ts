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

export const StepKind = z.enum(['plan', 'code', 'test', 'review', 'docs', 'integrate', 'rollback']);
export type StepKind = z.infer<typeof StepKind>;

/**
 * A step of a task: `<taskId>-<kind>-<attempt>`, and `<taskId>-<kind>-<attempt>-<part>` for one part of a
 * fanned-out code step (see `StepPart`). Attempt counts code/test/review rounds from 1.
 */
export function stepId(taskId: string, kind: StepKind, attempt: number, part?: string): string {
  return part ? `${taskId}-${kind}-${attempt}-${part}` : `${taskId}-${kind}-${attempt}`;
}

/**
 * One part of a fanned-out code step: `s<n>-<subtask>` is a subtask's work (n = how often it was rebased after a
 * merge conflict, from 0), `m<n>` the n-th merge of the subtasks' patches into the attempt's patch. The count
 * comes first so that no subtask id can make two parts look alike. `c<i>` is candidate i (from 1) of a task
 * that asked for k candidate patches: its code step and its test step (see schemas/candidate.ts).
 */
export const StepPart = z
  .string()
  .regex(/^(s\d{1,3}-[a-z0-9][a-z0-9-_]{0,40}|m\d{1,3}|c\d{1,2}|r\d)$/i, 'a step part');
export type StepPart = z.infer<typeof StepPart>;

export const subtaskPart = (subtaskId: string, rebase: number): string => `s${rebase}-${subtaskId}`;
export const mergePart = (merge: number): string => `m${merge}`;
export const candidatePart = (candidate: number): string => `c${candidate}`;
/** The test-writing part of the first code step (schemas/work.ts `ReproTest`). */
export const REPRO_PART = 'r1';

/** @example parsePart('s1-api') // { subtask: 'api', rebase: 1 }; parsePart('c2') // { candidate: 2 } */
export function parsePart(
  part: string | undefined,
):
  | { subtask: string; rebase: number }
  | { merge: number }
  | { candidate: number }
  | { repro: number }
  | undefined {
  if (!part) return undefined;
  const r = /^r(\d)$/.exec(part);
  if (r) return { repro: Number(r[1]) };
  const s = /^s(\d+)-(.+)$/.exec(part);
  if (s) return { subtask: s[2]!, rebase: Number(s[1]) };
  const c = /^c(\d+)$/.exec(part);
  if (c) return { candidate: Number(c[1]) };
  const m = /^m(\d+)$/.exec(part);
  return m ? { merge: Number(m[1]) } : undefined;
}

/** The candidate number of a step part (`c<i>`), if it is one. */
export function candidateOf(part: string | undefined): number | undefined {
  const p = parsePart(part);
  return p && 'candidate' in p ? p.candidate : undefined;
}

/**
 * The patch produced by a code step is named after its task and attempt; candidate i of a task that asked for k
 * candidates is `<taskId>-p<attempt>-c<i>` (the chosen one is copied to `<taskId>-p<attempt>`).
 */
export function patchId(taskId: string, attempt: number, candidate?: number): string {
  return candidate ? `${taskId}-p${attempt}-c${candidate}` : `${taskId}-p${attempt}`;
}

export function parsePatchId(id: string): { taskId: string; attempt: number } | undefined {
  const m = /^(t-[a-z0-9]+)-p(\d+)$/.exec(id);
  return m ? { taskId: m[1]!, attempt: Number(m[2]) } : undefined;
}
