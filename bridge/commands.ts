// Commands from the chat: parsed here, carried out through the gateway's HTTP API with the personal access
// token of the codemesh user the chat user is mapped to. The gateway decides, exactly as for any API call:
// authentication, the scope (`patches:approve`), the role on the task's repository (approver), the audit log.
import type { NatsConnection } from '@nats-io/transport-node';
import { NatsApiReply, parsePatchId, subjects, TaskId } from '../schemas/index.ts';
import type { MappedUser } from './settings.ts';

export type Command =
  | { verb: 'help' }
  | { verb: 'status'; task: string }
  | { verb: 'approve'; target: string }
  | { verb: 'reject'; target: string; comment: string }
  | { verb: 'rollback'; target: string; reason?: string }
  | { verb: 'run'; issueUrl: string };

export const COMMANDS_HELP = [
  'status <task>',
  'approve <task|patch>',
  'reject <task|patch> <what should change>   (also: request-changes)',
  'rollback <task|patch> [reason]',
  'run <issue-url>',
].join('\n');

/** Parses a command's text (`approve t-abc123`); a string is the reason it is not a command. */
export function parseCommand(text: string): Command | string {
  const t = text.trim().replace(/\s+/g, ' ');
  const [verb = '', arg = '', ...rest] = t.split(' ');
  const tail = rest.join(' ').trim();
  const target = (a: string) => TaskId.safeParse(a).success || !!parsePatchId(a);
  switch (verb.toLowerCase()) {
    case '':
    case 'help':
      return { verb: 'help' };
    case 'status':
      return TaskId.safeParse(arg).success ? { verb: 'status', task: arg } : 'usage: status <task id (t-…)>';
    case 'approve':
      return target(arg) ? { verb: 'approve', target: arg } : 'usage: approve <task id or patch id>';
    case 'reject':
    case 'request-changes':
      if (!target(arg) || !tail) return 'usage: reject <task id or patch id> <what should change>';
      return { verb: 'reject', target: arg, comment: tail.slice(0, 4000) };
    case 'rollback':
      if (!target(arg)) return 'usage: rollback <task id or patch id> [reason]';
      return { verb: 'rollback', target: arg, ...(tail ? { reason: tail.slice(0, 2000) } : {}) };
    case 'run':
      return /^https?:\/\/\S+$/.test(arg) ? { verb: 'run', issueUrl: arg } : 'usage: run <issue url>';
    default:
      return `unknown command "${verb.slice(0, 40)}"; commands:\n${COMMANDS_HELP}`;
  }
}

/** What a command did: the reply to show, and whether the gateway refused it (for the log). */
export interface CommandResult {
  ok: boolean;
  text: string;
  /** The gateway's status (absent: refused before any call, e.g. an unmapped user). */
  status?: number;
}

interface TaskView {
  task: {
    id: string;
    status: string;
    request?: { title?: string };
    reason?: string | null;
    workflow?: { context?: Record<string, unknown> };
  };
}

/** How a command reaches the gateway's API as the mapped user: over NATS (default) or HTTP. */
export interface ApiClient {
  call(
    user: MappedUser,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: Record<string, unknown> }>;
}

/** The gateway's API over NATS request/reply (`cm.api.request`): a bridge that speaks only NATS. */
export class NatsGatewayClient implements ApiClient {
  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs = 15_000,
  ) {}

  async call(
    user: MappedUser,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const req = { method, path, token: user.token, ...(body === undefined ? {} : { body }) };
    const msg = await this.nc.request(subjects.api(), JSON.stringify(req), { timeout: this.timeoutMs });
    const reply = NatsApiReply.safeParse(msg.json());
    if (!reply.success) throw new Error('the gateway sent an answer that is not an API reply');
    return reply.data;
  }
}

/** The gateway's API over HTTP (`CODEMESH_BRIDGE_GATEWAY_URL`). */
export class GatewayClient implements ApiClient {
  constructor(private readonly baseUrl: string) {}

  async call(
    user: MappedUser,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${user.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
    const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    return { status: res.status, json };
  }
}

const refusal = (r: { status: number; json: Record<string, unknown> }): CommandResult => {
  const err = r.json.error as { code?: string; message?: string } | undefined;
  const why = err?.message ?? `HTTP ${r.status}`;
  return { ok: false, status: r.status, text: `refused: ${why}${err?.code ? ` (${err.code})` : ''}` };
};

/** The patch a target names: itself, or the task's current patch (the one at the gate, or integrated). */
async function patchOf(
  gw: ApiClient,
  user: MappedUser,
  target: string,
): Promise<{ patchId: string } | CommandResult> {
  if (parsePatchId(target)) return { patchId: target };
  const r = await gw.call(user, 'GET', `/v1/tasks/${target}`);
  if (r.status !== 200) return refusal(r);
  const task = (r.json as unknown as TaskView).task;
  const patchId = task.workflow?.context?.patchId;
  if (typeof patchId !== 'string')
    return { ok: false, status: 409, text: `task ${target} has no patch yet (it is ${task.status})` };
  return { patchId };
}

/** Carries out one command as `user` (undefined: the chat user is not mapped, refused). */
export async function runCommand(
  gw: ApiClient,
  user: MappedUser | undefined,
  cmd: Command,
): Promise<CommandResult> {
  if (cmd.verb === 'help') return { ok: true, text: `codemesh commands:\n${COMMANDS_HELP}` };
  if (!user)
    return {
      ok: false,
      text: 'refused: your chat account is not mapped to a codemesh user (ask an admin to add it to the bridge user map)',
    };
  switch (cmd.verb) {
    case 'status': {
      const r = await gw.call(user, 'GET', `/v1/tasks/${cmd.task}`);
      if (r.status !== 200) return refusal(r);
      const t = (r.json as unknown as TaskView).task;
      const patch = t.workflow?.context?.patchId;
      return {
        ok: true,
        status: 200,
        text: `task ${t.id}${t.request?.title ? ` "${t.request.title.slice(0, 120)}"` : ''}: ${t.status}${
          t.status === 'awaiting_approval' && typeof patch === 'string' ? ` (patch ${patch})` : ''
        }${t.reason ? ` — ${t.reason.slice(0, 300)}` : ''}`,
      };
    }
    case 'approve':
    case 'reject': {
      const p = await patchOf(gw, user, cmd.target);
      if ('text' in p) return p;
      const body =
        cmd.verb === 'approve'
          ? { decision: 'approve' }
          : { decision: 'request_changes', comment: cmd.comment };
      const r = await gw.call(user, 'POST', `/v1/patches/${p.patchId}/approve`, body);
      if (r.status !== 202) return refusal(r);
      return {
        ok: true,
        status: r.status,
        text:
          cmd.verb === 'approve'
            ? `patch ${p.patchId} approved by ${user.user}`
            : `changes requested on patch ${p.patchId} by ${user.user}`,
      };
    }
    case 'rollback': {
      const p = await patchOf(gw, user, cmd.target);
      if ('text' in p) return p;
      const r = await gw.call(
        user,
        'POST',
        `/v1/patches/${p.patchId}/rollback`,
        cmd.reason ? { reason: cmd.reason } : {},
      );
      if (r.status !== 202) return refusal(r);
      return { ok: true, status: r.status, text: `rollback of patch ${p.patchId} requested by ${user.user}` };
    }
    case 'run': {
      const r = await gw.call(user, 'POST', '/v1/tasks', { issue_url: cmd.issueUrl });
      if (r.status !== 201) return refusal(r);
      const t = (r.json as unknown as TaskView).task;
      return { ok: true, status: r.status, text: `task ${t.id} started for ${cmd.issueUrl}` };
    }
  }
}
