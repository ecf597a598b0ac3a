// askJson sends the answer's schema with the request (the local model's grammar is built from it) and still
// checks the answer itself: an invalid one goes back to the model with the reason.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { MeshConnection } from '../../blackboard/index.ts';
import { ReviewVerdict } from '../../schemas/index.ts';
import { type NatsFixture, startNatsFixture } from '../../test/nats.ts';
import { planningTask } from '../../test/task-record.ts';
import type { ChatRequest, ModelClient } from '../llm/index.ts';
import { askJson } from './ask-json.ts';
import { DEFAULT_MODEL_GUARD } from './guard-options.ts';
import type { StepInput } from './types.ts';

let nats: NatsFixture;
let mesh: MeshConnection;
beforeAll(async () => {
  nats = await startNatsFixture();
  mesh = await nats.connect('ask-json');
});
afterAll(async () => nats?.stop());

describe('askJson', () => {
  it('sends the schema as JSON Schema with every try and checks the answer against the zod schema', async () => {
    const seen: ChatRequest[] = [];
    const answers = [
      '{"decision": "approve", "confidence": 7, "critique": "x", "risks": []}',
      '{"decision": "approve", "confidence": 0.9, "critique": "fine", "risks": []}',
    ];
    const client: ModelClient = {
      model: 'fake',
      baseURL: 'local:/models/fake.gguf',
      async chat(req) {
        seen.push(req);
        return {
          message: { role: 'assistant', content: answers[seen.length - 1] ?? null },
          usage: { promptTokens: 1, completionTokens: 1 },
          costUsd: 0,
          callId: `c${seen.length}`,
          model: 'fake',
          latencyMs: 1,
          finishReason: 'stop',
        };
      },
    };
    const task = planningTask('t-askjson1');
    const step: StepInput = {
      mesh,
      task: { ...task, request: { ...task.request, budget: { ...task.request.budget, maxTokens: 1e6 } } },
      kind: 'review',
      attempt: 1,
      round: 1,
      stepId: 't-askjson1:review:1',
      instanceId: 'reviewer-1',
      deps: {
        dataDir: '/tmp',
        models: () => client,
        emit: async () => undefined,
        now: Date.now,
        sandbox: undefined as never,
        modelGuard: DEFAULT_MODEL_GUARD,
      },
    };
    const { value } = await askJson(step, 'reviewer', [{ role: 'user', content: 'review' }], ReviewVerdict);
    expect(value.confidence).toBe(0.9);
    expect(seen).toHaveLength(2);
    for (const req of seen) {
      expect(req.responseFormat).toBe('json');
      expect(req.jsonSchema).toEqual(z.toJSONSchema(ReviewVerdict, { unrepresentable: 'any' }));
    }
    // The first answer (confidence 7) went back with the reason.
    expect(seen[1]!.messages.at(-1)?.content).toMatch(/confidence/);
  });
});
