// A task status as a coloured badge.
import type { TaskStatus } from '../types.ts';

export function StatusBadge(props: { status: TaskStatus | string }) {
  return <span class={`status status-${props.status}`}>{props.status.replaceAll('_', ' ')}</span>;
}

export const isTerminal = (s: string) =>
  s === 'completed' || s === 'failed' || s === 'rolled_back' || s === 'abstained';
