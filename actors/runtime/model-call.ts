// One model call on behalf of a step, with its tokens and cost appended to the task's ledger.
import { CostLedger, keys } from '../../schemas/index.ts';
import { type ChatRequest, type ChatResult, toCostEntry } from '../llm/index.ts';
import type { StepInput } from './types.ts';

/** Appends a cost entry once (keyed by call id), under compare-and-set. */
export async function recordCost(input: StepInput, role: string, result: ChatResult): Promise<void> {
  const entry = toCostEntry(result, role, new Date(input.deps.now()));
  await input.mesh.board.mutate(keys.cost(input.task.id), CostLedger, (cur) => {
    const ledger = cur ?? {
      taskId: input.task.id,
      entries: [],
      totals: { promptTokens: 0, completionTokens: 0, costUsd: 0, calls: 0 },
    };
    if (ledger.entries.some((e) => e.callId === entry.callId)) return undefined;
    return {
      ...ledger,
      entries: [...ledger.entries, entry],
      totals: {
        promptTokens: ledger.totals.promptTokens + entry.promptTokens,
        completionTokens: ledger.totals.completionTokens + entry.completionTokens,
        costUsd: ledger.totals.costUsd + entry.costUsd,
        calls: ledger.totals.calls + 1,
      },
    };
  });
  await input.deps.emit({
    id: `cost:${entry.callId}`,
    taskId: input.task.id,
    type: 'cost.recorded',
    step: { kind: input.kind, attempt: input.attempt, round: input.round },
    data: {
      role,
      model: entry.model,
      promptTokens: entry.promptTokens,
      completionTokens: entry.completionTokens,
      costUsd: entry.costUsd,
    },
  });
}

export async function callModel(
  input: StepInput,
  role: 'planner' | 'coder' | 'reviewer',
  req: Omit<ChatRequest, 'role' | 'taskId'>,
): Promise<ChatResult> {
  const result = await input.deps.models(role).chat({ ...req, role, taskId: input.task.id });
  await recordCost(input, role, result);
  return result;
}

/** Parses a JSON object out of a model answer (tolerating a ```json fence around it). */
export function extractJson(text: string | null): unknown {
  if (!text) throw new Error('the answer was empty; reply with a JSON object');
  const fenced = /```(?:json)?\s*([\s\S]*?)```/.exec(text);
  const body = (fenced ? fenced[1]! : text).trim();
  const start = body.indexOf('{');
  const end = body.lastIndexOf('}');
  if (start < 0 || end < start)
    throw new Error('no JSON object found in the answer; reply with one JSON object');
  try {
    return JSON.parse(body.slice(start, end + 1));
  } catch (err) {
    throw new Error(`the JSON object does not parse: ${(err as Error).message}`);
  }
}
