// One model call on behalf of a step, with its tokens and cost appended to the task's ledger.
import type { Blackboard } from '../../blackboard/index.ts';
import { type CostEntry, CostLedger, keys } from '../../schemas/index.ts';
import { type ChatRequest, type ChatResult, toCostEntry } from '../llm/index.ts';
import type { StepInput } from './types.ts';

/** Appends a cost entry to the task's ledger once (keyed by call id), under compare-and-set. */
export async function appendCost(board: Blackboard, taskId: string, entry: CostEntry): Promise<void> {
  await board.mutate(keys.cost(taskId), CostLedger, (cur) => {
    const ledger = cur ?? {
      taskId,
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
}

/** Appends a step's model call to the task's ledger and says so with a `cost.recorded` event. */
export async function recordCost(input: StepInput, role: string, result: ChatResult): Promise<void> {
  const entry = toCostEntry(result, role, new Date(input.deps.now()));
  await appendCost(input.mesh.board, input.task.id, entry);
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
  const models = input.deps.models(role, { orgId: input.task.orgId });
  const result = await models.chat({ ...req, role, taskId: input.task.id });
  await recordCost(input, role, result);
  return result;
}

/**
 * Parses a JSON object out of a model answer: the whole answer, else the first balanced `{...}` that parses
 * (scanned with string literals respected, so a ``` fence or a brace inside a JSON string never cuts it).
 * A ```json fence around the object needs no special case: the scan starts inside it.
 */
export function extractJson(text: string | null): unknown {
  if (!text) throw new Error('the answer was empty; reply with a JSON object');
  const whole = text.trim();
  let firstError: string | undefined;
  const tryParse = (candidate: string): unknown => {
    try {
      const v: unknown = JSON.parse(candidate);
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
    } catch (err) {
      firstError ??= (err as Error).message;
      return undefined;
    }
  };
  if (whole.startsWith('{')) {
    const v = tryParse(whole);
    if (v !== undefined) return v;
  }
  // Each start is one linear scan; a bounded number of them keeps a hostile answer cheap.
  let tries = 0;
  for (let start = whole.indexOf('{'); start >= 0 && tries < 64; start = whole.indexOf('{', start + 1)) {
    tries++;
    const end = balancedEnd(whole, start);
    if (end < 0) continue;
    const v = tryParse(whole.slice(start, end + 1));
    if (v !== undefined) return v;
  }
  if (firstError) throw new Error(`the JSON object does not parse: ${firstError}`);
  throw new Error('no JSON object found in the answer; reply with one JSON object');
}

/** Index of the `}` closing the `{` at `start` (strings and escapes respected), or -1. */
function balancedEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  return -1;
}
