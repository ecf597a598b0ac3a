// The experience memories a task's steps were shown (issue 14 item 3): read from its `memory.recalled` events,
// one row per earlier patch, with the steps that recalled it and how it was found.
import type { TaskEvent } from '../types.ts';

export interface UsedMemory {
  taskId: string;
  patchId: string;
  title: string;
  /** integrated, reverted, rejected, failed... */
  outcome: string;
  /** The best score it was recalled with. */
  score: number;
  /** How it was found: vector, lexical (several when steps differed). */
  via: string[];
  /** Which steps were shown it: `plan #1`, `code #2`... */
  steps: string[];
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');

/**
 * @example
 * memoriesUsed([{ type: 'memory.recalled', step: { kind: 'plan', attempt: 1 }, data: { memories: [...] } }])
 * // [{ taskId: 't-1', patchId: 't-1-p1', outcome: 'rejected', steps: ['plan #1'], ... }]
 */
export function memoriesUsed(events: readonly TaskEvent[]): UsedMemory[] {
  const byPatch = new Map<string, UsedMemory>();
  for (const e of events) {
    if (e.type !== 'memory.recalled' || !Array.isArray(e.data.memories)) continue;
    const step = e.step ? `${e.step.kind} #${e.step.attempt}${e.step.part ? ` (${e.step.part})` : ''}` : '';
    for (const raw of e.data.memories as unknown[]) {
      if (typeof raw !== 'object' || raw === null) continue;
      const m = raw as Record<string, unknown>;
      const patchId = str(m.patchId) || str(m.taskId);
      if (!patchId) continue;
      const cur = byPatch.get(patchId) ?? {
        taskId: str(m.taskId),
        patchId,
        title: str(m.title),
        outcome: str(m.outcome) || 'unknown',
        score: 0,
        via: [],
        steps: [],
      };
      const score = typeof m.score === 'number' && Number.isFinite(m.score) ? m.score : 0;
      cur.score = Math.max(cur.score, score);
      const via = str(m.via);
      if (via && !cur.via.includes(via)) cur.via.push(via);
      if (step && !cur.steps.includes(step)) cur.steps.push(step);
      byPatch.set(patchId, cur);
    }
  }
  return [...byPatch.values()].sort((a, b) => b.score - a.score);
}
