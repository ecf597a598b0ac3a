// Optimistic decisions at the patch gate: a decision shows as taken the moment it is sent (pending), is kept
// once the server accepts it, and is rolled back, with the server's reason, if the server refuses it.

export type Decision = 'approve' | 'request_changes';

export type DecisionState =
  | { phase: 'idle'; error?: string }
  /** Sent, no answer yet: shown as taken, marked pending. */
  | { phase: 'pending'; decision: Decision; since: number }
  /** The server accepted it: the task moves on (the box goes away with the next task fetch). */
  | { phase: 'accepted'; decision: Decision };

export type DecisionEvent =
  | { type: 'send'; decision: Decision; at: number }
  | { type: 'accepted' }
  | { type: 'refused'; message: string };

/** The next state. A second send while one is pending is ignored: one decision at a time. */
export function decide(state: DecisionState, event: DecisionEvent): DecisionState {
  switch (event.type) {
    case 'send':
      return state.phase === 'pending'
        ? state
        : { phase: 'pending', decision: event.decision, since: event.at };
    case 'accepted':
      return state.phase === 'pending' ? { phase: 'accepted', decision: state.decision } : state;
    case 'refused':
      // Back to where the human was, with why: the buttons come back and the reason is read out.
      return state.phase === 'pending' ? { phase: 'idle', error: event.message } : state;
  }
}

/** What the box says about a decision in flight or taken; undefined when idle. */
export function decisionText(state: DecisionState, patchId: string): string | undefined {
  if (state.phase === 'idle') return undefined;
  const what = state.decision === 'approve' ? `Approved ${patchId}` : `Changes requested on ${patchId}`;
  return state.phase === 'pending'
    ? `${what} — pending, waiting for the server…`
    : `${what}${state.decision === 'approve' ? ' — integrating.' : ' — the Coder is revising it.'}`;
}
