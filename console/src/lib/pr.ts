// A task's links out: the issue it came from and its GitHub pull request (and revert pull request), from
// `issueUrl` and `pullRequest` of `GET /v1/tasks/{id}`. Only http(s) links are made clickable.
import type { PullRequestView } from '../types.ts';

export interface OutLink {
  label: string;
  url: string;
  /** The pull request's state (draft, ready, merged, closed). */
  state?: string;
}

/** The URL if it is an absolute http(s) URL, else undefined (a `javascript:` URL must not become a link). */
export function safeUrl(u: unknown): string | undefined {
  if (typeof u !== 'string') return undefined;
  try {
    const url = new URL(u);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

export function outLinks(d: { issueUrl?: string | null; pullRequest?: PullRequestView | null }): OutLink[] {
  const links: OutLink[] = [];
  const issue = safeUrl(d.issueUrl);
  if (issue) links.push({ label: 'issue', url: issue });
  const pr = d.pullRequest;
  const prUrl = safeUrl(pr?.url);
  if (pr && prUrl)
    links.push({ label: `pull request ${pr.owner}/${pr.repo}#${pr.number}`, url: prUrl, state: pr.state });
  const revert = safeUrl(pr?.revert?.url);
  if (pr?.revert && revert) links.push({ label: `revert pull request #${pr.revert.number}`, url: revert });
  return links;
}
