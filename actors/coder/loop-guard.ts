// Loop guards of the Coder: the same tool call (name and arguments) or the same edit reply, repeated, stops the
// step with a clear failure instead of letting a model that goes round in circles spend its turns and budget.
import { createHash } from 'node:crypto';
import type { AssistantMessage } from '../llm/index.ts';

/** How many identical tool calls, and identical edit replies, stop the step. */
export const REPEAT_LIMIT = { toolCall: 3, edit: 2 } as const;

export interface Repeat {
  /** What was repeated, for the failure reason: `read_file {"path":"src/a.ts"}` or `the same edit reply`. */
  what: string;
  times: number;
}

/**
 * Counts the answer's tool calls and edit reply into `seen` (a new object) and names the first repeat that
 * reached its limit, if any.
 *
 * @example
 * const { seen, repeat } = noteRepeats(context.seen, result.message);
 * if (repeat) fail(`loop guard: ${repeat.what} ${repeat.times} times`);
 */
export function noteRepeats(
  before: Readonly<Record<string, number>>,
  message: AssistantMessage,
): { seen: Record<string, number>; repeat?: Repeat } {
  const seen = { ...before };
  let repeat: Repeat | undefined;
  const count = (key: string, limit: number, what: string) => {
    seen[key] = (seen[key] ?? 0) + 1;
    if (!repeat && seen[key] >= limit) repeat = { what, times: seen[key] };
  };
  if (message.tool_calls?.length) {
    for (const call of message.tool_calls) {
      const args = canonicalArgs(call.function.arguments);
      const shown = `${call.function.name} ${args.length > 200 ? `${args.slice(0, 200)}…` : args}`;
      count(`tool:${call.function.name}:${args}`, REPEAT_LIMIT.toolCall, `the tool call ${shown}`);
    }
  } else {
    const text = (message.content ?? '').trim();
    if (text) {
      const digest = createHash('sha256').update(text).digest('hex').slice(0, 16);
      count(`edit:${digest}`, REPEAT_LIMIT.edit, `the same edit reply (sha256 ${digest})`);
    }
  }
  return repeat ? { seen, repeat } : { seen };
}

/** Arguments with their keys sorted, so `{"b":1,"a":2}` and `{"a":2,"b":1}` are the same call. */
function canonicalArgs(raw: string): string {
  try {
    return JSON.stringify(sortKeys(JSON.parse(raw)));
  } catch {
    return raw.trim();
  }
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  return v;
}
