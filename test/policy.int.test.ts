// A SAST finding on the whole mesh (issue 14 item 1): the Coder's edit runs a command with shell=True. The
// policy report is on the patch before review; the Reviewer refuses it without a model call, with the rule's
// remediation in its critique; the next attempt, told so, uses an argument list and is the only approvable one.
import { afterAll, beforeAll, expect, it } from 'vitest';
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
