// Scripted answers that whole-mesh tests on the ts-calc fixture share: the edit that fixes subtract(), an
// approving review, and a stateless Coder (decided from the conversation, so a step re-run gets the same).
import type { ScriptedReply, ScriptRequest } from './scripted-llm/index.ts';

export const USAGE = { prompt_tokens: 50, completion_tokens: 10 };

/** The Planner's one-subtask plan for the subtract bug. */
export const SUBTRACT_PLAN = {
  summary: 'Fix subtract in the calculator',
  subtasks: [
    {
      id: 'fix',
      title: 'Make subtract return a - b',
      successCriteria: ['subtract(5, 3) == 2'],
      files: ['src/calc.ts'],
    },
  ],
  risks: [],
};

export const SUBTRACT_EDIT = `src/calc.ts
<<<<<<< SEARCH
export function subtract(a: number, b: number): number {
  return a + b;
=======
export function subtract(a: number, b: number): number {
  return a - b;
>>>>>>> REPLACE
`;

export const APPROVE: ScriptedReply = {
  usage: USAGE,
  content: JSON.stringify({ decision: 'approve', confidence: 0.9, critique: 'ok', risks: [] }),
};

/** The Coder: reads src/calc.ts once, then sends the edit. */
export function subtractCoder(req: ScriptRequest): ScriptedReply {
  const sawTool = (req.body.messages ?? []).some((m) => m.role === 'tool');
  return sawTool
    ? { usage: USAGE, content: SUBTRACT_EDIT }
    : { usage: USAGE, toolCalls: [{ name: 'read_file', arguments: { path: 'src/calc.ts' } }] };
}
