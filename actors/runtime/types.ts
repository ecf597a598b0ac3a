// Contracts shared by every agent: what a step receives, what it returns, and what the host needs.
import type { AnyStateMachine } from 'xstate';
import type { MeshConnection } from '../../blackboard/index.ts';
import type { Sandbox } from '../../sandbox-agent/index.ts';
import type { ModelClient } from '../llm/index.ts';
import type {
  CandidateVariant,
  Capability,
  StepKind,
  TaskEventInput,
  TaskRecord,
} from '../../schemas/index.ts';
import type { ModelGuardOptions } from './guard-options.ts';

/** What an agent's step machine gets as `input`. */
export interface StepInput {
  mesh: MeshConnection;
  task: TaskRecord;
  kind: StepKind;
  attempt: number;
  /**
   * One part of a fanned-out code step (`s<n>-<subtask>` or `m<n>`), or candidate i's code or test step (`c<i>`),
   * see schemas/ids.ts; absent: the whole step.
   */
  part?: string;
  round: number;
  stepId: string;
  instanceId: string;
  deps: AgentDeps;
}

/** What an agent's step machine returns as `output`: a small summary that goes into `step.completed`. */
export type StepOutput = { ok: true; data: Record<string, unknown> } | { ok: false; reason: string };

/** Services an agent may use, injected so tests can swap them (scripted model, clock, ids). */
export interface AgentDeps {
  /** Where worktrees and logs live (e.g. `.codemesh/`). */
  dataDir: string;
  /** A model client per role (planner, coder, reviewer). */
  models: ModelProvider;
  /** Publishes an event for the task (ids must be deterministic for idempotency). */
  emit(event: Omit<TaskEventInput, 'at'>): Promise<void>;
  now(): number;
  /** Runs test jobs (bubblewrap on one machine). */
  sandbox: Sandbox;
  /** Directories searched for test tools a repository does not install itself (e.g. codemesh's node_modules/.bin). */
  binDirs?: string[];
  /** Budget reservations and circuit breaker settings of model calls (default: `DEFAULT_MODEL_GUARD`). */
  modelGuard?: ModelGuardOptions;
  /** Wall-clock cap of one test run. */
  testTimeoutMs?: number;
  /** Candidate i's model/temperature from the environment (entry i-1; the org's settings win), see candidate-variant.ts. */
  candidateVariants?: CandidateVariant[];
  /** Optional code-aware retrieval (the Curator); undefined falls back to grep. */
  retrieve?: (
    repoPath: string,
    commit: string,
    query: string,
    signal: AbortSignal,
  ) => Promise<RetrievedSnippet[]>;
}

export interface RetrievedSnippet {
  path: string;
  startLine: number;
  endLine: number;
  text: string;
  score: number;
  symbol?: string;
  /** Why the Curator picked it (see actors/curator/why.ts). */
  why?: string;
}

/**
 * The model client of each role (see actors/llm), for the task's org: its settings (`POST /v1/config/models`)
 * are resolved at every call, over the environment's.
 */
export type ModelProvider = (
  role: 'planner' | 'coder' | 'reviewer' | 'chat',
  scope?: { orgId?: string },
) => ModelClient;

export interface AgentDefinition {
  capability: Capability;
  /** The XState machine that runs one step: input StepInput, output StepOutput. */
  machine: AnyStateMachine;
  /** Estimated cost of a step, for bids. */
  estimateCostUsd?: (kind: StepKind) => number;
}
