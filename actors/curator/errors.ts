// Errors of the Curator, one class per condition, each with a stable `code`.

export class CuratorError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CuratorError';
    this.code = code;
  }
}

/** The path does not exist or is not inside a git repository. */
export class NotAGitRepoError extends CuratorError {
  readonly repoPath: string;
  constructor(repoPath: string, options?: { cause?: unknown }) {
    super('curator.not_a_git_repo', `not a git repository: ${repoPath}`, options);
    this.name = 'NotAGitRepoError';
    this.repoPath = repoPath;
  }
}

/** The revision does not name a commit of the repository. */
export class UnknownCommitError extends CuratorError {
  readonly repoPath: string;
  readonly commit: string;
  constructor(repoPath: string, commit: string, options?: { cause?: unknown }) {
    super('curator.unknown_commit', `unknown commit ${commit} in ${repoPath}`, options);
    this.name = 'UnknownCommitError';
    this.repoPath = repoPath;
    this.commit = commit;
  }
}

/** An index was asked for one commit but holds another. */
export class StaleIndexError extends CuratorError {
  readonly indexCommit: string;
  readonly requestedCommit: string;
  constructor(indexCommit: string, requestedCommit: string) {
    super('curator.stale_index', `index is at ${indexCommit}, asked for ${requestedCommit}`);
    this.name = 'StaleIndexError';
    this.indexCommit = indexCommit;
    this.requestedCommit = requestedCommit;
  }
}

/** A git command failed for a reason other than the two above. */
export class GitError extends CuratorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('curator.git_failed', message, options);
    this.name = 'GitError';
  }
}
