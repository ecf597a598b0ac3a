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
