// The machine of an agent whose step is one effect: run it as a cancellable named actor, turn a failure
// into a failed output (an event for the conductor), never into a crash.
import { assign, fromPromise, setup } from 'xstate';
import { errorText } from './ask-json.ts';
import type { StepInput, StepOutput } from './types.ts';

export function oneEffectMachine(
  id: string,
  work: (input: StepInput, signal: AbortSignal) => Promise<StepOutput>,
) {
  return setup({
    types: {
      input: {} as StepInput,
      context: {} as { step: StepInput; output?: StepOutput },
      output: {} as StepOutput,
    },
    actors: { work: fromPromise<StepOutput, StepInput>(({ input, signal }) => work(input, signal)) },
  }).createMachine({
    id,
    context: ({ input }) => ({ step: input }),
    initial: 'working',
    states: {
      working: {
        invoke: {
          id: `${id}.work`,
          src: 'work',
          input: ({ context }) => context.step,
          onDone: { target: 'done', actions: assign({ output: ({ event }) => event.output }) },
          onError: {
            target: 'done',
            actions: assign({
              output: ({ event }) => ({ ok: false as const, reason: errorText(event.error) }),
            }),
          },
        },
      },
      done: { type: 'final' },
    },
    output: ({ context }) => context.output ?? { ok: false, reason: `${id} stopped without output` },
  });
}
