// The event that ends a step, built from its closed award: by the agent that ran the step, and by a conductor
// that finds the award closed but the event never published (the agent was killed, or NATS went away, between).
import type { Award, TaskEventInput } from '../../schemas/index.ts';

export type StepOutcome = NonNullable<Award['outcome']>;

/** Same id from both writers, so the stream de-duplicates whichever comes second. */
export function stepOutcomeEvent(award: Award, outcome: StepOutcome): Omit<TaskEventInput, 'at'> {
  const step = {
    kind: award.kind,
    attempt: award.attempt,
    round: award.round,
    ...(award.part ? { part: award.part } : {}),
  };
  return outcome.ok
    ? {
        id: `${award.stepId}:completed`,
        taskId: award.taskId,
        type: 'step.completed',
        step,
        data: outcome.data,
      }
    : {
        id: `${award.stepId}:failed`,
        taskId: award.taskId,
        type: 'step.failed',
        step,
        data: { reason: outcome.reason },
      };
}
