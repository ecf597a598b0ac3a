// Model settings over the API are what the actors use: changed while a task waits at its plan gate, the very
// next calls go to the other (scripted) endpoint with the org's key, without restarting anything; the key is
// stored sealed and shows up in no event, trace, answer or board entry.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { keys, OrgModelSettings } from '../schemas/index.ts';
import { makeFixtureRepo } from './fixture-repo.ts';
import { type Harness, startHarness } from './harness.ts';
import { type RecordedCall, type Script, type ScriptedLlm, startScriptedLlm } from './scripted-llm/index.ts';
import { APPROVE, subtractCoder } from './ts-calc-answers.ts';

const ORG_KEY = 'sk-org-secret-0123456789abcdef';

const script: Script = (req) => {
  const { roleHint } = req;
  const usage = { prompt_tokens: 50, completion_tokens: 10 };
  if (roleHint === 'planner')
    return {
      usage,
      content: JSON.stringify({
        summary: 'fix subtract',
        subtasks: [
          { id: 'fix', title: 'Fix subtract', successCriteria: ['tests pass'], files: ['src/calc.ts'] },
        ],
      }),
    };
  if (roleHint === 'reviewer') return APPROVE;
  return subtractCoder(req);
};

let h: Harness;
let other: ScriptedLlm;
beforeAll(async () => {
  h = await startHarness();
  h.setScript(script);
  // The second endpoint answers only with the org's key: a call that reaches it proves the key was opened.
  other = await startScriptedLlm(script, { requireApiKey: ORG_KEY, models: ['org-model'] });
});
afterAll(async () => {
  await h?.stop();
  await other?.close();
});

const forTask = (calls: RecordedCall[], id: string) =>
  calls.filter((c) => c.headers['x-codemesh-task-id'] === id && c.callIndex !== undefined);
const roles = (calls: RecordedCall[]) => calls.map((c) => c.roleHint);

async function submit(gates: string[] = []): Promise<string> {
  const res = await h.api('/v1/tasks', {
    method: 'POST',
    body: JSON.stringify({ repo: makeFixtureRepo('ts-calc'), title: 'Fix subtract', approve: 'auto', gates }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { task: { id: string } }).task.id;
}

async function setModels(roles: Record<string, unknown>): Promise<void> {
  const res = await h.api('/v1/config/models', {
    method: 'POST',
    body: JSON.stringify({ org: 'default', roles }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  expect(await res.text()).not.toContain(ORG_KEY);
}

it('settings changed over the API move the next model calls to another endpoint, without a restart', async () => {
  // Planned with the environment's endpoint; the settings change while the task waits at its plan gate.
  const first = await submit(['post-plan']);
  await h.waitForStatus(first, 'awaiting_plan_approval');
  expect(roles(forTask(h.llm.calls, first))).toEqual(['planner']);
  await setModels({ default: { baseUrl: other.url, model: 'org-model', apiKey: ORG_KEY } });
  const approve = await h.api(`/v1/tasks/${first}/plan/approve`, {
    method: 'POST',
    body: JSON.stringify({ decision: 'approve' }),
  });
  expect(approve.status).toBe(202);
  await h.waitForStatus(first, 'completed');
  expect(roles(forTask(h.llm.calls, first))).toEqual(['planner']);
  const moved = forTask(other.calls, first);
  expect(new Set(roles(moved))).toEqual(new Set(['coder', 'reviewer']));
  for (const c of moved) {
    expect(c.headers.authorization).toBe(`Bearer ${ORG_KEY}`);
    expect((c.body as { model: string }).model).toBe('org-model');
  }
  expect(other.errors).toEqual([]);

  // A role's own setting wins over the org default: the Coder back on the first endpoint, the rest stay.
  await setModels({ coder: { baseUrl: h.llm.url, model: 'scripted-model' } });
  const second = await submit();
  await h.waitForStatus(second, 'completed');
  expect(new Set(roles(forTask(h.llm.calls, second)))).toEqual(new Set(['coder']));
  expect(new Set(roles(forTask(other.calls, second)))).toEqual(new Set(['planner', 'reviewer']));

  // The key: sealed on the board and in the record, in no event, trace or answer; the key file is 0600.
  const board = (await h.client.board.get(keys.models('default'), OrgModelSettings))!.value;
  expect(board.roles.default!.apiKeySealed).toMatch(/^v1:/);
  expect(JSON.stringify(board)).not.toContain(ORG_KEY);
  expect(statSync(join(h.dataDir, 'secret.key')).mode & 0o777).toBe(0o600);
  for (const id of [first, second]) {
    expect(JSON.stringify(await h.client.bus.history(id))).not.toContain(ORG_KEY);
    expect(await (await h.api(`/v1/traces/${id}`)).text()).not.toContain(ORG_KEY);
    expect(await (await h.api(`/v1/tasks/${id}`)).text()).not.toContain(ORG_KEY);
  }
  expect(await (await h.api('/v1/config/models?org=default')).text()).not.toContain(ORG_KEY);
  // The planner and coder prompts went to the endpoints; the key never went into a prompt.
  for (const c of [...h.llm.calls, ...other.calls])
    expect(JSON.stringify(c.body ?? '')).not.toContain(ORG_KEY);
}, 240_000);
