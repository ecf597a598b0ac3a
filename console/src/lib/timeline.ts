// The task timeline in sentences: each event type says what happened, with the few facts of its data that
// matter (who, which patch, why); what is left over stays available as raw data behind a toggle.
import type { TaskEvent } from '../types.ts';

export type Tone = 'info' | 'good' | 'bad' | 'gate';

export interface EventLine {
  /** What happened, in words: `Coder #2 started (coder-1)`. */
  text: string;
  tone: Tone;
}

type Data = Record<string, unknown>;
const s = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
const who = (d: Data) => s(d.byName) ?? s(d.by) ?? s(d.author);
const with_ = (...parts: Array<string | undefined | false>) => parts.filter(Boolean).join(' ');
const paren = (x: string | undefined) => (x ? `(${x})` : undefined);
const colon = (x: string | undefined) => (x ? `: ${x}` : '');
const short = (c: unknown) => s(c)?.slice(0, 7);
const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** The names people use for the steps (`code` is the Coder's step). */
const STEP: Record<string, string> = {
  plan: 'Planning',
  code: 'Coding',
  test: 'Testing',
  review: 'Review',
  docs: 'Documentation',
  integrate: 'Integration',
  rollback: 'Rollback',
  reproduce: 'Reproduction test',
};
const stepName = (e: TaskEvent) => {
  if (!e.step) return 'A step';
  const base = STEP[e.step.kind] ?? `The ${e.step.kind} step`;
  return `${base} #${e.step.attempt}${e.step.part ? ` (${e.step.part})` : ''}`;
};

function counts(d: Data): string | undefined {
  const c = d.counts as { passed?: unknown; failed?: unknown } | undefined;
  if (!c || typeof c !== 'object') return undefined;
  const p = typeof c.passed === 'number' ? c.passed : undefined;
  const f = typeof c.failed === 'number' ? c.failed : undefined;
  return p === undefined && f === undefined ? undefined : `${p ?? 0} passed, ${f ?? 0} failed`;
}

/** One event as a sentence and a tone (the colour of its dot). Unknown types keep their name. */
export function describeEvent(e: TaskEvent): EventLine {
  const d = e.data ?? {};
  const patch = s(d.patchId);
  switch (e.type) {
    case 'task.created':
      return { text: `Task created${colon(s(d.title))}`, tone: 'info' };
    case 'plan.ready':
      return {
        text: with_(
          'Plan ready',
          Array.isArray(d.subtasks) ? paren(plural(d.subtasks.length, 'subtask')) : undefined,
        ),
        tone: 'info',
      };
    case 'plan.approval_requested':
      return { text: 'The plan waits for your approval', tone: 'gate' };
    case 'plan.approved':
      return {
        text: with_('Plan approved', who(d) && `by ${who(d)}`, d.edited === true && '(edited)'),
        tone: 'good',
      };
    case 'plan.rejected':
      return { text: with_('Plan rejected', who(d) && `by ${who(d)}`) + colon(s(d.comment)), tone: 'bad' };
    case 'step.announced':
      return { text: `${stepName(e)} offered to the agents`, tone: 'info' };
    case 'step.awarded':
      return {
        text: with_(`${stepName(e)} started`, s(d.instanceId) && `by ${s(d.instanceId)}`),
        tone: 'info',
      };
    case 'step.completed':
      return { text: `${stepName(e)} done`, tone: 'good' };
    case 'step.failed':
      return { text: `${stepName(e)} failed${colon(s(d.reason))}`, tone: 'bad' };
    case 'patch.proposed':
      return { text: with_('Patch proposed', patch), tone: 'info' };
    case 'test.primary':
      return {
        text: with_('First tests', d.passed === true ? 'passed' : 'failed', paren(counts(d))),
        tone: d.passed === true ? 'good' : 'bad',
      };
    case 'test.completed': {
      const passed = d.passed === true ? true : d.passed === false ? false : undefined;
      return {
        text: with_('Tests', passed === undefined ? 'done' : passed ? 'passed' : 'failed', paren(counts(d))),
        tone: passed === false ? 'bad' : 'good',
      };
    }
    case 'test.flaky':
      return { text: 'Flaky tests found', tone: 'bad' };
    case 'reproduction.checked':
      return {
        text: with_('Reproduction test', s(d.verdict) ?? 'checked'),
        tone: d.verdict === 'kept' ? 'good' : 'info',
      };
    case 'review.completed': {
      const c = typeof d.confidence === 'number' ? `${Math.round(d.confidence * 100)}% sure` : undefined;
      const dec = s(d.decision);
      return {
        text: with_(
          'Review',
          dec === 'approve' ? 'approves' : dec === 'revise' ? 'asks for a revision' : 'done',
          paren(c),
        ),
        tone: dec === 'revise' ? 'bad' : 'good',
      };
    }
    case 'docs.proposed':
      return { text: with_('Documentation proposed', patch && `for ${patch}`), tone: 'info' };
    case 'approval.requested':
      return { text: with_('Waiting for your decision', patch && `on ${patch}`), tone: 'gate' };
    case 'revision.failed':
      return {
        text: `The revision failed${colon(s(d.reason))}; back at the gate with ${patch ?? 'the kept patch'}`,
        tone: 'bad',
      };
    case 'approval.granted':
      return { text: with_('Approved', patch, who(d) && `by ${who(d)}`), tone: 'good' };
    case 'approval.changes_requested':
      return {
        text:
          with_('Changes requested', patch && `on ${patch}`, who(d) && `by ${who(d)}`) + colon(s(d.comment)),
        tone: 'gate',
      };
    case 'conflict.detected':
    case 'subtask.conflict':
      return {
        text: with_('Conflict', s(d.subtask), Array.isArray(d.files) ? paren(d.files.join(', ')) : undefined),
        tone: 'bad',
      };
    case 'lock.waiting':
      return {
        text: with_(
          'Waiting for a lock',
          s(d.path) && `on ${s(d.path)}`,
          s(d.holder) && `held by ${s(d.holder)}`,
        ),
        tone: 'info',
      };
    case 'integrate.committed':
      return { text: with_('Committed', short(d.commit), s(d.branch) && `on ${s(d.branch)}`), tone: 'good' };
    case 'rollback.requested':
      return { text: with_('Rollback asked', who(d) && `by ${who(d)}`) + colon(s(d.reason)), tone: 'gate' };
    case 'rollback.committed':
      return {
        text: with_('Revert committed', short(d.commit), s(d.branch) && `on ${s(d.branch)}`),
        tone: 'good',
      };
    case 'task.completed':
      return {
        text: with_(
          'Task completed',
          short(d.commit) && `at ${short(d.commit)}`,
          s(d.branch) && `on ${s(d.branch)}`,
        ),
        tone: 'good',
      };
    case 'task.failed':
      return { text: `Task failed${colon(s(d.reason))}`, tone: 'bad' };
    case 'task.rolled_back':
      return { text: with_('Task rolled back', s(d.branch) && `on ${s(d.branch)}`), tone: 'bad' };
    case 'task.abstained':
      return { text: `No candidate was good enough${colon(s(d.reason))}`, tone: 'bad' };
    case 'candidate.selected':
      return { text: with_('Candidate', s(d.chosen), 'chosen', patch && `as ${patch}`), tone: 'good' };
    case 'cost.recorded': {
      const usd = typeof d.costUsd === 'number' ? `$${d.costUsd.toFixed(4)}` : undefined;
      const tokens =
        typeof d.promptTokens === 'number' && typeof d.completionTokens === 'number'
          ? `${(d.promptTokens + d.completionTokens).toLocaleString('en-US')} tokens`
          : undefined;
      return {
        text: with_(
          'Model call',
          s(d.role) && `by the ${s(d.role)}`,
          paren([tokens, usd].filter(Boolean).join(', ') || undefined),
        ),
        tone: 'info',
      };
    }
    case 'task.change_requested':
      return { text: `Scope changed in chat${colon(s(d.text))}`, tone: 'gate' };
    case 'budget.paused':
      return { text: `Paused at the budget gate${colon(s(d.reason))}`, tone: 'gate' };
    case 'budget.raised':
      return { text: with_('Budget raised', who(d) && `by ${who(d)}`), tone: 'good' };
    case 'budget.stopped':
      return {
        text: with_('Stopped at the budget gate', who(d) && `by ${who(d)}`) + colon(s(d.comment)),
        tone: 'bad',
      };
    case 'budget.exceeded':
    case 'quota.exceeded':
      return {
        text: `${e.type === 'quota.exceeded' ? 'Daily quota' : 'Budget'} exceeded${colon(s(d.reason))}`,
        tone: 'bad',
      };
    case 'model.waiting':
      return { text: 'Waiting for the model endpoint (circuit breaker)', tone: 'info' };
    case 'loop.detected':
      return { text: `The Coder repeated itself${colon(s(d.what))}`, tone: 'bad' };
    case 'pr.opened':
      return {
        text: with_(
          'Pull request',
          s(d.number) && `#${s(d.number)}`,
          d.draft === true ? 'opened as a draft' : 'opened',
        ),
        tone: 'info',
      };
    case 'pr.ready':
      return {
        text: with_('Pull request', s(d.number) && `#${s(d.number)}`, 'ready for review'),
        tone: 'good',
      };
    case 'pr.revert_opened':
      return { text: with_('Revert pull request', s(d.number) && `#${s(d.number)}`, 'opened'), tone: 'info' };
    case 'pr.state':
      return {
        text: with_('Pull request', s(d.number) && `#${s(d.number)}`, s(d.state)),
        tone: d.state === 'merged' ? 'good' : 'info',
      };
    case 'memory.stored':
      return { text: 'Kept in the experience memory', tone: 'info' };
    case 'memory.recalled':
      return {
        text: with_(
          'Recalled',
          Array.isArray(d.memories) ? plural(d.memories.length, 'earlier task') : 'earlier tasks',
        ),
        tone: 'info',
      };
    default:
      return { text: e.type, tone: 'info' };
  }
}

/** Event types that are noise when reading along (kept behind "all events"). */
export const QUIET_TYPES: ReadonlySet<string> = new Set(['cost.recorded', 'step.announced']);
