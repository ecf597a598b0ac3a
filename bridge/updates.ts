// Which events a bridge posts, and how each reads: one line of text and, where a human acts next, a link.
// To post another event, add its type to UPDATES. Campaign events (`campaign.*`, taskId = the campaign id) carry
// their campaign's title and repository in `data` (schemas/campaign.ts, campaignStreamEvent).
import type { TaskEvent } from '../schemas/index.ts';

/** One chat update: the same content for every kind of bridge (each renders it in its own format). */
export interface Update {
  /** The event's id: the idempotency key of the post (Matrix txnId, webhook `Idempotency-Key`). */
  id: string;
  type: string;
  taskId: string;
  at: string;
  /** One line, plain text (task titles are user text: rendered escaped by each format). */
  text: string;
  /** Where to look or act (the console's task page). */
  link?: { url: string; label: string };
}

/** What the formatter knows besides the event: the task's title when the blackboard has it, the link base. */
export interface UpdateContext {
  title?: string;
  linkUrl: string;
}

type Format = (e: TaskEvent, ctx: UpdateContext) => Omit<Update, 'id' | 'type' | 'taskId' | 'at'>;

const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
const short = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const named = (e: TaskEvent, ctx: UpdateContext) =>
  `task ${e.taskId}${ctx.title ? ` "${short(ctx.title, 120)}"` : ''}`;
export const taskLink = (ctx: UpdateContext, taskId: string) => ({
  url: `${ctx.linkUrl}/console/#/tasks/${encodeURIComponent(taskId)}`,
  label: 'open in the console',
});
const by = (e: TaskEvent) => str(e.data.byName) ?? str(e.data.by);
export const campaignLink = (ctx: UpdateContext, campaignId: string) => ({
  url: `${ctx.linkUrl}/console/#/campaigns/${encodeURIComponent(campaignId)}`,
  label: 'open the campaign',
});
const campaign = (e: TaskEvent) =>
  `campaign ${e.taskId}${str(e.data.title) ? ` "${short(str(e.data.title)!, 120)}"` : ''}`;
const detail = (e: TaskEvent) => (str(e.data.detail) ? `: ${short(str(e.data.detail)!)}` : '');
const repoOf = (e: TaskEvent) => str(e.data.repo) ?? str(e.data.repoId) ?? '?';
const REPO_STATE_ICON: Record<string, string> = {
  awaiting_approval: '⏸️',
  pr_open: '📬',
  merged: '✅',
  failed: '❌',
  cancelled: '⏹️',
};

/** The event types a bridge posts, and their text. */
export const UPDATES: Readonly<Partial<Record<TaskEvent['type'], Format>>> = {
  'task.created': (e, ctx) => ({
    text: `▶️ ${named(e, { ...ctx, title: ctx.title ?? str(e.data.title) })} started`,
    link: taskLink(ctx, e.taskId),
  }),
  'plan.approval_requested': (e, ctx) => ({
    text: `⏸️ ${named(e, ctx)}: the plan awaits approval`,
    link: { ...taskLink(ctx, e.taskId), label: 'review the plan' },
  }),
  'approval.requested': (e, ctx) => ({
    text: `⏸️ ${named(e, ctx)} awaits approval of patch ${str(e.data.patchId) ?? '?'} — reply \`approve ${e.taskId}\` or \`reject ${e.taskId} <what should change>\``,
    link: { ...taskLink(ctx, e.taskId), label: 'review the patch' },
  }),
  'approval.granted': (e, ctx) => ({
    text: `👍 ${named(e, ctx)}: patch ${str(e.data.patchId) ?? '?'} approved${by(e) ? ` by ${by(e)}` : ''}`,
  }),
  'approval.changes_requested': (e, ctx) => ({
    text: `✍️ ${named(e, ctx)}: changes requested${by(e) ? ` by ${by(e)}` : ''}: ${short(str(e.data.comment) ?? '')}`,
  }),
  'task.completed': (e, ctx) => ({
    text: `✅ ${named(e, ctx)} completed${str(e.data.branch) ? ` on ${str(e.data.branch)}` : ''}`,
    link: taskLink(ctx, e.taskId),
  }),
  'task.failed': (e, ctx) => ({
    text: `❌ ${named(e, ctx)} failed: ${short(str(e.data.reason) ?? 'no reason given')}`,
    link: taskLink(ctx, e.taskId),
  }),
  'task.abstained': (e, ctx) => ({
    text: `🤷 ${named(e, ctx)} abstained (no candidate was good enough): ${short(str(e.data.reason) ?? '')}`,
    link: taskLink(ctx, e.taskId),
  }),
  'rollback.requested': (e, ctx) => ({
    text: `↩️ ${named(e, ctx)}: rollback of ${str(e.data.patchId) ?? 'its patch'} requested${by(e) ? ` by ${by(e)}` : ''}`,
  }),
  'task.rolled_back': (e, ctx) => ({
    text: `↩️ ${named(e, ctx)} rolled back${str(e.data.branch) ? ` on ${str(e.data.branch)}` : ''}`,
    link: taskLink(ctx, e.taskId),
  }),
  'campaign.created': (e, ctx) => ({
    text: `🗺️ ${campaign(e)} created${detail(e)}`,
    link: campaignLink(ctx, e.taskId),
  }),
  'campaign.paused': (e, ctx) => ({
    text: `⏸️ ${campaign(e)} paused${detail(e)}`,
    link: campaignLink(ctx, e.taskId),
  }),
  'campaign.resumed': (e) => ({ text: `▶️ ${campaign(e)} resumed${detail(e)}` }),
  'campaign.cancelled': (e, ctx) => ({
    text: `⏹️ ${campaign(e)} cancelled${detail(e)}`,
    link: campaignLink(ctx, e.taskId),
  }),
  'campaign.completed': (e, ctx) => ({
    text: `🏁 ${campaign(e)} completed${detail(e)}`,
    link: campaignLink(ctx, e.taskId),
  }),
  'campaign.failed': (e, ctx) => ({
    text: `❌ ${campaign(e)} failed${detail(e)}`,
    link: campaignLink(ctx, e.taskId),
  }),
  'campaign.waiting': (e) => ({ text: `⏳ ${campaign(e)} waits${detail(e)}` }),
  'campaign.repo.started': (e, ctx) => ({
    text: `▶️ ${campaign(e)}: ${repoOf(e)} started as task ${str(e.data.repoTaskId) ?? '?'}${detail(e)}`,
    ...(str(e.data.repoTaskId) ? { link: taskLink(ctx, str(e.data.repoTaskId)!) } : {}),
  }),
  'campaign.repo.state': (e, ctx) => ({
    text: `${REPO_STATE_ICON[str(e.data.state) ?? ''] ?? '•'} ${campaign(e)}: ${repoOf(e)} ${(str(e.data.state) ?? '?').replace('_', ' ')}${detail(e)}`,
    ...(str(e.data.repoTaskId)
      ? { link: taskLink(ctx, str(e.data.repoTaskId)!) }
      : { link: campaignLink(ctx, e.taskId) }),
  }),
  'campaign.repo.retried': (e, ctx) => ({
    text: `🔁 ${campaign(e)}: ${repoOf(e)} retried${detail(e)}`,
    link: campaignLink(ctx, e.taskId),
  }),
};

export const DEFAULT_UPDATE_TYPES: readonly string[] = Object.keys(UPDATES);

/** The update an event makes, or undefined when the bridge does not post it (`types`: the posted types). */
export function updateFor(
  e: TaskEvent,
  ctx: UpdateContext,
  types: readonly string[] = DEFAULT_UPDATE_TYPES,
): Update | undefined {
  const format = UPDATES[e.type];
  if (!format || !types.includes(e.type)) return undefined;
  return { id: e.id, type: e.type, taskId: e.taskId, at: e.at, ...format(e, ctx) };
}
