// An issue as a task: its title, and its body and comments as the description (within the task's limits).
import type { IssueText } from './types.ts';

const MAX_DESCRIPTION = 20_000;

/** Title (cut to 300) and description: body, then each comment with its author, then the link back. */
export function issueTaskText(issue: IssueText): { title: string; description: string } {
  const parts = [issue.body.trim()];
  for (const c of issue.comments) parts.push(`Comment by @${c.author}:\n${c.body.trim()}`);
  const link = `\n\nIssue: ${issue.ref.url}`;
  let description = parts.filter(Boolean).join('\n\n');
  if (description.length + link.length > MAX_DESCRIPTION) {
    const cut = '\n[... the issue thread is cut here]';
    description = description.slice(0, MAX_DESCRIPTION - link.length - cut.length) + cut;
  }
  return {
    title: (issue.title.trim() || `Issue #${issue.ref.number}`).slice(0, 300),
    description: description + link,
  };
}
