// One task, summary first: status, what changed, tests, risk, confidence, cost; then the gates, plan DAG,
// retrieved context, patches side by side, test runs, reviews, chat and the live timeline. The detail
// (`GET /v1/tasks/{id}`) is fetched again when one of the task's blackboard keys changes.
import {
  type Accessor,
  createEffect,
  createResource,
  createSignal,
  For,
  on,
  onCleanup,
  Show,
} from 'solid-js';
import { api } from '../api.ts';
import { type BoardState, keyOfTask } from '../lib/board.ts';
import { gatePatches } from '../lib/gate.ts';
import { memoriesUsed } from '../lib/memories.ts';
import type { TaskDetail, TaskEvent } from '../types.ts';
import { ApprovalBox } from './ApprovalBox.tsx';
import { BudgetGateBox } from './BudgetGateBox.tsx';
import { ChatPanel } from './ChatPanel.tsx';
import { ContextView } from './ContextView.tsx';
import { MemoriesView } from './MemoriesView.tsx';
import { PatchView } from './PatchView.tsx';
import { PlanGateBox } from './PlanGateBox.tsx';
import { PlanDag } from './PlanDag.tsx';
import { ReviewView } from './ReviewView.tsx';
import { RollbackBox } from './RollbackBox.tsx';
import { StatusBadge } from './Status.tsx';
import { TaskLinks } from './TaskLinks.tsx';
import { TaskSummary } from './TaskSummary.tsx';
import { TestRunView } from './TestRuns.tsx';
import { Timeline } from './Timeline.tsx';

/** The patch a completed task integrated (the workflow's `patchId`). */
const integrated = (d: TaskDetail) => {
  const p = d.task.workflow?.context.patchId;
  return typeof p === 'string' ? p : undefined;
};

export function TaskView(props: { id: string; board: Accessor<BoardState> }) {
  const [detail, { refetch }] = createResource(
    () => props.id,
    (id) => api<TaskDetail>('GET', `/v1/tasks/${id}`),
  );

  // The newest moment one of this task's keys changed; a later one means the detail is stale.
  const lastChange = () => {
    let t = 0;
    for (const r of Object.values(props.board()))
      if (keyOfTask(r.key, props.id) && r.seenAt > t) t = r.seenAt;
    return t;
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const refreshSoon = () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void refetch();
    }, 300);
  };
  createEffect(on(lastChange, (t, prev) => prev !== undefined && t > prev && refreshSoon(), { defer: true }));
  onCleanup(() => timer && clearTimeout(timer));

  // The task's `memory.recalled` events, as the timeline receives them (reset when the view shows another task).
  const [recalled, setRecalled] = createSignal<TaskEvent[]>([]);
  createEffect(
    on(
      () => props.id,
      () => setRecalled([]),
    ),
  );
  const onEvent = (e: TaskEvent) => {
    if (e.type === 'memory.recalled' && e.taskId === props.id) setRecalled((xs) => [...xs, e]);
    refreshSoon();
  };

  const gate = () => gatePatches(detail());
  // A change request needs an attempt left (the gateway answers 409 NO_ATTEMPTS_LEFT otherwise).
  const attemptsLeft = () => {
    const t = detail()?.task;
    const max = t?.workflow?.context.maxAttempts;
    const at = t?.workflow?.context.attempt;
    return !t || typeof max !== 'number' || (typeof at === 'number' ? at : t.attempt) < max;
  };
  const kept = () => {
    const k = detail()?.task.workflow?.context.keptPatchId;
    return typeof k === 'string' ? k : undefined;
  };

  return (
    <section class="task">
      <p>
        <a href="#/">← tasks</a>
      </p>
      <Show when={detail.error}>
        <p class="error">Could not load the task: {(detail.error as Error).message}</p>
      </Show>
      <Show when={detail()} fallback={<p class="muted">Loading…</p>}>
        {(d) => (
          <>
            <header class="task-head">
              <h1>{d().task.request?.title ?? d().task.id}</h1>
              <div class="row">
                <StatusBadge status={d().task.status} />
                <span class="mono small">{d().task.id}</span>
                <Show when={d().repository}>
                  {(r) => (
                    <span class="small" title={r().path}>
                      repo {r().name}
                    </span>
                  )}
                </Show>
                <span class="small muted">attempt {d().task.attempt}</span>
                <Show when={d().task.branch}>
                  <span class="mono small">branch {d().task.branch}</span>
                </Show>
                <Show when={d().source === 'record'}>
                  <span class="small muted">(from the record: the task left the blackboard)</span>
                </Show>
              </div>
              <TaskLinks detail={d()} />
              <Show when={d().task.reason}>
                <p class="error">{d().task.reason}</p>
              </Show>
              <Show when={d().task.request?.description}>
                <p class="description">{d().task.request!.description}</p>
              </Show>
            </header>

            <TaskSummary detail={d()} />

            <RollbackBox
              rollback={d().rollback}
              patchId={d().task.status === 'completed' && d().task.commit ? integrated(d()) : undefined}
              onDone={() => void refetch()}
            />

            <Show when={d().task.status === 'awaiting_plan_approval'}>
              <PlanGateBox taskId={d().task.id} onDone={() => void refetch()} />
            </Show>

            <Show when={d().task.status === 'awaiting_budget'}>
              <BudgetGateBox taskId={d().task.id} onDone={() => void refetch()} />
            </Show>

            <Show when={d().task.revisionFailed}>
              {(f) => (
                <p class="error">
                  The revision (attempt {f().attempt}) failed: {f().reason}. Back at the gate with{' '}
                  <span class="mono">{f().patchId}</span>, which can still be approved.
                </p>
              )}
            </Show>
            <For each={gate().ids}>
              {(pid) => (
                <ApprovalBox
                  patchId={pid}
                  requestChanges={gate().requestChanges}
                  note={
                    pid === kept()
                      ? gate().requestChanges
                        ? 'Kept from your change request: still approvable.'
                        : 'A revision of this patch is under way; you can still approve this one.'
                      : undefined
                  }
                  onDone={() => void refetch()}
                />
              )}
            </For>

            <h2>Plan</h2>
            <Show when={d().planApproval}>
              {(a) => (
                <p class="small muted">
                  Plan {a().decision === 'approve' ? 'approved' : 'rejected'} by {a().byName ?? a().by}
                  {a().plan ? ' (edited)' : ''}
                  {a().comment ? `: ${a().comment}` : ''}
                </p>
              )}
            </Show>
            <Show when={d().plan} fallback={<p class="muted">No plan yet.</p>}>
              {(plan) => <PlanDag plan={plan()} />}
            </Show>

            <ContextView taskId={d().task.id} version={d().task.status} />
            <MemoriesView memories={memoriesUsed(recalled())} />

            <h2>Patches</h2>
            <Show when={d().patches.length} fallback={<p class="muted">No patch yet.</p>}>
              <For each={[...d().patches].reverse()}>
                {(p, i) => (
                  <PatchView
                    patch={p}
                    open={i() === 0}
                    plan={d().plan}
                    approvable={gate().ids.includes(p.id)}
                    canComment={gate().requestChanges && attemptsLeft() && gate().ids.includes(p.id)}
                    docs={d().task.request?.docs === true}
                    version={`${d().task.status}:${d().task.attempt}`}
                    onDone={() => void refetch()}
                  />
                )}
              </For>
            </Show>

            <h2>Test runs</h2>
            <Show when={d().testRuns.length} fallback={<p class="muted">No test run yet.</p>}>
              <For each={[...d().testRuns].reverse()}>{(r) => <TestRunView run={r} />}</For>
            </Show>

            <h2>Reviews</h2>
            <Show when={d().reviews.length} fallback={<p class="muted">No review yet.</p>}>
              <For each={[...d().reviews].reverse()}>{(r) => <ReviewView review={r} />}</For>
            </Show>

            {/* Keyed: the view is reused for another task, whose thread starts empty. */}
            <Show when={d().task.id} keyed>
              {(tid) => <ChatPanel taskId={tid} />}
            </Show>
          </>
        )}
      </Show>
      <h2>Timeline</h2>
      <Show when={props.id} keyed>
        {(id) => <Timeline taskId={id} onEvent={onEvent} />}
      </Show>
    </section>
  );
}
