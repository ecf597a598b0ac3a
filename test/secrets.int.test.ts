// Secrets in a model's patch, on the whole mesh (issue 14 item 1): the Coder's edit adds an AWS access key id.
// The clear value must reach no blackboard entry, event, record row, trace or later prompt; the patch holding
// it is refused (never approved nor integrated); the next attempt, told rule/file/line, removes it. The first
// reply's block misses, so the Coder's own retry prompt carries that reply back (redacted) too.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { schema } from '../actors/recorder/index.ts';
import { keys, Patch, Review } from '../schemas/index.ts';
import { git, makeFixtureRepo } from './fixture-repo.ts';
import { type Harness, startHarness } from './harness.ts';
import type { Script, ScriptRequest } from './scripted-llm/index.ts';
import { startTask } from './task-run.ts';
import { APPROVE, SUBTRACT_PLAN, USAGE } from './ts-calc-answers.ts';

// A realistic key id (not AWS's documented EXAMPLE one), built so this file holds no scannable literal.
const KEY = `AKIA${'Z7Q4RT2XW9L3M6NB'}`;
const MARKER = '[REDACTED:aws-access-key-id]';

const LEAKY_EDIT = `src/calc.ts
<<<<<<< SEARCH
export function subtract(a: number, b: number): number {
  return a + b;
=======
export const AWS_KEY = "${KEY}";

export function subtract(a: number, b: number): number {
  return a - b;
>>>>>>> REPLACE
`;

// A first reply whose block matches nothing: the Coder sends the errors back with its reply in the history.
const MISSED_EDIT = LEAKY_EDIT.replace('  return a + b;\n=======', '  return a * b;\n=======');

// The revision starts from the redacted patch: the marker is in its tree, and it reads the key from the env.
const CLEAN_EDIT = `src/calc.ts
<<<<<<< SEARCH
export const AWS_KEY = "${MARKER}";
=======
export const AWS_KEY = process.env.AWS_ACCESS_KEY_ID ?? '';
>>>>>>> REPLACE
`;

const prompt = (req: ScriptRequest) => JSON.stringify(req.body.messages ?? []);

const script: Script = (req) => {
  if (req.roleHint === 'planner') return { usage: USAGE, content: JSON.stringify(SUBTRACT_PLAN) };
  if (req.roleHint === 'reviewer') return APPROVE;
  const p = prompt(req);
  if (p.includes('looks like a secret')) return { usage: USAGE, content: CLEAN_EDIT };
  return { usage: USAGE, content: p.includes('could not be applied') ? LEAKY_EDIT : MISSED_EDIT };
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  h.setScript(script);
});
afterAll(async () => h?.stop());

it('a patch adding an AWS key is redacted everywhere, refused, and the next attempt removes the key', {
  timeout: 240_000,
}, async () => {
  const repo = makeFixtureRepo('ts-calc');
  const base = git(repo, 'rev-parse', 'HEAD');
  const { id, events: sse } = await startTask(h, {
    repo,
    title: 'Fix subtract',
    description: 'subtract(5, 3) returns 8, expected 2.',
  });

  const gate = (await h.waitForStatus(id, 'awaiting_approval', 150_000)) as {
    task: { approvable?: string[]; attempt: number };
  };
  // Only the clean second patch is approvable.
  expect(gate.task.attempt).toBe(2);
  expect(gate.task.approvable).toEqual([`${id}-p2`]);

  // The blackboard's patch entry: the redacted diff and the finding (rule, file, line), never the key.
  const p1 = await h.client.board.get(keys.patch(`${id}-p1`), Patch);
  expect(p1).toBeDefined();
  expect(JSON.stringify(p1!.value)).not.toContain(KEY);
  expect(p1!.value.diff).toContain(`+export const AWS_KEY = "${MARKER}";`);
  expect(p1!.value.diff).toContain('+  return a - b;');
  expect(p1!.value.secrets).toEqual([
    {
      ruleId: 'aws-access-key-id',
      description: 'AWS access key id',
      file: 'src/calc.ts',
      line: 5,
      preview: `export const AWS_KEY = "${MARKER}";`,
    },
  ]);
  // Refused without asking the reviewer model: the review names rule, file and line.
  const r1 = await h.client.board.get(keys.review(id, 1), Review);
  expect(r1!.value.decision).toBe('revise');
  expect(r1!.value.critique).toContain('aws-access-key-id');
  expect(r1!.value.critique).toContain('src/calc.ts:5');
  const p2 = await h.client.board.get(keys.patch(`${id}-p2`), Patch);
  expect(p2!.value.secrets).toBeUndefined();

  // No prompt the model received holds the key; the revision's prompt holds the critique and the marker.
  const coderCalls = h.llm.calls.filter((c) => c.roleHint === 'coder');
  for (const c of h.llm.calls) expect(JSON.stringify(c.body)).not.toContain(KEY);
  // The retry within attempt 1 got its own earlier reply back, redacted.
  const retry = coderCalls.map((c) => JSON.stringify(c.body)).find((p) => p.includes('could not be applied'));
  expect(retry).toContain('return a * b');
  expect(retry).toContain(MARKER);
  const revision = coderCalls
    .map((c) => JSON.stringify(c.body))
    .find((p) => p.includes('looks like a secret'));
  expect(revision).toBeDefined();
  expect(revision).toContain('src/calc.ts:5');
  expect(revision).toContain(MARKER);
  expect(h.llm.calls.filter((c) => c.roleHint === 'reviewer')).toHaveLength(1);

  const approved = await h.api(`/v1/patches/${id}-p2/approve`, {
    method: 'POST',
    body: JSON.stringify({ decision: 'approve' }),
  });
  expect(approved.status).toBe(202);
  await h.waitForStatus(id, 'completed', 120_000);
  const branch = `codemesh/${id}`;
  expect(git(repo, 'log', '-1', '--format=%B', branch)).toContain(`Codemesh-Patch: ${id}-p2`);
  const integrated = git(repo, 'diff', base, branch);
  expect(integrated).toContain("process.env.AWS_ACCESS_KEY_ID ?? ''");
  expect(integrated).not.toContain(KEY);
  expect(integrated).not.toContain('REDACTED');

  // The event stream: the finding is there (rule, file, line), the key is not.
  const events = (await sse).map((e) => e.event);
  expect(JSON.stringify(events)).not.toContain(KEY);
  const proposed = events.filter((e) => e.type === 'patch.proposed');
  expect(proposed[0]?.data).toMatchObject({
    patchId: `${id}-p1`,
    secrets: [expect.objectContaining({ ruleId: 'aws-access-key-id', file: 'src/calc.ts', line: 5 })],
  });
  expect(proposed[1]?.data.secrets).toBeUndefined();

  // The task resource, the record (patches and traces rows) and the trace export.
  expect(await (await h.api(`/v1/tasks/${id}`)).text()).not.toContain(KEY);
  expect(await (await h.api(`/v1/traces/${id}`)).text()).not.toContain(KEY);
  const rows = await h.record.db.select().from(schema.patches).where(eq(schema.patches.taskId, id));
  expect(rows.map((r) => r.id).sort()).toEqual([`${id}-p1`, `${id}-p2`]);
  expect(JSON.stringify(rows)).not.toContain(KEY);
  const traces = await h.record.db.select().from(schema.traces).where(eq(schema.traces.taskId, id));
  expect(traces.length).toBeGreaterThan(0);
  expect(JSON.stringify(traces)).not.toContain(KEY);
});
