// The console's copy of the blackboard: the latest revision of each key seen on `/v1/board/events`.

export interface BoardChange {
  key: string;
  revision: number;
  op: 'PUT' | 'DEL' | 'PURGE';
  value: unknown;
}

export interface BoardRow extends BoardChange {
  kind: string;
  /** When this console saw the revision (ms): drives the change highlight. */
  seenAt: number;
  /** True once a revision arrived after the first one this console saw for the key. */
  changed: boolean;
}

export type BoardState = Readonly<Record<string, BoardRow>>;

/**
 * Applies a batch of changes (one copy of the state per batch: the initial snapshot can be thousands of keys).
 * A revision at or below the one held is ignored (a reconnect replays current values); when nothing is newer
 * the same state object comes back, so nothing re-renders or flashes.
 */
export function applyBoardChanges(
  state: BoardState,
  changes: readonly BoardChange[],
  now: number,
): BoardState {
  let next: Record<string, BoardRow> | undefined;
  for (const change of changes) {
    const held = (next ?? state)[change.key];
    if (held && held.revision >= change.revision) continue;
    next ??= { ...state };
    next[change.key] = {
      ...change,
      kind: change.key.slice(0, change.key.indexOf('.')),
      seenAt: now,
      changed: held !== undefined,
    };
  }
  return next ?? state;
}

/** Whether a key belongs to a task: `<kind>.<taskId>` exactly or followed by `-…` (patch, testrun, award, …). */
export function keyOfTask(key: string, taskId: string): boolean {
  const rest = key.slice(key.indexOf('.') + 1);
  return rest === taskId || rest.startsWith(`${taskId}-`);
}

/** Rows sorted for display: newest change first, then by key. */
export function sortedRows(state: BoardState, filter = ''): BoardRow[] {
  const f = filter.trim().toLowerCase();
  return Object.values(state)
    .filter((r) => !f || r.key.toLowerCase().includes(f))
    .sort((a, b) => b.seenAt - a.seenAt || a.key.localeCompare(b.key));
}
