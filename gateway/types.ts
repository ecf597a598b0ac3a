// Contracts of the gateway: who is calling (Principal), how tokens are checked (AuthConfig), the limits, and
// the services the routes call through small interfaces so they can be absent (501) or faked in tests.
import type { GitHub } from '../actors/integrator/github/index.ts';
import type { MeshConnection } from '../blackboard/index.ts';
import type { RecordStore } from '../actors/recorder/index.ts';
import type { IndexMode, Scope } from '../schemas/api.ts';

/** The authenticated caller of one request. */
export interface Principal {
  userId: string;
  /** How the caller authenticated; `dev` is the static development token. */
  via: 'jwt' | 'pat' | 'dev';
  /** What rate and SSE limits are counted against: the PAT id, the JWT subject, or `dev`. */
  tokenKey: string;
  scopes: ReadonlySet<Scope>;
  /** The development admin: every org, every repository. */
  superuser: boolean;
}

export interface AuthConfig {
  /** OIDC: tokens must be signed by a key of this JWKS and carry this issuer and audience. */
  oidc?: { issuer: string; audience: string; jwksUrl: string; algorithms?: string[] };
  /** Development: HS256 tokens signed with this secret; `iss` and `aud` are always checked (default `codemesh`). */
  hs256?: { secret: string; issuer?: string; audience?: string };
  /** Tokens whose `exp - iat` is larger are refused (default 3600 s). */
  maxLifetimeSec?: number;
  /** Static development admin token (the spine's `CODEMESH_TOKEN`); omit it in production. */
  devToken?: string;
}

export interface Limits {
  /** Token bucket per token: sustained requests per second and burst size. */
  ratePerSec: number;
  burst: number;
  /** The same per user, all its tokens together (access tokens are cheap to mint); default 4× the token's. */
  userRatePerSec?: number;
  userBurst?: number;
  maxBodyBytes: number;
  /** Open SSE streams per token. */
  maxSsePerToken: number;
  /** Open SSE streams per user, all its tokens together (access tokens are cheap to mint). */
  maxSsePerUser: number;
}

export const DEFAULT_LIMITS: Limits = {
  ratePerSec: 100,
  burst: 200,
  maxBodyBytes: 1_000_000,
  maxSsePerToken: 8,
  maxSsePerUser: 32,
};

/** What `POST /v1/repos/index` calls: the Curator, when it is wired. */
export interface RepoIndexer {
  index(opts: { repoPath: string; commit?: string }): Promise<{
    commit: string;
    files: number;
    chunks: number;
    symbols: number;
    source: string;
    ms: number;
    /** Counts per part (see `IndexRepoBody.modes`); by mode name. */
    modes: Partial<Record<IndexMode, Record<string, number>>>;
  }>;
}

/** HTTP status of an indexer failure, by its `code` (the Curator's error codes). */
export const INDEXER_ERROR_STATUS: Record<string, 422 | 503 | 504> = {
  'curator.unknown_commit': 422,
  'curator.not_a_git_repo': 422,
  'curator.unavailable': 503,
  'curator.timeout': 504,
};

export interface GatewayOptions {
  mesh: MeshConnection;
  record: RecordStore;
  auth?: AuthConfig;
  /** Shorthand for `auth.devToken` (the spine's option). */
  token?: string;
  limits?: Partial<Limits>;
  indexer?: RepoIndexer;
  /**
   * Real paths under which repositories may be registered (CODEMESH_REPO_ROOTS). Unset: only the instance
   * administrator (superuser) registers repositories, anywhere but the state dir.
   */
  repoRoots?: readonly string[];
  /** codemesh's state dir (CODEMESH_HOME): never a repository, nor anything inside it. */
  stateDir?: string;
  /**
   * The AES-256-GCM key that seals model API keys. Default: CODEMESH_SECRET_KEY, else `<stateDir>/secret.key`
   * (generated, 0600). The actors need the same key to open them.
   */
  secretKey?: Buffer;
  /**
   * The test-writing step (a test that reproduces the issue, checked on the base commit) for tasks whose own
   * settings and `.codemesh.yml` leave `test.reproduce` unset. Default true.
   */
  reproduceTests?: boolean;
  /** How long `POST /v1/chat` waits for an agent's answer. */
  chatTimeoutMs?: number;
  /** GitHub (issue intake, webhooks). Default: `createGitHub(gitHubSettingsFromEnv(process.env))`. */
  github?: GitHub;
  now?: () => number;
  log?: (line: string) => void;
}
