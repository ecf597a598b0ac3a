// Patch routes: read, approve (the human gate), roll back an integrated patch.
import { eq } from 'drizzle-orm';
import type { Hono } from 'hono';
import { schema } from '../../actors/recorder/index.ts';
import { RollbackBody } from '../../schemas/api.ts';
import {
  Approval,
  type ApprovalDecision,
  ApprovalRequest,
  DocPatch,
  keys,
  parsePatchId,
  Patch,
  TaskRecord,
} from '../../schemas/index.ts';
import { approvablePatches, attemptsLeft } from '../../actors/conductor/workflow.ts';
import { requireScope } from '../auth.ts';
import { checkPolicyGate } from './policy-override.ts';
import { type Env, type Gateway, jsonBody } from '../context.ts';
import { ApiError } from '../errors.ts';
import { displayNames } from '../users.ts';
import type { Principal } from '../types.ts';
import { requestRollback } from '../../actors/conductor/rollback.ts';
import { rollbackBranchFor } from '../../actors/integrator/git-integrate.ts';

function patchParam(raw: string) {
  const parsed = parsePatchId(raw);
  if (!parsed || raw.length > 100)
    throw new ApiError(400, 'INVALID_ID', 'the id is not a patch id (<task id>-p<attempt>)');
  return parsed;
}

export function patchRoutes(app: Hono<Env>, gw: Gateway): void {
  const { mesh } = gw;

  /** An approval with every decision's `byName` (decisions stored before names were kept get it now). */
  const named = async (a: Approval): Promise<Approval> => {
    const names = await displayNames(gw.db, [a.by, ...a.earlier.map((e) => e.by)]);
    const name = <D extends ApprovalDecision>(d: D): D => ({ ...d, byName: d.byName ?? names.get(d.by) });
    return { ...name(a), earlier: a.earlier.map(name) };
  };

  app.get('/v1/patches/:id', async (c) => {
    const p = c.get('principal');
    requireScope(p, 'tasks:read');
    const pid = c.req.param('id');
    const { taskId } = patchParam(pid);
    await gw.access.authorizeTask(p, taskId, 'viewer');
    const onBoard = (await mesh.board.get(keys.patch(pid), Patch))?.value;
    const [row] = onBoard ? [] : await gw.db.select().from(schema.patches).where(eq(schema.patches.id, pid));
    const patch =
      onBoard ??
      (row ? { ...row, stats: { additions: row.additions, deletions: row.deletions } } : undefined);
    if (!patch) throw new ApiError(404, 'PATCH_NOT_FOUND', `no patch ${pid}`);
    const approval = (await mesh.board.get(keys.approval(pid), Approval))?.value ?? null;
    const docs = (await mesh.board.get(keys.docs(pid), DocPatch))?.value ?? null;
    return c.json({ patch, approval: approval && (await named(approval)), docs });
  });

  // The human gate. Approvable: the patch at the gate and the one kept from an earlier change request (also
  // while its revision runs); a change request needs a comment and an attempt left.
  app.post('/v1/patches/:id/approve', async (c) => {
    const p = c.get('principal');
    requireScope(p, 'patches:approve');
    const pid = c.req.param('id');
    const parsed = patchParam(pid);
    const { repo } = await gw.access.authorizeTask(p, parsed.taskId, 'approver');
    const body = ApprovalRequest.parse(await jsonBody(c, gw.limits.maxBodyBytes, { emptyAs: {} }));
    const approval = await decidePatch(gw, p, pid, body, repo?.orgId ?? null);
    return c.json({ approval: await named(approval) }, 202);
  });

  app.post('/v1/patches/:id/rollback', async (c) => {
    const p = c.get('principal');
    requireScope(p, 'patches:approve');
    const pid = c.req.param('id');
    const parsed = patchParam(pid);
    const { repo } = await gw.access.authorizeTask(p, parsed.taskId, 'approver');
    const body = RollbackBody.parse(await jsonBody(c, gw.limits.maxBodyBytes, { emptyAs: {} }));
    // The revert itself is a step of the task's workflow, run by an Integrator on the mesh; this only asks.
    const byName = (await displayNames(gw.db, [p.userId])).get(p.userId);
    const task = await requestRollback(mesh, pid, { by: p.userId, byName, reason: body.reason, now: gw.now });
    await gw.audit(p, 'patch.rollback', pid, repo?.orgId ?? null, { taskId: task.id, reason: body.reason });
    return c.json(
      {
        rollback: {
          patchId: pid,
          taskId: task.id,
          branch: rollbackBranchFor(task.id),
          revertOf: task.commit ?? null,
        },
      },
      202,
    );
  });
}

/**
 * The human gate's decision on patch `pid`, for an authorized caller (the approve route) or a GitHub review
 * (the webhook): checks it is approvable now, records it on `approval.<pid>` (a repeat is accepted again, an
 * approval is final), audits and publishes it. Throws ApiError (404/409) when it cannot be taken.
 */
export async function decidePatch(
  gw: Gateway,
  p: Principal,
  pid: string,
  body: ApprovalRequest,
  orgId: string | null,
): Promise<Approval> {
  const { mesh } = gw;
  const parsed = patchParam(pid);
  const task = (await mesh.board.get(keys.task(parsed.taskId), TaskRecord))?.value;
  if (!task) throw new ApiError(404, 'TASK_NOT_FOUND', `no task ${parsed.taskId}`);
  const patch = (await mesh.board.get(keys.patch(pid), Patch))?.value;
  if (!patch) throw new ApiError(404, 'PATCH_NOT_FOUND', `no patch ${pid}`);
  const gate = Number(task.workflow.context.gate ?? 1);
  const prior = (await mesh.board.get(keys.approval(pid), Approval))?.value;
  const repeat = prior?.gate === gate && prior.decision === body.decision && prior.comment === body.comment;
  const may = approvablePatches(task.workflow);
  const changes = body.decision === 'request_changes';
  if (repeat) return publishDecision(prior, false);
  if (!(changes ? may.requestChanges : may.approve).includes(pid))
    throw new ApiError(
      409,
      'NOT_AWAITING_APPROVAL',
      may.approve.includes(pid)
        ? `a revision of patch ${pid} is under way: it may be approved, not sent back again`
        : `patch ${pid} is not waiting for approval (task is ${task.status}${may.approve.length ? `; approvable: ${may.approve.join(', ')}` : ''})`,
    );
  if (changes && !attemptsLeft(task.workflow))
    throw new ApiError(
      409,
      'NO_ATTEMPTS_LEFT',
      `the task's ${task.request.budget.maxAttempts} attempts are used up: no revision can start (approvable: ${may.approve.join(', ')})`,
    );
  // A patch the policy check blocks is approved only with an approver's override (recorded, audited).
  if (!changes) await checkPolicyGate(gw, p, patch, body, orgId);
  else if (body.override)
    throw new ApiError(400, 'INVALID_REQUEST', 'an override of the policy check goes with an approval');
  const byName = (await displayNames(gw.db, [p.userId])).get(p.userId);
  const decision: ApprovalDecision = {
    ...body,
    by: p.userId,
    ...(byName ? { byName } : {}),
    at: new Date(gw.now()).toISOString(),
    gate,
  };
  let created = false;
  const entry = await mesh.board.mutate(keys.approval(pid), Approval, (cur) => {
    created = false;
    if (!cur) {
      created = true;
      return { ...decision, patchId: pid, taskId: task.id, earlier: [] };
    }
    // A repeated request (a retry) is accepted again; an approval is final; a change request may be
    // followed by an approval, or by another decision at a later arrival at the gate.
    if (cur.gate === gate && cur.decision === body.decision && cur.comment === body.comment) return undefined;
    if (cur.decision === 'approve' || (cur.gate === gate && body.decision === 'request_changes'))
      throw new ApiError(
        409,
        'ALREADY_DECIDED',
        `patch ${pid} was already decided on (${cur.decision}${cur.comment ? `: ${cur.comment}` : ''})`,
      );
    created = true;
    const { patchId: _p, taskId: _t, earlier, ...last } = cur;
    return { ...decision, patchId: pid, taskId: task.id, earlier: [...earlier, last] };
  });
  if (!entry) throw new Error(`approval.${pid}: no entry after the write`);
  return publishDecision(entry.value, created);

  // Published again on a repeat: the same id, so the stream keeps it once.
  async function publishDecision(a: Approval, first: boolean) {
    if (first)
      await gw.audit(p, `patch.${a.decision}`, pid, orgId, {
        taskId: parsed.taskId,
        comment: a.comment,
        gate: a.gate,
      });
    await mesh.bus.publish({
      id: `${pid}:${a.decision}:g${a.gate}`,
      taskId: parsed.taskId,
      type: a.decision === 'approve' ? 'approval.granted' : 'approval.changes_requested',
      at: a.at,
      data: {
        patchId: pid,
        comment: a.comment,
        by: a.by,
        ...(a.byName ? { byName: a.byName } : {}),
        gate: a.gate,
        ...(a.override ? { override: a.override } : {}),
      },
    });
    return a;
  }
}
