// A SAST finding on the whole mesh (issue 14 item 1): the Coder's edit runs a command with shell=True. The
// policy report is on the patch before review; the Reviewer refuses it without a model call, with the rule's
// remediation in its critique; the next attempt, told so, uses an argument list and is the only approvable one.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { schema } from '../actors/recorder/index.ts';
import { keys, Patch, Review } from '../schemas/index.ts';
import { git, makeFixtureRepo } from './fixture-repo.ts';
import { type Harness, startHarness } from './harness.ts';
import type { Script, ScriptRequest } from './scripted-llm/index.ts';
import { startTask } from './task-run.ts';
import { APPROVE, USAGE } from './ts-calc-answers.ts';

const PLAN = {
  summary: 'Fix subtract and add a command runner',
  subtasks: [
    {
      id: 'fix',
      title: 'Make subtract return a - b',
      successCriteria: ['subtract(5, 3) == 2'],
      files: ['calc.py'],
    },
  ],
  risks: [],
};

const SHELL_EDIT = `calc.py
<<<<<<< SEARCH
def subtract(a, b):
    return a + b
=======
def subtract(a, b):
    return a - b


def run(cmd):
    import subprocess
    return subprocess.run(cmd, shell=True)
>>>>>>> REPLACE
`;

const SAFE_EDIT = `calc.py
<<<<<<< SEARCH
    return subprocess.run(cmd, shell=True)
=======
    return subprocess.run(cmd.split())
>>>>>>> REPLACE
`;

const prompt = (req: ScriptRequest) => JSON.stringify(req.body.messages ?? []);
const script: Script = (req) => {
  if (req.roleHint === 'planner') return { usage: USAGE, content: JSON.stringify(PLAN) };
  if (req.roleHint === 'reviewer') return APPROVE;
  return { usage: USAGE, content: prompt(req).includes('The policy check blocks') ? SAFE_EDIT : SHELL_EDIT };
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  h.setScript(script);
});
afterAll(async () => h?.stop());

it('a patch with shell=True is blocked at review with the remediation; the fixed one is approvable', {
  timeout: 240_000,
}, async () => {
  const repo = makeFixtureRepo('py-calc');
  const { id, events } = await startTask(h, {
    repo,
    title: 'Fix subtract',
    description: 'subtract(5, 3) returns 8, expected 2. Also add run(cmd) that runs a command.',
  });
  const gate = (await h.waitForStatus(id, 'awaiting_approval', 180_000)) as {
    task: { approvable?: string[]; attempt: number };
  };
  expect(gate.task.attempt).toBe(2);
  expect(gate.task.approvable).toEqual([`${id}-p2`]);

  // The report is on the patch (blackboard and API): the finding with its CWE, line and remediation.
  const p1 = (await h.client.board.get(keys.patch(`${id}-p1`), Patch))!.value;
  expect(p1.policy).toMatchObject({ bundle: 'default-1', blocked: true, counts: { sast: 1 } });
  expect(p1.policy!.findings).toEqual([
    expect.objectContaining({
      kind: 'sast',
      ruleId: 'py-subprocess-shell',
      cwe: 'CWE-78',
      enforcement: 'block',
      file: 'calc.py',
      line: 11,
      remediation: expect.stringContaining('without shell=True'),
    }),
  ]);
  expect(p1.summary).toContain('1 policy finding(s) blocking');
  const fromApi = (await (await h.api(`/v1/patches/${id}-p1`)).json()) as { patch: Patch };
  expect(fromApi.patch.policy?.findings[0]?.ruleId).toBe('py-subprocess-shell');

  // Refused without asking the reviewer model; the critique carries the remediation to attempt 2.
  const r1 = (await h.client.board.get(keys.review(id, 1), Review))!.value;
  expect(r1.decision).toBe('revise');
  expect(r1.critique).toContain('py-subprocess-shell (CWE-78) at calc.py:11');
  expect(r1.critique).toContain('without shell=True');
  expect(h.llm.calls.filter((c) => c.roleHint === 'reviewer')).toHaveLength(1);
  const revision = h.llm.calls
    .filter((c) => c.roleHint === 'coder')
    .map((c) => JSON.stringify(c.body))
    .find((p) => p.includes('The policy check blocks'));
  expect(revision).toContain('calc.py:11');

  const p2 = (await h.client.board.get(keys.patch(`${id}-p2`), Patch))!.value;
  expect(p2.policy).toMatchObject({ blocked: false, findings: [] });

  const approved = await h.api(`/v1/patches/${id}-p2/approve`, {
    method: 'POST',
    body: JSON.stringify({ decision: 'approve' }),
  });
  expect(approved.status).toBe(202);
  await h.waitForStatus(id, 'completed', 120_000);
  expect(git(repo, 'show', `codemesh/${id}:calc.py`)).toContain('subprocess.run(cmd.split())');

  const proposed = (await events).map((e) => e.event).filter((e) => e.type === 'patch.proposed');
  expect(proposed.map((e) => (e.data.policy as { blocked: boolean } | undefined)?.blocked)).toEqual([
    true,
    false,
  ]);
});

it('with its revisions used up on a block, the patch waits at the gate; only an approver’s override lets it through', {
  timeout: 240_000,
}, async () => {
  h.setScript((req) =>
    req.roleHint === 'planner'
      ? { usage: USAGE, content: JSON.stringify(PLAN) }
      : req.roleHint === 'reviewer'
        ? APPROVE
        : { usage: USAGE, content: SHELL_EDIT },
  );
  const repo = makeFixtureRepo('py-calc');
  const created = await h.api('/v1/tasks', {
    method: 'POST',
    body: JSON.stringify({
      repo,
      title: 'Fix subtract and add run(cmd)',
      description: 'subtract(5, 3) returns 8, expected 2. Also add run(cmd) that runs a shell command line.',
      approve: 'auto',
      budget: { maxAttempts: 1 },
    }),
  });
  expect(created.status).toBe(201);
  const id = ((await created.json()) as { task: { id: string } }).task.id;
  // Auto-approval does not apply: the block needs a human.
  const gate = (await h.waitForStatus(id, 'awaiting_approval', 180_000)) as {
    task: { approvable?: string[]; workflow: { context: Record<string, unknown> } };
  };
  expect(gate.task.approvable).toEqual([`${id}-p1`]);
  expect(gate.task.workflow.context.policyBlocked).toEqual(['py-subprocess-shell']);
  const approve = (body: unknown) =>
    h.api(`/v1/patches/${id}-p1/approve`, { method: 'POST', body: JSON.stringify(body) });
  const refused = await approve({ decision: 'approve' });
  expect(refused.status).toBe(409);
  expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('POLICY_BLOCKED');
  expect(
    (await approve({ decision: 'approve', override: { reason: 'run() is for our own scripts' } })).status,
  ).toBe(202);
  await h.waitForStatus(id, 'completed', 120_000);
  expect(git(repo, 'show', `codemesh/${id}:calc.py`)).toContain('shell=True');
  const p1 = (await h.client.board.get(keys.patch(`${id}-p1`), Patch))!.value;
  expect(p1.policy?.override).toMatchObject({
    reason: 'run() is for our own scripts',
    ruleIds: ['py-subprocess-shell'],
  });
  const audit = await h.record.db
    .select()
    .from(schema.auditLog)
    .where(eq(schema.auditLog.action, 'patch.policy_override'));
  expect(audit.map((a) => a.target)).toEqual([`${id}-p1`]);
});
