// The live blackboard feed (`GET /v1/board/events`, SSE): current entries, then every change, limited to
// the tasks and repositories the caller may see, with large strings trimmed and secrets scrubbed.
import { inArray } from 'drizzle-orm';
import type { Hono } from 'hono';
import { sseWithSlot } from '../sse.ts';
import { schema } from '../../actors/recorder/index.ts';
import type { BoardChange } from '../../blackboard/index.ts';
import { hashKey, type KeyKind, keys } from '../../schemas/index.ts';
import { requireScope } from '../auth.ts';
import type { Env, Gateway } from '../context.ts';
import { redactString } from '../redact.ts';
import type { Principal } from '../types.ts';

/** Longest string sent as is; diffs keep their head, logs their tail. */
export const MAX_STRING = 8 * 1024;
/** A value whose JSON is larger than this after trimming is replaced by a stub naming its size. */
export const MAX_VALUE_BYTES = 64 * 1024;
const KEEPALIVE_MS = 20_000;
/** How often, at most, the repositories a caller may see are re-read (for `lock.*` keys). */
const REPO_REFRESH_MS = 5_000;

const KINDS = new Set<string>(Object.keys(keys));
const TAIL_FIELDS = new Set(['log', 'stdout', 'stderr', 'output']);
const SECRET_FIELD =
  /^(api[_-]?key|apikey|secret|password|passwd|token|access[_-]?token|authorization|cookie|credentials?|private[_-]?key)$/i;

/**
 * The task a blackboard key belongs to, or undefined (lock keys and unknown kinds).
 * @example taskOfKey('testrun.t-abc123-2') // 't-abc123'
 */
export function taskOfKey(key: string): string | undefined {
  const dot = key.indexOf('.');
  const kind = key.slice(0, dot);
  const rest = key.slice(dot + 1);
  let m: RegExpExecArray | null;
  switch (kind) {
    case 'task':
    case 'plan':
    case 'planapproval':
    case 'context':
    case 'cost':
    case 'budget':
      m = /^(t-[a-z0-9]+)$/.exec(rest);
      break;
    case 'patch':
    case 'approval':
      // Candidate i's patch ends in `-c<i>`.
      m = /^(t-[a-z0-9]+)-p\d+(?:-c\d+)?$/.exec(rest);
      break;
    case 'testrun':
    case 'review':
    case 'selection':
      m = /^(t-[a-z0-9]+)-\d+(?:-c\d+)?$/.exec(rest);
      break;
    case 'candidate':
      m = /^(t-[a-z0-9]+)-\d+-c\d+$/.exec(rest);
      break;
    case 'award':
    case 'result':
      // A part of a fanned-out code step ends in `-s<n>-<subtask>` or `-m<n>`, a candidate's step in `-c<i>`.
      m = /^(t-[a-z0-9]+)-[a-z]+-\d+(?:-s\d+-[A-Za-z0-9][A-Za-z0-9-_]*|-m\d+|-c\d+)?$/.exec(rest);
      break;
    case 'subtask':
      m = /^(t-[a-z0-9]+)-\d+-[A-Za-z0-9][A-Za-z0-9-_]*$/.exec(rest);
      break;
    default:
      m = null;
  }
  return m?.[1];
}

/** The kind of a key (`task`, `plan`, …) when it is one of the blackboard's kinds. */
export function kindOfKey(key: string): KeyKind | undefined {
  const kind = key.slice(0, key.indexOf('.'));
  return KINDS.has(kind) ? (kind as KeyKind) : undefined;
}

/**
 * A copy of a blackboard value fit for the feed: strings above MAX_STRING cut (logs keep their tail, the rest
 * their head) with a `<field>Truncated: <original length>` marker beside them, secret-named string fields
 * replaced, and secret-looking substrings (bearer tokens, JWTs, PATs, API keys, emails) scrubbed.
 */
export function trimValue(value: unknown, depth = 0): unknown {
  if (depth > 32) return '[TRUNCATED]';
  if (typeof value === 'string') return redactString(cut(value, false));
  if (Array.isArray(value)) return value.map((v) => trimValue(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (typeof v === 'string') {
        if (SECRET_FIELD.test(k)) {
          out[k] = '[REDACTED]';
          continue;
        }
        out[k] = redactString(cut(v, TAIL_FIELDS.has(k)));
        if (v.length > MAX_STRING) out[`${k}Truncated`] = v.length;
      } else out[k] = trimValue(v, depth + 1);
    }
    return out;
  }
  return value;
}

function cut(s: string, keepTail: boolean): string {
  if (s.length <= MAX_STRING) return s;
  return keepTail ? `…${s.slice(-MAX_STRING)}` : `${s.slice(0, MAX_STRING)}…`;
}

/** What one change looks like on the wire. */
export function boardEventData(change: BoardChange): string {
  const value = change.value === null ? null : trimValue(change.value);
  let data = JSON.stringify({ key: change.key, revision: change.revision, op: change.op, value });
  if (Buffer.byteLength(data) > MAX_VALUE_BYTES)
    data = JSON.stringify({
      key: change.key,
      revision: change.revision,
      op: change.op,
      value: { truncated: true, bytes: Buffer.byteLength(data) },
    });
  return data;
}

/**
 * Decides, change by change, whether the caller may see a key. Task keys go through the same check as
 * `GET /v1/tasks/:id` (viewer on the task's repository); lock keys through the repositories of the caller's
 * orgs and repo roles. Decisions are cached for the stream, briefly, so a revoked role stops the feed soon.
 */
class BoardFilter {
  private readonly tasks = new Map<string, { ok: boolean; until: number }>();
  private repoKeys = new Set<string>();
  private reposAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly gw: Gateway,
    private readonly p: Principal,
  ) {}

  async allows(key: string, value: unknown): Promise<boolean> {
    const kind = kindOfKey(key);
    // Model settings are no task's and hold sealed keys: not for the feed, not even for a superuser.
    if (!kind || kind === 'models') return false;
    if (this.p.superuser) return true;
    if (kind === 'lock') return this.allowsLock(key, value);
    const taskId = taskOfKey(key);
    if (!taskId) return false;
    const now = this.gw.now();
    const hit = this.tasks.get(taskId);
    if (hit && hit.until > now) return hit.ok;
    const ok = await this.gw.access.authorizeTask(this.p, taskId, 'viewer').then(
      () => true,
      () => false,
    );
    if (this.tasks.size > 10_000) this.tasks.clear();
    this.tasks.set(taskId, { ok, until: now + REPO_REFRESH_MS });
    return ok;
  }

  private async allowsLock(key: string, value: unknown): Promise<boolean> {
    const repoKey = (value as { repoKey?: unknown } | null)?.repoKey ?? key.split('.')[1];
    if (typeof repoKey !== 'string') return false;
    const now = this.gw.now();
    if (!this.repoKeys.has(repoKey) && now - this.reposAt >= REPO_REFRESH_MS) {
      this.reposAt = now;
      this.repoKeys = await this.visibleRepoKeys();
    }
    return this.repoKeys.has(repoKey);
  }

  private async visibleRepoKeys(): Promise<Set<string>> {
    const vis = await this.gw.access.visibility(this.p);
    const byOrg = vis.orgIds.length
      ? await this.gw.db
          .select({ path: schema.repos.path })
          .from(schema.repos)
          .where(inArray(schema.repos.orgId, vis.orgIds))
      : [];
    const byRole = await this.gw.access.reposByIds(vis.repoIds);
    // Lock keys name a repository by the hash of its path (actors/integrator/locks.ts `repoKey`).
    return new Set([...byOrg, ...byRole].map((r) => hashKey(r.path)));
  }
}

export function boardRoutes(app: Hono<Env>, gw: Gateway): void {
  app.get('/v1/board/events', async (c) => {
    const p = c.get('principal');
    requireScope(p, 'tasks:read');
    const filter = new BoardFilter(gw, p);
    return sseWithSlot(c, gw, p, 'board', async (stream, signal) => {
      // Proxies close idle connections: a comment line now and then keeps the stream open.
      const keepalive = setInterval(() => void stream.write(': keepalive\n\n'), KEEPALIVE_MS);
      try {
        // LastValue first (every current key), then live changes, in stream order.
        for await (const change of gw.mesh.board.watch({ signal })) {
          if (!(await filter.allows(change.key, change.value))) continue;
          // No `id:` line: a reconnecting client gets the current values again, not a resumed feed.
          await stream.writeSSE({ event: kindOfKey(change.key)!, data: boardEventData(change) });
        }
      } finally {
        clearInterval(keepalive);
      }
    });
  });
}
