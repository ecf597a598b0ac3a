// Fan-out of a code step over the plan's subtasks: which subtasks are fanned out, in which order their patches
// merge, and the blackboard record that shows each one's owner, state and patch.
import { z } from 'zod';
import { type Plan, type Subtask, topoOrder } from './plan.ts';
import { SecretFinding } from './policy.ts';

/**
 * What a subtask is doing: `waiting` (dependencies not done), `awarded` / `running` (a Coder has it),
 * `done` (its patch is here), `rebasing` (its patch conflicted with earlier ones: re-awarded on top of them),
 * `merged` (in the attempt's patch), `failed`, `conflict` (still conflicting after the rebases allowed).
 */
export const SubtaskState = z.enum([
  'waiting',
  'awarded',
  'running',
  'done',
  'rebasing',
  'merged',
  'failed',
  'conflict',
]);
export type SubtaskState = z.infer<typeof SubtaskState>;

/** A subtask's patch, relative to `startCommit` (the base commit with the `onto` patches applied). */
export const SubtaskPatch = z.object({
  /** The step part that produced it (`s<n>-<id>`). */
  part: z.string(),
  startCommit: z.string(),
  diff: z.string().min(1),
  files: z.array(z.string()).min(1),
  additions: z.number().int(),
  deletions: z.number().int(),
  by: z.string(),
  at: z.string(),
  /** Secrets found in the subtask's added lines (`diff` is then redacted); carried to the merged patch. */
  secrets: z.array(SecretFinding).optional(),
});
export type SubtaskPatch = z.infer<typeof SubtaskPatch>;

/** `subtask.<taskId>-<attempt>-<subtaskId>`. */
export const SubtaskRecord = z.object({
  taskId: z.string(),
  attempt: z.number().int().min(1),
  subtaskId: z.string(),
  title: z.string(),
  dependsOn: z.array(z.string()),
  state: SubtaskState,
  /** The current step part (`s<rebase>-<id>`) and its auction round. */
  part: z.string(),
  rebase: z.number().int().min(0),
  round: z.number().int().min(0),
  /** The Coder instance holding (or that finished) the current part. */
  owner: z.string().nullable(),
  /** Subtasks whose patches this one's work starts from (its dependencies; after a conflict, all merged before it). */
  onto: z.array(z.string()),
  patch: SubtaskPatch.optional(),
  reason: z.string().optional(),
  updatedAt: z.string(),
});
export type SubtaskRecord = z.infer<typeof SubtaskRecord>;

/**
 * The subtasks a code step fans out over: those that change files (role `coder` or `doc`; `tester` subtasks are
 * the test step's), in merge order (dependencies first). Undefined when fewer than two: one Coder pass then.
 * Two subtasks that declare the same file are serialized (the later one depends on the earlier, and starts from
 * its patch); edits of one file that the plan did not declare meet at the merge, where a conflict is rebased.
 */
export function fanoutSubtasks(plan: Plan | undefined): Subtask[] | undefined {
  if (!plan) return undefined;
  const subs = topoOrder(plan.subtasks).filter((s) => s.role !== 'tester');
  if (subs.length < 2) return undefined;
  const ids = new Set(subs.map((s) => s.id));
  return subs.map((s, i) => {
    // Dependencies on subtasks that are not fanned out (test runs) are the test step's business.
    const deps = s.dependsOn.filter((d) => ids.has(d));
    for (const earlier of subs.slice(0, i))
      if (!deps.includes(earlier.id) && earlier.files.some((f) => s.files.includes(f))) deps.push(earlier.id);
    return { ...s, dependsOn: deps };
  });
}

/** A subtask's dependencies, direct and indirect, in merge order. */
export function dependencyClosure(subs: readonly Subtask[], id: string): string[] {
  const byId = new Map(subs.map((s) => [s.id, s]));
  const seen = new Set<string>();
  const visit = (x: string) => {
    for (const d of byId.get(x)?.dependsOn ?? [])
      if (!seen.has(d)) {
        seen.add(d);
        visit(d);
      }
  };
  visit(id);
  return subs.map((s) => s.id).filter((x) => seen.has(x));
}

/**
 * Progress of a fanned-out code step, kept in the task's workflow context (durable, applied by the conductor):
 * which subtasks are done (and at which rebase), how often each was rebased and onto what, how many merges ran.
 */
export interface FanoutContext {
  /** Subtask id → the rebase count of the part that finished it. */
  done: Record<string, number>;
  /** Subtask id → its current rebase count (absent: 0). */
  rebase: Record<string, number>;
  /** Subtask id → the subtasks its rebase starts from (all merged before it). */
  onto: Record<string, string[]>;
  /** Merges that ended in a conflict; the next merge part is `m<merges>`. */
  merges: number;
}

/** The fan-out progress in a workflow's context (empty before the first subtask is done). */
export function fanoutOf(ctx: { fanout?: unknown }): FanoutContext {
  return (ctx.fanout as FanoutContext | undefined) ?? { done: {}, rebase: {}, onto: {}, merges: 0 };
}
