// The patch gate's rules on the console side: which patches may be decided on now, and what a change request
// needs before it is sent (the gateway checks the same: 400 for an empty comment).
import type { TaskDetail } from '../types.ts';

/** A change request's problem, if any: its comment goes to the Coder and must say what should change. */
export function changeRequestProblem(comment: string): string | undefined {
  return comment.trim() === '' ? 'Say what should change: the comment is what the Coder gets.' : undefined;
}

/**
 * The patches a human may decide on now, newest first: at the gate, the patch that arrived there and the
 * one kept from an earlier change request; while that revision runs, the kept one (approve only).
 */
export function gatePatches(d: TaskDetail | undefined): { ids: string[]; requestChanges: boolean } {
  if (!d) return { ids: [], requestChanges: false };
  const atGate = d.task.status === 'awaiting_approval';
  const listed = d.task.approvable ?? [];
  if (listed.length) return { ids: listed, requestChanges: atGate };
  // A task recorded before `approvable` existed: the patch at the gate.
  if (!atGate) return { ids: [], requestChanges: false };
  const p = d.task.workflow?.context.patchId;
  const id = typeof p === 'string' ? p : d.patches.at(-1)?.id;
  return { ids: id ? [id] : [], requestChanges: true };
}
