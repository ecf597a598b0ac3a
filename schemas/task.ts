// Task intake and the task record kept on the blackboard.
import { z } from 'zod';
import { BudgetLimits, RoleBudgets } from './budget.ts';
import { MAX_CANDIDATES } from './candidate.ts';
import { TaskId } from './ids.ts';
import { RepoConfig } from './repo-config.ts';
import { safeString } from './text.ts';

export const ApproveMode = z.enum(['auto', 'manual']);
export type ApproveMode = z.infer<typeof ApproveMode>;

/**
 * Human checkpoints a task may ask for besides the patch gate (`approve: manual`, the `pre-integrate` gate):
 * `post-plan` halts after planning until a human approves, edits or rejects the plan.
 */
export const Gate = z.enum(['post-plan']);
export type Gate = z.infer<typeof Gate>;

/** What a client submits (REST body, CLI flags). */
export const TaskRequest = z
  .object({
    repo: safeString().min(1, 'repo is the path of a git repository on the codemesh host'),
    title: safeString().trim().min(1).max(300),
    description: safeString().max(20_000).default(''),
    approve: ApproveMode.default('manual'),
    /** Extra gates (`codemesh run --gate post-plan`); absent means none. */
    gates: z.array(Gate).max(Gate.options.length).optional(),
    /**
     * k candidate patches (pass@k): k Coders work on the whole task independently (each with its own model or
     * temperature, see `CandidateVariant`), the Tester runs each, and one is chosen on test evidence, agreement
     * and the Reviewer's ranking — or the task ends `abstained`. Absent: the org's default, else 1.
     */
    candidates: z.number().int().min(1).max(MAX_CANDIDATES).optional(),
    /**
     * Run the Doc Writer after review (FR-007): docstrings and README/CHANGELOG sections of the public
     * functions whose signature the patch changes, as a separate patch, and the PR description. Absent: off.
     */
    docs: z.boolean().optional(),
    /** The branch or commit to start from; defaults to the repository's HEAD. */
    baseRef: safeString().min(1).max(200).optional(),
    /**
     * `maxCostUsd` and `maxTokens` are the task's hard USD and token limits unless `hard` names its own. A soft
     * limit pauses the task at the `budget` gate (`awaiting_budget`) until a human raises it or stops the task;
     * a hard limit stops it. Model calls reserve their spending before they are made (see actors/runtime/budget.ts).
     */
    budget: z
      .object({
        maxAttempts: z.number().int().min(1).max(10).default(3),
        maxCostUsd: z.number().min(0).max(1000).default(5),
        maxTokens: z.number().int().min(1).max(50_000_000).default(2_000_000),
        soft: BudgetLimits.optional(),
        hard: BudgetLimits.optional(),
        /** Limits of one agent role's calls (planner, coder, reviewer), besides the task's. */
        roles: RoleBudgets.optional(),
      })
      .prefault({})
      .superRefine((b, ctx) => {
        const check = (soft: BudgetLimits | undefined, hard: BudgetLimits | undefined, path: string[]) => {
          for (const [k, v] of Object.entries(soft ?? {})) {
            const h = hard?.[k as keyof BudgetLimits];
            if (v !== undefined && h !== undefined && v > h)
              ctx.addIssue({
                code: 'custom',
                path: [...path, k],
                message: `the soft limit ${v} is above the hard limit ${h}`,
              });
          }
        };
        check(b.soft, { tokens: b.maxTokens, usd: b.maxCostUsd, ...b.hard }, ['soft']);
        for (const [role, r] of Object.entries(b.roles ?? {}))
          check(r?.soft, r?.hard, ['roles', role, 'soft']);
      }),
    /**
     * Test and push settings for this task only (the `.codemesh.yml` keys); they win over the repository's
     * file and its registered settings. `codemesh run --push` sets `push: true`.
     */
    config: RepoConfig.optional(),
    /**
     * The GitHub issue the task came from (its canonical URL): the title, body and comments were read from it
     * when the task was submitted (`issue_url` in `POST /v1/tasks`, `codemesh run --issue-url`).
     */
    issueUrl: safeString().max(400).url().optional(),
  })
  .strict();
export type TaskRequest = z.infer<typeof TaskRequest>;
export type TaskRequestInput = z.input<typeof TaskRequest>;

export const TaskStatus = z.enum([
  'planning',
  /** The `post-plan` gate: the plan and its retrieved context wait for a human. */
  'awaiting_plan_approval',
  /** The `budget` gate: a soft limit was reached; a human raises it or stops the task. */
  'awaiting_budget',
  'coding',
  'testing',
  'reviewing',
  /** The Doc Writer updates the documentation a reviewed patch touches (tasks with `docs: true`). */
  'documenting',
  'awaiting_approval',
  'integrating',
  'completed',
  'failed',
  /** k candidates were tried and none earned selection: no patch is proposed (the evidence is on `selection`). */
  'abstained',
  'rolling_back',
  'rolled_back',
]);
export type TaskStatus = z.infer<typeof TaskStatus>;

/** `task.<id>`: last-writer-wins with compare-and-set; only the conductor writes it after creation. */
export const TaskRecord = z.object({
  id: TaskId,
  request: TaskRequest,
  /** The org of the task's repository (set by the gateway); model settings are that org's. Absent: `default`. */
  orgId: z.string().optional(),
  /** Who asked for the task, when the record knows it (a campaign's task: the campaign's creator). */
  createdBy: z.string().optional(),
  /** The campaign that started this task (FR-015; `GET /v1/campaigns/{id}`). */
  campaignId: z.string().optional(),
  /** Absolute path of the repository and the commit the task started from. */
  repoPath: z.string(),
  baseCommit: z.string().regex(/^[0-9a-f]{40}$/),
  status: TaskStatus,
  attempt: z.number().int().min(0),
  /** Persisted workflow machine state (xstate `value` + `context`), see actors/conductor. */
  workflow: z.object({ value: z.string(), context: z.record(z.string(), z.unknown()) }),
  branch: z.string().optional(),
  commit: z.string().optional(),
  rollbackBranch: z.string().optional(),
  reason: z.string().optional(),
  /** The patches a human may approve now: at the gate, and the kept one while its revision runs. */
  approvable: z.array(z.string()).optional(),
  /**
   * The revision a human asked for ended without a patch of its own: the task is back at the gate with the
   * earlier patch (`patchId`), and this says why.
   */
  revisionFailed: z.object({ attempt: z.number().int(), patchId: z.string(), reason: z.string() }).optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type TaskRecord = z.infer<typeof TaskRecord>;

/** A refinement of a running task's scope or constraints, asked for in chat (audited by the gateway). */
export const ChangeRequest = z.object({
  id: z.string().regex(/^cr-[a-z0-9-]{6,60}$/),
  taskId: z.string(),
  kind: z.enum(['scope', 'constraint']),
  text: z.string().min(1).max(2000),
  author: z.string().max(200),
  threadId: z.string().max(100),
  at: z.string(),
});
export type ChangeRequest = z.infer<typeof ChangeRequest>;

/** `changes.<taskId>`: every change request of a task, oldest first. */
export const ChangeRequests = z.object({ taskId: z.string(), items: z.array(ChangeRequest).max(100) });
export type ChangeRequests = z.infer<typeof ChangeRequests>;
