// The Coder's side of k candidates: candidate i of an attempt is a whole-task Coder pass with its own model
// settings (variant), whose patch is stored as `patch.<task>-p<attempt>-c<i>` beside its candidate record.
import {
  type CandidateVariant,
  candidateOf,
  candidatesOf,
  DEFAULT_ORG,
  diffHash,
  keys,
  OrgModelSettings,
  Patch,
  patchId,
} from '../../schemas/index.ts';
import { policyData, policyNote, scanDiff, secretsData, secretsNote } from '../policy/index.ts';
import { policyReport, worktreeReader } from './policy-check.ts';
import { StepFailure } from '../runtime/ask-json.ts';
import { markCandidate } from '../runtime/candidate-record.ts';
import { resolveVariant } from '../runtime/candidate-variant.ts';
import type { StepInput, StepOutput } from '../runtime/types.ts';
import { diffWorktree } from './edits.ts';

export interface CandidateStart {
  candidate: number;
  variant: CandidateVariant;
}

/** Candidate i's settings, and its record marked as being coded by this instance. */
export async function startCandidate(step: StepInput): Promise<CandidateStart | undefined> {
  const n = candidateOf(step.part);
  if (n === undefined) return undefined;
  const { task, mesh } = step;
  const k = candidatesOf(task.workflow.context)?.k ?? 0;
  if (n > k) throw new StepFailure(`candidate ${n} of a task that asked for ${k}`);
  const org = (await mesh.board.get(keys.models(task.orgId ?? DEFAULT_ORG), OrgModelSettings))?.value;
  const variant = resolveVariant(org?.candidates, step.deps.candidateVariants ?? [], n, k);
  await markCandidate(
    mesh.board,
    { taskId: task.id, attempt: step.attempt, candidate: n },
    { state: 'coding', owner: step.instanceId, variant },
    new Date(step.deps.now()).toISOString(),
  );
  return { candidate: n, variant };
}

/** Stores the candidate's patch (write-once: a re-run after a crash keeps the first) and its record. */
export async function saveCandidate(
  step: StepInput,
  worktree: string,
  start: CandidateStart,
): Promise<StepOutput> {
  const { task, mesh } = step;
  const d = await diffWorktree(worktree);
  if (!d.diff.trim()) throw new StepFailure('the edits left the repository unchanged');
  const id = patchId(task.id, step.attempt, start.candidate);
  const at = new Date(step.deps.now()).toISOString();
  // Scanned before it is published, like a single pass's patch: with findings, only the redacted diff.
  const scan = scanDiff(d.diff);
  const secrets = scan.findings.length > 0 ? scan.findings : undefined;
  const policy = await policyReport(step, worktreeReader(worktree), scan.diff, secrets);
  const patch: Patch = {
    id,
    taskId: task.id,
    attempt: step.attempt,
    baseCommit: task.baseCommit,
    diff: scan.diff,
    files: d.files,
    summary: `candidate ${start.candidate}: ${d.files.length} file(s), +${d.additions} -${d.deletions}${secretsNote(secrets)}${policyNote(policy)}`,
    stats: { additions: d.additions, deletions: d.deletions },
    createdAt: at,
    ...(secrets && { secrets }),
    policy,
  };
  const stored = (await mesh.board.putOnce(keys.patch(id), Patch, patch, (a, b) => a.id === b.id)).entry
    .value;
  const hash = diffHash(stored.diff);
  await markCandidate(
    mesh.board,
    { taskId: task.id, attempt: step.attempt, candidate: start.candidate },
    { state: 'patched', owner: step.instanceId, patchId: id, files: stored.files, diffHash: hash },
    at,
  );
  const data = {
    patchId: id,
    candidate: start.candidate,
    files: stored.files,
    summary: stored.summary,
    diffHash: hash,
    variant: start.variant,
    ...secretsData(stored),
    ...policyData(stored),
  };
  await step.deps.emit({
    id: `${step.stepId}:patch.proposed`,
    taskId: task.id,
    type: 'patch.proposed',
    step: { kind: 'code', attempt: step.attempt, part: step.part },
    data,
  });
  return { ok: true, data };
}
