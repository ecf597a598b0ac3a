// A compact view of a repository at a commit for prompts: the file list, the README, retrieved snippets.
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
  return { text: parts.join('\n'), snippets };
}
