// Change requests from chat (`changes.<taskId>`): read by the Coder and the Reviewer, written by the chat agent.
import type { Blackboard } from '../../blackboard/index.ts';
import { type ChangeRequest, ChangeRequests, keys } from '../../schemas/index.ts';

export async function changeRequests(board: Blackboard, taskId: string): Promise<ChangeRequest[]> {
  return (await board.get(keys.changes(taskId), ChangeRequests))?.value.items ?? [];
}

/** Appends once (by id) under compare-and-set; returns false when the list is full. */
export async function addChangeRequest(board: Blackboard, cr: ChangeRequest): Promise<boolean> {
  let full = false;
  await board.mutate(keys.changes(cr.taskId), ChangeRequests, (cur) => {
    const list = cur ?? { taskId: cr.taskId, items: [] };
    if (list.items.some((x) => x.id === cr.id)) return undefined;
    if (list.items.length >= 100) {
      full = true;
      return undefined;
    }
    return { ...list, items: [...list.items, cr] };
  });
  return !full;
}

/** The lines a prompt carries: newest last, each with its kind and author. */
export function changeLines(items: readonly ChangeRequest[]): string[] {
  if (items.length === 0) return [];
  return [
    '',
    'Changes the user asked for in chat since the task was filed (they win over the task text where they differ):',
    ...items.map((c) => `- [${c.kind}] ${c.text} (${c.author}, ${c.at})`),
  ];
}
