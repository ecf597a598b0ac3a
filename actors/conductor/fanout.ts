// The conductor's side of a fanned-out code step: the `subtask.*` records that show each subtask's owner, state
// and patch on the blackboard. Every write is a compare-and-set that never moves a record backwards.
import type { Blackboard } from '../../blackboard/index.ts';
import {
  type Award,
  dependencyClosure,
  keys,
  parsePart,
  type Subtask,
  SubtaskRecord,
  type SubtaskState,
  subtaskPart,
} from '../../schemas/index.ts';
import type { FanoutContext } from './workflow.ts';

/** States a record is not taken back from by an award of the same part. */
const SETTLED: ReadonlySet<SubtaskState> = new Set(['done', 'merged', 'failed', 'conflict']);

/** Creates the records of subtasks that have none yet (the first time the fan-out is looked at). */
export async function ensureSubtaskRecords(
  board: Blackboard,
  taskId: string,
  attempt: number,
  subs: readonly Subtask[],
  f: FanoutContext,
  at: string,
): Promise<void> {
  await Promise.all(
    subs.map(async (s) => {
      const key = keys.subtask(taskId, attempt, s.id);
      if (await board.get(key, SubtaskRecord)) return;
      const rebase = f.rebase[s.id] ?? 0;
      await board.mutate(key, SubtaskRecord, (cur) =>
        cur
          ? undefined
          : {
              taskId,
              attempt,
              subtaskId: s.id,
              title: s.title,
              dependsOn: s.dependsOn,
              state: 'waiting' as const,
              part: subtaskPart(s.id, rebase),
              rebase,
              round: 0,
              owner: null,
              onto: f.onto[s.id] ?? dependencyClosure(subs, s.id),
              updatedAt: at,
            },
      );
    }),
  );
}

/** The auction of a subtask's part was won: the record names the owner (unless the Coder got further already). */
export async function markAwarded(board: Blackboard, award: Award, at: string): Promise<void> {
  const p = parsePart(award.part);
  if (!p || !('subtask' in p)) return;
  await board.mutate(keys.subtask(award.taskId, award.attempt, p.subtask), SubtaskRecord, (r) => {
    if (!r || r.rebase > p.rebase) return undefined;
    if (r.part === award.part && (SETTLED.has(r.state) || (r.round >= award.round && r.state === 'running')))
      return undefined;
    if (r.part === award.part && r.round === award.round && r.owner === award.instanceId) return undefined;
    return {
      ...r,
      state: 'awarded' as const,
      part: award.part!,
      rebase: p.rebase,
      owner: award.instanceId,
      round: award.round,
      updatedAt: at,
    };
  });
}

/** A subtask part ended, or a merge did: the records say so. */
export async function markSubtask(
  board: Blackboard,
  taskId: string,
  attempt: number,
  subtaskId: string,
  change: Partial<Pick<SubtaskRecord, 'state' | 'reason' | 'rebase' | 'part' | 'onto' | 'owner'>>,
  at: string,
  /** Only while the record is at this part (a late event of an older part changes nothing). */
  ifPart?: string,
): Promise<void> {
  await board.mutate(keys.subtask(taskId, attempt, subtaskId), SubtaskRecord, (r) => {
    if (!r || (ifPart !== undefined && r.part !== ifPart)) return undefined;
    const next = { ...r, ...change, updatedAt: at };
    const same = (Object.keys(change) as Array<keyof typeof change>).every((k) => r[k] === next[k]);
    return same ? undefined : next;
  });
}
