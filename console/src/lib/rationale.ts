// Why each file of a patch changed, as the pull request's "Rationale per file" says it
// (actors/integrator/github/pr-body.ts): the titles of the plan's subtasks that name the file, else the patch's
// summary, else the plan's.
import type { Plan } from '../types.ts';

export interface FileRationale {
  /** One reason per subtask naming the file (its title), or one general reason. */
  reasons: string[];
  /** The subtasks' ids the reasons come from; empty when the reason is the summary. */
  subtasks: string[];
}

export function fileRationale(
  file: string,
  plan: Plan | null | undefined,
  patchSummary: string | undefined,
): FileRationale {
  const named = plan?.subtasks.filter((s) => s.files?.includes(file)) ?? [];
  if (named.length) return { reasons: named.map((s) => s.title), subtasks: named.map((s) => s.id) };
  return { reasons: [patchSummary || plan?.summary || 'part of the change'], subtasks: [] };
}
