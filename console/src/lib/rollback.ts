// How the task view words a rollback: what state it is in, who asked and when, and what it made.
import type { RollbackView } from '../types.ts';

export interface RollbackLines {
  title: string;
  who: string;
  /** Branch and commit of the revert, once the Integrator made it. */
  made?: string;
}

const when = (iso: string) =>
  new Date(iso)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');

export function rollbackLines(r: RollbackView): RollbackLines {
  const title =
    r.state === 'rolled_back'
      ? `Rolled back${r.doneAt ? ` at ${when(r.doneAt)}` : ''}`
      : r.state === 'committed'
        ? 'Rollback committed, finishing'
        : 'Rollback asked, under way';
  const who = `asked by ${r.byName || r.by} at ${when(r.requestedAt)}${r.reason ? `: ${r.reason}` : ''}`;
  const made =
    r.branch && r.commit
      ? `revert ${r.commit.slice(0, 12)} on ${r.branch}${r.reverts ? ` (reverts ${r.reverts.slice(0, 12)})` : ''}`
      : r.branch
        ? `on ${r.branch}`
        : undefined;
  return { title, who, ...(made ? { made } : {}) };
}
