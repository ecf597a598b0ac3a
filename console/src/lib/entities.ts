// The blackboard in the console's words: each key becomes an entity (task, subtask, patch, lock, award, ...)
// with a title, a state, who holds it and until when. The raw value stays one toggle away (BoardPanel).
import type { BoardRow } from './board.ts';

export interface Fact {
  label: string;
  value: string;
}

export interface Entity {
  /** The key's kind (`task`, `subtask`, `award`, ...), as the badge shows it. */
  kind: string;
  /** What it is, in words: `Fix subtract`, `code step #2 of t-abc`, `src/calc.ts`. */
  title: string;
  /** Its state when it has one (`coding`, `running`, `free`, `deleted`). */
  state?: string;
  /** Who holds it (an award's winner, a lock's or subtask's owner). */
  holder?: string;
  /** Epoch ms the holder's lease runs to: shown as time left while held. */
  leaseUntil?: number;
  /** When it last changed, as the entry says (epoch ms). */
  at?: number;
  /** The task it belongs to, for a link. */
  taskId?: string;
  facts: Fact[];
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const time = (v: unknown): number | undefined => {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  const t = typeof v === 'string' ? Date.parse(v) : Number.NaN;
  return Number.isNaN(t) ? undefined : t;
};
const fact = (label: string, value: string | number | undefined): Fact[] =>
  value === undefined ? [] : [{ label, value: String(value) }];
const lines = (o: Obj): string | undefined => {
  const a = num(o.additions);
  const d = num(o.deletions);
  return a === undefined || d === undefined ? undefined : `+${a} −${d}`;
};
const statusWords = (s: string | undefined) => s?.replaceAll('_', ' ');

/** What a blackboard row is, for people. Unknown kinds keep their key as the title. */
export function entityOf(row: Pick<BoardRow, 'key' | 'kind' | 'op' | 'value'>): Entity {
  const name = row.key.slice(row.kind.length + 1);
  if (row.op !== 'PUT') return { kind: row.kind, title: name, state: 'deleted', facts: [] };
  const v = obj(row.value);
  const taskId = str(v.taskId);
  switch (row.kind) {
    case 'task': {
      const request = obj(v.request);
      return {
        kind: 'task',
        title: str(request.title) ?? name,
        state: statusWords(str(v.status)),
        at: time(v.updatedAt),
        taskId: str(v.id) ?? name,
        facts: [
          ...fact('id', str(v.id) ?? name),
          ...fact('attempt', num(v.attempt)),
          ...fact('branch', str(v.branch)),
          ...fact('commit', str(v.commit)?.slice(0, 7)),
          ...fact('why', str(v.reason)),
        ],
      };
    }
    case 'subtask': {
      const patch = obj(v.patch);
      return {
        kind: 'subtask',
        title: `${str(v.subtaskId) ?? name}: ${str(v.title) ?? ''}`.replace(/: $/, ''),
        state: str(v.state),
        holder: str(v.owner),
        at: time(v.updatedAt),
        taskId,
        facts: [
          ...fact('task', taskId),
          ...fact('attempt', num(v.attempt)),
          ...fact(
            'after',
            Array.isArray(v.dependsOn) && v.dependsOn.length ? v.dependsOn.join(', ') : undefined,
          ),
          ...fact('patch', lines(patch)),
          ...fact('why', str(v.reason)),
        ],
      };
    }
    case 'award': {
      const state = str(v.state);
      const held = state === 'awarded' || state === 'running';
      const part = str(v.part);
      return {
        kind: 'award',
        title: `${str(v.kind) ?? 'step'} #${num(v.attempt) ?? '?'}${part ? ` ${part}` : ''}${taskId ? ` of ${taskId}` : ''}`,
        state,
        holder: str(v.instanceId),
        ...(held ? { leaseUntil: num(v.leaseUntil) } : {}),
        at: num(v.awardedAt),
        taskId,
        facts: [...fact('round', num(v.round)), ...fact('why', str(obj(v.outcome).reason))],
      };
    }
    case 'lock': {
      const holder = str(v.holder);
      return {
        kind: 'lock',
        title: str(v.path) ?? name,
        state: holder ? 'held' : 'free',
        holder,
        ...(holder ? { leaseUntil: num(v.leaseUntil) } : {}),
        taskId: str(v.lastTask),
        facts: [
          ...fact('last task', str(v.lastTask)),
          ...fact('last commit', str(v.lastCommit)?.slice(0, 7)),
        ],
      };
    }
    case 'patch': {
      const policy = obj(v.policy);
      const files = Array.isArray(v.files) ? v.files.filter((f): f is string => typeof f === 'string') : [];
      return {
        kind: 'patch',
        title: str(v.id) ?? name,
        state: policy.blocked === true ? (policy.override ? 'overridden' : 'blocked') : undefined,
        at: time(v.createdAt),
        taskId,
        facts: [
          ...fact(
            'files',
            files.length
              ? files.slice(0, 3).join(', ') + (files.length > 3 ? ` +${files.length - 3}` : '')
              : undefined,
          ),
          ...fact('lines', lines(obj(v.stats))),
          ...fact('summary', str(v.summary)?.slice(0, 120)),
        ],
      };
    }
    case 'plan': {
      const subtasks = Array.isArray(v.subtasks) ? v.subtasks.length : undefined;
      return {
        kind: 'plan',
        title: `plan of ${name}`,
        taskId: name,
        facts: [...fact('subtasks', subtasks), ...fact('summary', str(v.summary)?.slice(0, 120))],
      };
    }
    case 'testrun': {
      const counts = obj(v.counts);
      return {
        kind: 'testrun',
        title: `tests of ${str(v.patchId) ?? name}`,
        state: v.passed === true ? 'passed' : v.passed === false ? 'failed' : undefined,
        taskId,
        facts: [
          ...fact('passed', num(counts.passed)),
          ...fact('failed', num(counts.failed)),
          ...fact(
            'took',
            num(v.durationMs) === undefined ? undefined : `${((v.durationMs as number) / 1000).toFixed(1)} s`,
          ),
        ],
      };
    }
    case 'review': {
      const c = num(v.confidence);
      return {
        kind: 'review',
        title: `review of ${str(v.patchId) ?? name}`,
        state: str(v.decision),
        taskId,
        facts: [...fact('confidence', c === undefined ? undefined : `${Math.round(c * 100)}%`)],
      };
    }
    case 'approval': {
      const d = str(v.decision);
      return {
        kind: 'approval',
        title: `decision on ${str(v.patchId) ?? name}`,
        state: d === 'approve' ? 'approved' : statusWords(d),
        at: time(v.at),
        taskId,
        facts: [...fact('by', str(v.byName) ?? str(v.by)), ...fact('comment', str(v.comment)?.slice(0, 120))],
      };
    }
    case 'cost': {
      const t = obj(v.totals);
      const usd = num(t.costUsd);
      return {
        kind: 'cost',
        title: `cost of ${name}`,
        taskId: name,
        facts: [
          ...fact('USD', usd === undefined ? undefined : `$${usd.toFixed(4)}`),
          ...fact('calls', num(t.calls)),
        ],
      };
    }
    case 'memory':
      return {
        kind: 'memory',
        title: `what ${taskId ?? 'a task'} did: ${str(v.title) ?? ''}`.replace(/: $/, ''),
        state: str(v.outcome),
        at: time(v.createdAt),
        taskId,
        facts: [],
      };
    default:
      return { kind: row.kind, title: name, state: str(v.state) ?? str(v.status), taskId, facts: [] };
  }
}

/** Whether a row matches the panel's filter: its key, its title, its holder or its state. */
export function entityMatches(row: Pick<BoardRow, 'key'>, e: Entity, filter: string): boolean {
  const f = filter.trim().toLowerCase();
  if (!f) return true;
  return [row.key, e.title, e.holder ?? '', e.state ?? ''].some((x) => x.toLowerCase().includes(f));
}
