// A compact view of a repository at a commit for prompts: the file list, the README, retrieved snippets.
import { memorySection, recallMemories } from '../memory/index.ts';
import { git } from './git.ts';
import type { RetrievedSnippet, StepInput } from './types.ts';

export async function repoOverview(input: StepInput, query: string, signal?: AbortSignal): Promise<string> {
  return (await repoOverviewWithSnippets(input, query, signal)).text;
}

/** The overview and the snippets retrieved for it (the Planner keeps them on the blackboard). */
export async function repoOverviewWithSnippets(
  input: StepInput,
  query: string,
  signal?: AbortSignal,
): Promise<{ text: string; snippets: RetrievedSnippet[] }> {
  const { repoPath, baseCommit } = input.task;
  const files = (await git(repoPath, ['ls-tree', '-r', '--name-only', baseCommit], { signal })).stdout
    .split('\n')
    .filter(Boolean);
  const shown = files.slice(0, 300);
  const parts = [`Repository files at ${baseCommit.slice(0, 12)} (${files.length} in all):`, ...shown];
  if (files.length > shown.length) parts.push(`... and ${files.length - shown.length} more`);
  const readme = files.find((f) => /^readme(\.md|\.rst|\.txt)?$/i.test(f));
  if (readme) {
    const text = (await git(repoPath, ['show', `${baseCommit}:${readme}`], { signal, allowFail: true }))
      .stdout;
    parts.push('', `${readme} (start):`, text.slice(0, 3000));
  }
  let snippets: RetrievedSnippet[] = [];
  if (input.deps.retrieve && signal) {
    snippets = await input.deps.retrieve(repoPath, baseCommit, query, signal).catch(() => []);
    if (snippets.length > 0) {
      parts.push('', 'Code that looks relevant (retrieved):');
      for (const s of snippets) parts.push(`--- ${s.path}:${s.startLine}-${s.endLine}`, s.text);
    }
  }
  const memory = await recallFor(input, query);
  if (memory) parts.push('', memory);
  return { text: parts.join('\n'), snippets };
}

/**
 * Earlier tasks like this one (experience memory) as a prompt section; each recall is an event naming them, so
 * people can see which memories a step used. A memory that cannot be read is left out, never fatal.
 */
async function recallFor(input: StepInput, query: string): Promise<string> {
  const recalled = await recallMemories(input.mesh, input.task, query).catch(() => []);
  if (recalled.length === 0) return '';
  await input.deps.emit({
    id: `${input.stepId}:r${input.round}:memory.recalled`,
    taskId: input.task.id,
    type: 'memory.recalled',
    step: { kind: input.kind, attempt: input.attempt, ...(input.part ? { part: input.part } : {}) },
    data: {
      memories: recalled.map(({ entry, score, via, from }) => ({
        taskId: entry.taskId,
        title: entry.title.slice(0, 200),
        patchId: entry.patchId,
        outcome: entry.outcome,
        score,
        via,
        ...(from ? { from } : {}),
      })),
    },
  });
  return memorySection(recalled);
}
