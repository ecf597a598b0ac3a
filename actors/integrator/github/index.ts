// GitHub for codemesh: the `GitHub` role, its Octokit implementation, settings, and pull request bodies.
import { OctokitGitHub, type OctokitGitHubOptions } from './octokit-github.ts';
import type { GitHub, GitHubSettings } from './types.ts';

export { GitHubApiError, GitHubConfigError, GitHubRateLimitError } from './errors.ts';
export { checkIssueHost, gitHubSettingsFromEnv, repoOfRemote, webUrlOf } from './settings.ts';
export type {
  GitHub,
  GitHubAppSettings,
  GitHubCloneSettings,
  GitHubSettings,
  IssueText,
  PullRequest,
  RepoCoords,
} from './types.ts';
export { findCheckout, gitHubRepoOf } from './checkout.ts';
export { CloneError, CloneRefusedError, cloneRepository, clonePath, mayClone } from './clone.ts';
export { issueTaskText } from './issue-text.ts';
export { PR_SECTIONS, prBody, revertBody } from './pr-body.ts';
export { GitHubPublisher, publisherWorkDir } from './publisher.ts';

/** The GitHub client codemesh uses (Octokit underneath). */
export function createGitHub(settings: GitHubSettings, opts?: OctokitGitHubOptions): GitHub {
  return new OctokitGitHub(settings, opts);
}
