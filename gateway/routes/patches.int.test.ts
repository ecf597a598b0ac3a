// The patch gate over HTTP: a change request needs a comment; the patch it was about stays approvable while
// its revision runs (and after, when the task comes back to the gate with it); decisions are recorded with
// the earlier ones, published once each, and documented in the OpenAPI document (the mesh side: test/).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { schema } from '../../actors/recorder/index.ts';
import { projectEvent } from '../../actors/recorder/project.ts';
import { seedTask } from '../../actors/recorder/test-scenario.ts';
import { Approval, keys, Patch, type PolicyReport, TaskRecord } from '../../schemas/index.ts';
import { userIdFor } from '../auth.ts';
import { DEV, ISSUER, startTestGateway, type TestGateway } from '../test-setup.ts';

let g: TestGateway;
beforeAll(async () => {
  g = await startTestGateway();
});
afterAll(async () => g?.stop());

const errorOf = async (res: Response) =>
  ((await res.json()) as { error: { code: string; message: string; fields?: Array<{ path: string }> } })
    .error;
const decide = (pid: string, body: unknown) => g.call('POST', `/v1/patches/${pid}/approve`, DEV, body);
/** Moves the seeded task's workflow on, as the conductor would. */
const setWorkflow = (id: string, value: string, context: Record<string, unknown>) =>
  g.mesh.board.mutate(keys.task(id), TaskRecord, (t) =>
    t
      ? {
          ...t,
          status: value as TaskRecord['status'],
          workflow: { value, context: { ...t.workflow.context, ...context } },
        }
      : undefined,
  );
const eventsOf = async (id: string) =>
  (await g.mesh.bus.history(id))
    .map((e) => e.event)
    .filter((e) => e.type === 'approval.granted' || e.type === 'approval.changes_requested');

describe('POST /v1/patches/{id}/approve', () => {
  it('refuses a change request without a comment (400, nothing recorded or published)', async () => {
    const id = 't-dddddd000001';
    await seedTask(g.mesh, { id, repoPath: g.repoA });
    for (const body of [
      { decision: 'request_changes' },
      { decision: 'request_changes', comment: '' },
      { decision: 'request_changes', comment: '  \n\t ' },
    ]) {
      const res = await decide(`${id}-p1`, body);
      expect(res.status).toBe(400);
      const e = await errorOf(res);
      expect(e.code).toBe('INVALID_REQUEST');
      expect(e.fields?.map((f) => f.path)).toEqual(['comment']);
    }
    expect(await g.mesh.board.get(keys.approval(`${id}-p1`), Approval)).toBeUndefined();
    expect(await eventsOf(id)).toEqual([]);
  });

  it('keeps the patch approvable while its revision runs; an approval after a change request is recorded with it', async () => {
    const id = 't-dddddd000002';
    const pid = `${id}-p1`;
    await seedTask(g.mesh, { id, repoPath: g.repoA });
    const asked = await decide(pid, { decision: 'request_changes', comment: 'also handle NaN' });
    expect(asked.status).toBe(202);
    // The conductor takes the change request: attempt 2 codes, patch 1 kept.
    await setWorkflow(id, 'coding', { attempt: 2, keptPatchId: pid });
    // Sending it back a second time while the revision runs: refused, saying what can be done.
    const again = await decide(pid, { decision: 'request_changes', comment: 'and Infinity' });
    expect(again.status).toBe(409);
    expect(await errorOf(again)).toMatchObject({
      code: 'NOT_AWAITING_APPROVAL',
      message: expect.stringMatching(/may be approved/),
    });
    // A retry of the same request is accepted again (and published once).
    expect((await decide(pid, { decision: 'request_changes', comment: 'also handle NaN' })).status).toBe(202);
    const ok = await decide(pid, { decision: 'approve', comment: 'the first one will do' });
    expect(ok.status).toBe(202);
    const { approval } = (await ok.json()) as { approval: Approval };
    expect(approval).toMatchObject({
      decision: 'approve',
      comment: 'the first one will do',
      gate: 1,
      earlier: [{ decision: 'request_changes', comment: 'also handle NaN', gate: 1 }],
    });
    expect((await eventsOf(id)).map((e) => [e.type, e.id])).toEqual([
      ['approval.changes_requested', `${pid}:request_changes:g1`],
      ['approval.granted', `${pid}:approve:g1`],
    ]);
    // An approval is final.
    await setWorkflow(id, 'awaiting_approval', { gate: 2 });
    const after = await decide(pid, { decision: 'request_changes', comment: 'no, wait' });
    expect(after.status).toBe(409);
    expect((await errorOf(after)).code).toBe('ALREADY_DECIDED');
  });

  it('back at the gate with the kept patch: a new change request, or none when no attempt is left', async () => {
    const id = 't-dddddd000003';
    const pid = `${id}-p1`;
    await seedTask(g.mesh, { id, repoPath: g.repoA });
    expect((await decide(pid, { decision: 'request_changes', comment: 'rename it' })).status).toBe(202);
    // The revision failed: back at the gate (second arrival) with patch 1, attempts left.
    await setWorkflow(id, 'awaiting_approval', { attempt: 2, keptPatchId: pid, gate: 2 });
    const second = await decide(pid, { decision: 'request_changes', comment: 'rename it' });
    expect(second.status).toBe(202);
    expect(((await second.json()) as { approval: Approval }).approval).toMatchObject({
      gate: 2,
      earlier: [{ gate: 1, comment: 'rename it' }],
    });
    // Third arrival, attempts used up: the change request is refused, the patch still approvable.
    await setWorkflow(id, 'awaiting_approval', { attempt: 3, gate: 3 });
    const none = await decide(pid, { decision: 'request_changes', comment: 'once more' });
    expect(none.status).toBe(409);
    expect(await errorOf(none)).toMatchObject({
      code: 'NO_ATTEMPTS_LEFT',
      message: expect.stringContaining(pid),
    });
    expect((await decide(pid, { decision: 'approve' })).status).toBe(202);
    // A patch that is neither at the gate nor kept is refused.
    await setWorkflow(id, 'integrating', {});
    const late = await decide(`${id}-p2`, { decision: 'approve' });
    expect([404, 409]).toContain(late.status);
  });

  it('takes no body, or an empty one, as an approval', async () => {
    for (const [n, body] of [
      ['5', undefined],
      ['6', {}],
    ] as const) {
      const id = `t-dddddd00000${n}`;
      await seedTask(g.mesh, { id, repoPath: g.repoA });
      const res = await g.call('POST', `/v1/patches/${id}-p1/approve`, DEV, body);
      expect(res.status, await res.clone().text()).toBe(202);
      expect(((await res.json()) as { approval: Approval }).approval).toMatchObject({
        decision: 'approve',
        comment: '',
      });
    }
  });

  it('is documented with every status it answers', async () => {
    const doc = (await (await g.call('GET', '/openapi.json')).json()) as {
      paths: Record<string, { post: { responses: Record<string, unknown> } }>;
    };
    const codes = Object.keys(doc.paths['/v1/patches/{id}/approve']!.post.responses);
    for (const code of ['202', '400', '401', '403', '404', '409']) expect(codes).toContain(code);
    expect(codes).not.toContain('200');
    const approve = doc.paths['/v1/patches/{id}/approve']!.post as unknown as {
      requestBody: { required: boolean };
      responses: Record<string, { description: string }>;
    };
    expect(approve.requestBody.required).toBe(false);
    for (const code of ['NOT_AWAITING_APPROVAL', 'ALREADY_DECIDED', 'NO_ATTEMPTS_LEFT'])
      expect(approve.responses['409']!.description).toContain(code);
    const rollback = doc.paths['/v1/patches/{id}/rollback']!.post;
    expect(Object.keys(rollback.responses)).toEqual(expect.arrayContaining(['202', '404', '409']));
    expect(Object.keys(rollback.responses)).not.toContain('200');
  });
});

describe('approvals name the approver', () => {
  it('by the name or token subject, in the answer, the event and the patch resource', async () => {
    const id = 't-dddddd000011';
    const pid = `${id}-p1`;
    await seedTask(g.mesh, { id, repoPath: g.repoA });
    const res = await g.call('POST', `/v1/patches/${pid}/approve`, await g.jwt('alice'));
    expect(res.status, await res.clone().text()).toBe(202);
    const subject = 'https://idp.test.local|alice';
    expect(((await res.json()) as { approval: Approval }).approval).toMatchObject({
      by: g.userId('alice'),
      byName: subject,
    });
    expect((await eventsOf(id))[0]?.data).toMatchObject({ by: g.userId('alice'), byName: subject });
    const read = (await (await g.call('GET', `/v1/patches/${pid}`, DEV)).json()) as { approval: Approval };
    expect(read.approval.byName).toBe(subject);
  });
});

describe('a rollback is visible', () => {
  it('on the task stream after task.completed, and on the task resource (branch, commit, who, when)', async () => {
    const id = 't-dddddd000010';
    const pid = `${id}-p1`;
    await seedTask(g.mesh, { id, repoPath: g.repoA, status: 'completed' });
    await g.mesh.board.mutate(keys.task(id), TaskRecord, (t) => t && { ...t, commit: 'c'.repeat(40) });
    const at = new Date().toISOString();
    await g.mesh.bus.publish({ id: `${id}:completed`, taskId: id, type: 'task.completed', at, data: {} });
    expect(
      ((await (await g.call('GET', `/v1/tasks/${id}`, DEV)).json()) as { rollback: unknown }).rollback,
    ).toBeNull();
    const asked = await g.call('POST', `/v1/patches/${pid}/rollback`, DEV, { reason: 'broke prod' });
    expect(asked.status).toBe(202);
    // What the conductor and the Integrator do next (the whole mesh: test/e2e.int.test.ts).
    await setWorkflow(id, 'rolling_back', {});
    await g.mesh.bus.publish({
      id: `${id}-rollback-1:rollback.committed`,
      taskId: id,
      type: 'rollback.committed',
      at,
      data: { branch: `codemesh/${id}-rollback`, commit: 'd'.repeat(40), reverts: 'c'.repeat(40) },
    });
    await g.mesh.board.mutate(
      keys.task(id),
      TaskRecord,
      (t) =>
        t && {
          ...t,
          status: 'rolled_back' as const,
          rollbackBranch: `codemesh/${id}-rollback`,
          workflow: { ...t.workflow, value: 'rolled_back' },
        },
    );
    await g.mesh.bus.publish({
      id: `${id}:rolled-back`,
      taskId: id,
      type: 'task.rolled_back',
      at,
      data: { branch: `codemesh/${id}-rollback`, of: 'c'.repeat(40) },
    });

    const { rollback } = (await (await g.call('GET', `/v1/tasks/${id}`, DEV)).json()) as {
      rollback: Record<string, unknown>;
    };
    expect(rollback).toMatchObject({
      state: 'rolled_back',
      patchId: pid,
      by: 'u-dev-admin',
      byName: 'development admin',
      reason: 'broke prod',
      branch: `codemesh/${id}-rollback`,
      commit: 'd'.repeat(40),
      reverts: 'c'.repeat(40),
      requestedAt: expect.any(String),
      doneAt: at,
    });

    // The stream replays past task.completed and ends with task.rolled_back.
    const res = await g.call('GET', `/v1/tasks/${id}/events`, DEV);
    const text = await Promise.race([
      res.text(),
      new Promise<string>((_, no) => setTimeout(() => no(new Error('the stream did not end')), 5000)),
    ]);
    const types = [...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1]);
    expect(types.slice(-4)).toEqual([
      'task.completed',
      'rollback.requested',
      'rollback.committed',
      'task.rolled_back',
    ]);
  });
});

describe('approving a patch the policy check blocks', () => {
  const BLOCKED: PolicyReport = {
    bundle: 'default-1',
    findings: [
      {
        kind: 'sast',
        ruleId: 'py-subprocess-shell',
        severity: 'high',
        enforcement: 'block',
        file: 'calc.py',
        line: 11,
        message: 'subprocess call with shell=True',
        remediation: 'pass an argument list without shell=True',
        cwe: 'CWE-78',
      },
    ],
    counts: { secret: 0, sast: 1, license: 0, vulnerability: 0 },
    blocked: true,
    dependencies: [],
    notes: [],
  };
  /** A task of org-a at the gate with a blocked patch; a developer (dave) and an approver (erin) of org-a. */
  async function blockedAtGate(id: string) {
    await seedTask(g.mesh, { id, repoPath: g.repoA });
    for (const { seq, event } of await g.mesh.bus.history(id))
      await projectEvent(g.record.db, g.mesh.board, seq, event);
    await g.mesh.board.mutate(keys.patch(`${id}-p1`), Patch, (p) =>
      p ? { ...p, policy: BLOCKED } : undefined,
    );
    await setWorkflow(id, 'awaiting_approval', { policyBlocked: ['py-subprocess-shell'] });
    for (const [user, role] of [
      ['dave', 'developer'],
      ['erin', 'approver'],
    ] as const) {
      const uid = userIdFor(ISSUER, user);
      await g.record.db
        .insert(schema.users)
        .values({ id: uid, subject: `${ISSUER}|${user}` })
        .onConflictDoNothing();
      expect((await g.call('PUT', `/v1/orgs/org-a/members/${uid}`, DEV, { role })).status).toBe(200);
    }
    return { dave: await g.jwt('dave'), erin: await g.jwt('erin'), erinId: userIdFor(ISSUER, 'erin') };
  }
  const overrides = (pid: string) =>
    g.record.db
      .select({ actor: schema.auditLog.actor, detail: schema.auditLog.detail })
      .from(schema.auditLog)
      .where(eq(schema.auditLog.target, pid));

  it('needs an override (409 POLICY_BLOCKED); a non-approver is refused; an approver’s override is recorded and audited', async () => {
    const id = 't-dddddd0000b1';
    const pid = `${id}-p1`;
    const { dave, erin, erinId } = await blockedAtGate(id);

    const plain = await g.call('POST', `/v1/patches/${pid}/approve`, erin, { decision: 'approve' });
    expect(plain.status).toBe(409);
    const e = await errorOf(plain);
    expect(e.code).toBe('POLICY_BLOCKED');
    expect(e.message).toContain(
      'py-subprocess-shell at calc.py:11: pass an argument list without shell=True',
    );
    expect(e.message).toContain('override');

    // A developer may not approve, with or without an override.
    const byDev = await g.call('POST', `/v1/patches/${pid}/approve`, dave, {
      decision: 'approve',
      override: { reason: 'I say so' },
    });
    expect(byDev.status).toBe(403);
    // An override needs a reason, and goes with an approval only.
    for (const body of [
      { decision: 'approve', override: { reason: '  ' } },
      { decision: 'request_changes', comment: 'x', override: { reason: 'r' } },
    ])
      expect((await g.call('POST', `/v1/patches/${pid}/approve`, erin, body)).status).toBe(400);
    expect((await g.mesh.board.get(keys.patch(pid), Patch))!.value.policy?.override).toBeUndefined();
    expect(await g.mesh.board.get(keys.approval(pid), Approval)).toBeUndefined();
    expect(await overrides(pid)).toEqual([]);

    const ok = await g.call('POST', `/v1/patches/${pid}/approve`, erin, {
      decision: 'approve',
      comment: 'internal tool, input is a constant',
      override: { reason: 'the command is a constant from our own config' },
    });
    expect(ok.status).toBe(202);
    const override = (await g.mesh.board.get(keys.patch(pid), Patch))!.value.policy?.override;
    expect(override).toEqual({
      by: erinId,
      at: expect.any(String),
      reason: 'the command is a constant from our own config',
      ruleIds: ['py-subprocess-shell'],
    });
    const audit = await overrides(pid);
    expect(audit).toContainEqual({
      actor: erinId,
      detail: {
        taskId: id,
        ruleIds: ['py-subprocess-shell'],
        reason: 'the command is a constant from our own config',
        bundle: 'default-1',
      },
    });
    expect(audit.map((a) => a.actor)).toEqual([erinId, erinId]); // the override, then the approval
    const [granted] = await eventsOf(id);
    expect(granted?.data).toMatchObject({ patchId: pid, by: erinId, override: { reason: override?.reason } });
  });

  it('an override on a patch nothing blocks is refused', async () => {
    const id = 't-dddddd0000b2';
    await seedTask(g.mesh, { id, repoPath: g.repoA });
    const res = await decide(`${id}-p1`, { decision: 'approve', override: { reason: 'just in case' } });
    expect(res.status).toBe(409);
    expect((await errorOf(res)).code).toBe('NOTHING_TO_OVERRIDE');
  });
});
