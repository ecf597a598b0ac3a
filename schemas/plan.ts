// The Planner's output: a DAG of subtasks with success criteria.
import { z } from 'zod';

export const Subtask = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-_]{0,40}$/i, 'subtask ids are short slugs'),
  title: z.string().min(1).max(300),
  description: z.string().max(4000).default(''),
  role: z.enum(['coder', 'tester', 'doc']).default('coder'),
  dependsOn: z.array(z.string()).default([]),
  successCriteria: z.array(z.string().min(1)).min(1, 'every subtask needs at least one success criterion'),
  files: z.array(z.string()).default([]),
});
export type Subtask = z.infer<typeof Subtask>;

/** Raw plan as a model returns it; `Plan` adds the DAG checks. */
export const PlanBody = z.object({
  summary: z.string().min(1).max(2000),
  subtasks: z.array(Subtask).min(1).max(30),
  risks: z.array(z.string()).default([]),
});

/** Returns the first DAG problem (unknown dependency, duplicate id or cycle), or undefined. */
export function dagProblem(subtasks: readonly Subtask[]): string | undefined {
  const ids = new Set<string>();
  for (const s of subtasks) {
    if (ids.has(s.id)) return `duplicate subtask id "${s.id}"`;
    ids.add(s.id);
  }
  for (const s of subtasks)
    for (const d of s.dependsOn) if (!ids.has(d)) return `subtask "${s.id}" depends on unknown "${d}"`;
  const state = new Map<string, 'visiting' | 'done'>();
  const byId = new Map(subtasks.map((s) => [s.id, s]));
  const visit = (id: string, path: string[]): string | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') return `dependency cycle: ${[...path, id].join(' -> ')}`;
    state.set(id, 'visiting');
    for (const d of byId.get(id)?.dependsOn ?? []) {
      const p = visit(d, [...path, id]);
      if (p) return p;
    }
    state.set(id, 'done');
    return undefined;
  };
  for (const s of subtasks) {
    const p = visit(s.id, []);
    if (p) return p;
  }
  return undefined;
}

export const Plan = PlanBody.superRefine((plan, ctx) => {
  const problem = dagProblem(plan.subtasks);
  if (problem) ctx.addIssue({ code: 'custom', message: problem, path: ['subtasks'] });
});
export type Plan = z.infer<typeof Plan>;

/** Subtasks in an order that respects dependencies (the plan must already be a DAG). */
export function topoOrder(subtasks: readonly Subtask[]): Subtask[] {
  const out: Subtask[] = [];
  const seen = new Set<string>();
  const byId = new Map(subtasks.map((s) => [s.id, s]));
  const visit = (s: Subtask) => {
    if (seen.has(s.id)) return;
    seen.add(s.id);
    for (const d of s.dependsOn) {
      const dep = byId.get(d);
      if (dep) visit(dep);
    }
    out.push(s);
  };
  subtasks.forEach(visit);
  return out;
}

/** Body of `POST /v1/tasks/:id/plan/approve`: the `post-plan` gate's decision. */
export const PlanDecisionRequest = z
  .object({
    decision: z.enum(['approve', 'reject']),
    comment: z.string().max(10_000).default(''),
    /** Only with `approve`: the edited plan (subtasks, success criteria, files) the Coder gets instead. */
    plan: Plan.optional(),
  })
  .strict()
  .refine((b) => !(b.plan && b.decision === 'reject'), {
    message: 'an edited plan is sent only with decision "approve"',
    path: ['plan'],
  });
export type PlanDecisionRequest = z.infer<typeof PlanDecisionRequest>;

/** `planapproval.<taskId>`: written once; the same decision again is accepted, a different one refused. */
export const PlanApproval = z.object({
  taskId: z.string(),
  decision: z.enum(['approve', 'reject']),
  comment: z.string(),
  /** The edited plan, when the approver changed it; it wins over `plan.<taskId>` from then on. */
  plan: Plan.optional(),
  /** The approver's user id; `byName` the name (or token subject) it is shown under. */
  by: z.string(),
  byName: z.string().max(300).optional(),
  at: z.string(),
});
export type PlanApproval = z.infer<typeof PlanApproval>;

/** One snippet the Curator gave the Planner: where it is and why it was picked. */
export const ContextSnippet = z.object({
  path: z.string(),
  startLine: z.number().int(),
  endLine: z.number().int(),
  symbol: z.string().default(''),
  score: z.number(),
  /** The ranking's reasons in words ("names a file the issue mentions; BM25 match of the title"). */
  why: z.string().default(''),
  text: z.string(),
});
export type ContextSnippet = z.infer<typeof ContextSnippet>;

/** `context.<taskId>`: the retrieved context the Planner planned with; written once (first writer wins). */
export const PlanContext = z.object({
  taskId: z.string(),
  commit: z.string(),
  query: z.string(),
  snippets: z.array(ContextSnippet),
  at: z.string(),
});
export type PlanContext = z.infer<typeof PlanContext>;
