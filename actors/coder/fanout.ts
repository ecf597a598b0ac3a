// The Coder's side of a fanned-out code step: a subtask part starts from the base commit with the patches it
// builds on merged in, and leaves its own patch on the subtask's record; the merge part combines them all.
import { join } from 'node:path';
import {
  dependencyClosure,
  fanoutOf,
  fanoutSubtasks,
  keys,
  type Patch,
  Patch as PatchSchema,
  parsePart,
  patchId,
  type ReproTest,
  type Subtask,
  type SubtaskPatch,
  SubtaskRecord,
  subtaskPart,
} from '../../schemas/index.ts';
import { policyData, policyNote, scanDiff, secretsData, secretsNote } from '../policy/index.ts';
import { policyReport, treeReader } from './policy-check.ts';
import { StepFailure } from '../runtime/ask-json.ts';
import { effectivePlan } from '../runtime/effective-plan.ts';
import type { StepInput, StepOutput } from '../runtime/types.ts';
import { diffWorktree } from './edits.ts';
import { commitTree, mergePatches } from './merge.ts';
import { keptRepro } from './reproduce.ts';

/** The subtask a step part is about, with the plan's fanned-out subtasks (merge order). */
export async function subtaskOf(
  step: StepInput,
): Promise<{ subtask: Subtask; rebase: number; subs: Subtask[] } | undefined> {
  const p = parsePart(step.part);
  if (!p || !('subtask' in p)) return undefined;
  const subs = fanoutSubtasks(await effectivePlan(step.mesh.board, step.task.id));
  const subtask = subs?.find((s) => s.id === p.subtask);
  if (!subs || !subtask) throw new StepFailure(`subtask ${p.subtask} is not in the plan`);
  return { subtask, rebase: p.rebase, subs };
}

/** The finished patch of each subtask, in the order given (each must be done at the rebase the workflow holds). */
async function donePatches(step: StepInput, ids: readonly string[]): Promise<SubtaskPatch[]> {
  const f = fanoutOf(step.task.workflow.context);
  return Promise.all(
    ids.map(async (id) => {
      const rec = (await step.mesh.board.get(keys.subtask(step.task.id, step.attempt, id), SubtaskRecord))
        ?.value;
      const want = subtaskPart(id, f.done[id] ?? 0);
      if (!rec?.patch || rec.patch.part !== want)
        throw new StepFailure(`subtask ${id} has no finished patch (${want}) on the blackboard`);
      return rec.patch;
    }),
  );
}

export interface SubtaskStart {
  subtask: Subtask;
  /** Where the worktree starts: the base commit, or a commit of it with the `onto` patches merged in. */
  startCommit: string;
  onto: Array<{ id: string; diff: string }>;
  /** This subtask's patch from before its rebase, to redo on top of the others'. */
  earlier?: SubtaskPatch;
  /** The test the test-writing part kept: under the `onto` patches in the start commit (not in the patch). */
  repro?: ReproTest;
}

/** The kept test's place in a merge: first, as every subtask's Coder started from it. */
const REPRO_PATCH = 'reproduction-test';

/** Marks the subtask running (fenced by part) and works out where its Coder starts. */
export async function startSubtask(step: StepInput, workDir: string): Promise<SubtaskStart | undefined> {
  const s = await subtaskOf(step);
  if (!s) return undefined;
  const { task, mesh } = step;
  const key = keys.subtask(task.id, step.attempt, s.subtask.id);
  const at = new Date(step.deps.now()).toISOString();
  const rec = await mesh.board.mutate(key, SubtaskRecord, (r) =>
    r && r.part === step.part && !['done', 'merged', 'failed', 'conflict'].includes(r.state)
      ? { ...r, state: 'running' as const, owner: step.instanceId, round: step.round, updatedAt: at }
      : undefined,
  );
  const f = fanoutOf(task.workflow.context);
  const ontoIds = f.onto[s.subtask.id] ?? dependencyClosure(s.subs, s.subtask.id);
  const patches = await donePatches(step, ontoIds);
  const onto = ontoIds.map((id, i) => ({ id, diff: patches[i]!.diff }));
  // The first attempt starts from the test the test-writing part kept, as a single Coder pass does: the
  // subtask's Coder sees it, and its patch (a diff against the start commit) does not repeat it.
  const repro = step.attempt === 1 ? await keptRepro(step) : undefined;
  const under = [...(repro ? [{ id: REPRO_PATCH, diff: repro.diff }] : []), ...onto];
  let startCommit = task.baseCommit;
  if (under.length > 0) {
    const merged = await mergePatches(task.repoPath, task.baseCommit, under, workDir);
    if (!merged.ok)
      throw new StepFailure(
        `the patches subtask ${s.subtask.id} builds on do not merge: ${merged.conflict.subtask} conflicts with ${merged.conflict.with.join(', ')}`,
      );
    startCommit = await commitTree(
      task.repoPath,
      merged.tree,
      task.baseCommit,
      `codemesh: start of subtask ${s.subtask.id} (${under.map((u) => u.id).join(', ')})`,
    );
  }
  const earlier = s.rebase > 0 && rec?.value.patch?.part !== step.part ? rec?.value.patch : undefined;
  return {
    subtask: s.subtask,
    startCommit,
    onto,
    ...(earlier ? { earlier } : {}),
    ...(repro ? { repro } : {}),
  };
}

/** Stores the subtask's patch on its record: the first Coder to finish a part wins, later ones keep it. */
export async function saveSubtask(
  step: StepInput,
  worktree: string,
  start: SubtaskStart,
): Promise<StepOutput> {
  const d = await diffWorktree(worktree, start.startCommit);
  if (!d.diff.trim()) throw new StepFailure('the edits left the repository unchanged');
  const at = new Date(step.deps.now()).toISOString();
  // Scanned before the subtask's record holds it: with findings, the record holds the redacted diff.
  const scan = scanDiff(d.diff);
  const patch: SubtaskPatch = {
    part: step.part!,
    startCommit: start.startCommit,
    diff: scan.diff,
    files: d.files,
    additions: d.additions,
    deletions: d.deletions,
    by: step.instanceId,
    at,
    ...(scan.findings.length > 0 && { secrets: scan.findings }),
  };
  const key = keys.subtask(step.task.id, step.attempt, start.subtask.id);
  const saved = await step.mesh.board.mutate(key, SubtaskRecord, (r) => {
    if (!r || r.part !== step.part || r.patch?.part === step.part) return undefined;
    return { ...r, state: 'done' as const, owner: step.instanceId, patch, updatedAt: at };
  });
  const kept = saved?.value.patch;
  const stored: SubtaskPatch = kept && kept.part === step.part ? kept : patch;
  const summary = `subtask ${start.subtask.id}: ${stored.files.length} file(s), +${stored.additions} -${stored.deletions}`;
  return { ok: true, data: { subtask: start.subtask.id, files: stored.files, summary } };
}

/**
 * The merge part: every subtask's patch, in merge order, 3-way onto the base commit. Clean: the attempt's patch
 * (write-once, as a single Coder pass would leave it). A conflict is an answer, not a failure: the workflow
 * re-awards the later subtask as a rebase.
 */
export async function mergeSubtasks(step: StepInput, workDir: string): Promise<StepOutput> {
  const { task, mesh } = step;
  const subs = fanoutSubtasks(await effectivePlan(mesh.board, task.id));
  if (!subs) throw new StepFailure('a merge part was awarded but the plan has no subtasks to fan out');
  const ids = subs.map((s) => s.id);
  const patches = await donePatches(step, ids);
  const toMerge = ids.map((id, i) => ({ id, diff: patches[i]!.diff }));
  // The test the test-writing part kept goes in first: every subtask's Coder started from it.
  const repro = step.attempt === 1 ? await keptRepro(step) : undefined;
  const under = repro ? [{ id: REPRO_PATCH, diff: repro.diff }] : [];
  const mergeDir = join(workDir, 'merge');
  let merged = await mergePatches(task.repoPath, task.baseCommit, [...under, ...toMerge], mergeDir);
  // It was made on the base commit and cannot conflict there; should it not apply, the subtasks' merge stands.
  if (!merged.ok && merged.conflict.subtask === REPRO_PATCH)
    merged = await mergePatches(task.repoPath, task.baseCommit, toMerge, mergeDir);
  if (!merged.ok) {
    const { subtask, with: w, files } = merged.conflict;
    // A rebase starts from the kept test anyway: it is not one of the subtasks to rebase onto.
    const others = w.filter((id) => id !== REPRO_PATCH);
    return { ok: true, data: { conflict: { subtask, with: others, files } } };
  }
  if (!merged.diff.trim()) throw new StepFailure('the subtasks’ patches cancel out: nothing changed');
  const id = patchId(task.id, step.attempt);
  // The subtasks' findings carry over (their diffs are already redacted; lines are those of each subtask's
  // patch against its start); a scan of the merged diff catches anything the merge itself brought in.
  const scan = scanDiff(merged.diff);
  const found = [...patches.flatMap((p) => p.secrets ?? []), ...scan.findings];
  const secrets = found.length > 0 ? found : undefined;
  // The policy checks the merged patch as a whole, reading its files from the merged tree.
  const policy = await policyReport(step, treeReader(task.repoPath, merged.tree), scan.diff, secrets);
  const patch: Patch = {
    id,
    taskId: task.id,
    attempt: step.attempt,
    baseCommit: task.baseCommit,
    diff: scan.diff,
    files: merged.files,
    summary: `${merged.files.length} file(s), +${merged.additions} -${merged.deletions}, merged from ${ids.length} subtasks${secretsNote(secrets)}${policyNote(policy)}`,
    stats: { additions: merged.additions, deletions: merged.deletions },
    createdAt: new Date(step.deps.now()).toISOString(),
    ...(secrets && { secrets }),
    policy,
  };
  const stored = (await mesh.board.putOnce(keys.patch(id), PatchSchema, patch, (a, b) => a.id === b.id)).entry
    .value;
  await step.deps.emit({
    id: `${step.stepId}:patch.proposed`,
    taskId: task.id,
    type: 'patch.proposed',
    step: { kind: 'code', attempt: step.attempt, part: step.part },
    data: {
      patchId: id,
      files: stored.files,
      summary: stored.summary,
      subtasks: ids,
      ...secretsData(stored),
      ...policyData(stored),
    },
  });
  return { ok: true, data: { patchId: id, files: stored.files, summary: stored.summary, subtasks: ids } };
}
