// Whether a patch repeats an approach that was turned down before (a rejected or reverted memory of the same
// repository): the share of changed lines they have in common. The Reviewer is told, so a rejected approach is
// not taken again without it being said.
import type { MemoryEntry, Patch } from '../../schemas/index.ts';
import type { Recalled } from './recall.ts';

/** Share of changed lines in common (of the smaller set) from which a patch counts as a repeat. */
export const REPEAT_OVERLAP = 0.6;

/** The added and removed lines of a unified diff, trimmed (file headers and blank changes left out). */
export function changedLines(diff: string): Set<string> {
  const out = new Set<string>();
  for (const l of diff.split('\n')) {
    if (l.startsWith('+++') || l.startsWith('---')) continue;
    if (l[0] !== '+' && l[0] !== '-') continue;
    const body = l.slice(1).trim();
    if (body) out.add(`${l[0]}${body}`);
  }
  return out;
}

export interface Repeat {
  entry: MemoryEntry;
  /** Changed lines in common over the smaller patch's changed lines, 0..1. */
  overlap: number;
}

/** The turned-down memories (rejected, reverted) whose changes `patch` repeats, most alike first. */
export function repeatedRejections(patch: Pick<Patch, 'diff'>, recalled: readonly Recalled[]): Repeat[] {
  const mine = changedLines(patch.diff);
  if (mine.size === 0) return [];
  const out: Repeat[] = [];
  for (const { entry } of recalled) {
    if (entry.outcome === 'integrated') continue;
    const theirs = changedLines(entry.diff);
    if (theirs.size === 0) continue;
    let same = 0;
    for (const l of mine) if (theirs.has(l)) same++;
    const overlap = same / Math.min(mine.size, theirs.size);
    if (overlap >= REPEAT_OVERLAP) out.push({ entry, overlap });
  }
  return out.sort((a, b) => b.overlap - a.overlap);
}

/** The Reviewer's prompt lines about repeats (empty when there is none). */
export function repeatSection(repeats: readonly Repeat[]): string {
  if (repeats.length === 0) return '';
  const lines = [
    'Experience memory: this patch repeats an approach that was turned down before on this repository:',
  ];
  for (const { entry: e, overlap } of repeats)
    lines.push(
      `- ${e.outcome.toUpperCase()}${e.note ? ` (${e.note})` : ''}: patch ${e.patchId} of task ${e.taskId} ` +
        `"${e.title}" — ${Math.round(overlap * 100)}% of the changed lines are the same.`,
    );
  lines.push(
    'Approve it only if the plan or the patch says it repeats that approach and why it is right this time; ' +
      'otherwise ask for a revision that names the earlier rejection.',
  );
  return lines.join('\n');
}
