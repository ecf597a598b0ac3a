// GitHub failures as small typed errors: the gateway and the publisher tell them apart by `code`.

/** GitHub answered with an error (status and the API path; never the request's headers). */
export class GitHubApiError extends Error {
  override readonly name = 'GitHubApiError';
  readonly code = 'GITHUB_API';
  constructor(
    message: string,
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A rate limit whose reset lies beyond the wait codemesh allows (or retries used up). */
export class GitHubRateLimitError extends Error {
  override readonly name = 'GitHubRateLimitError';
  readonly code = 'GITHUB_RATE_LIMITED';
  constructor(
    message: string,
    /** When GitHub says the limit resets (epoch ms), if it said. */
    readonly resetAt?: number,
  ) {
    super(message);
  }
}

/** No token, or an issue URL on another host than the configured GitHub. */
export class GitHubConfigError extends Error {
  override readonly name = 'GitHubConfigError';
  readonly code = 'GITHUB_CONFIG';
}
