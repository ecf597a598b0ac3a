// Asks a model for a JSON object of a given schema (sent along as JSON Schema, which the local model's grammar
// enforces); an invalid answer goes back to the model with the reason.
import { z } from 'zod';
import type { ChatMessage } from '../llm/index.ts';
import { callModel, extractJson } from './model-call.ts';
import type { StepInput } from './types.ts';

export class StepFailure extends Error {
  override readonly name = 'StepFailure';
  readonly code = 'STEP_FAILED';
}

export async function askJson<S extends z.ZodType>(
  input: StepInput,
  role: 'planner' | 'reviewer',
  messages: ChatMessage[],
  schema: S,
  opts: { maxTries?: number; signal?: AbortSignal } = {},
): Promise<{ value: z.infer<S>; messages: ChatMessage[] }> {
  const convo = [...messages];
  const maxTries = opts.maxTries ?? 3;
  const jsonSchema = jsonSchemaOf(schema);
  let lastError = '';
  for (let i = 0; i < maxTries; i++) {
    const res = await callModel(input, role, {
      messages: convo,
      responseFormat: 'json',
      ...(jsonSchema ? { jsonSchema } : {}),
      signal: opts.signal,
    });
    convo.push(res.message);
    try {
      const parsed = schema.safeParse(extractJson(res.message.content));
      if (parsed.success) return { value: parsed.data, messages: convo };
      lastError = parsed.error.issues
        .map((iss) => `${iss.path.join('.') || '(root)'}: ${iss.message}`)
        .join('; ');
    } catch (err) {
      lastError = (err as Error).message;
    }
    convo.push({
      role: 'user',
      content: `Your answer was not accepted: ${lastError}. Reply again with only the corrected JSON object.`,
    });
  }
  throw new StepFailure(`${role} gave no valid answer in ${maxTries} tries; last problem: ${lastError}`);
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The schema as JSON Schema, for models that constrain their output to it (the local model); else none. */
function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> | undefined {
  try {
    return z.toJSONSchema(schema, { unrepresentable: 'any' }) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
