// The task list (`GET /v1/tasks`), newest first; statuses follow the live board between fetches.
import { type Accessor, createEffect, createResource, createSignal, For, on, Show } from 'solid-js';
import { api } from '../api.ts';
import type { BoardState } from '../lib/board.ts';
import type { TaskList, TaskSummary } from '../types.ts';
import { StatusBadge } from './Status.tsx';

export function TaskListView(props: { board: Accessor<BoardState> }) {
  const [extra, setExtra] = createSignal<TaskSummary[]>([]);
  const [cursor, setCursor] = createSignal<string | null>(null);
  const [list, { refetch }] = createResource(async () => {
    const page = await api<TaskList>('GET', '/v1/tasks?limit=50');
    setExtra([]);
    setCursor(page.nextCursor);
    return page.items;
  });
  const [more, setMore] = createSignal(false);
  const loadMore = async () => {
    const c = cursor();
    if (!c) return;
    setMore(true);
    try {
      const page = await api<TaskList>('GET', `/v1/tasks?limit=50&cursor=${encodeURIComponent(c)}`);
      setExtra((x) => [...x, ...page.items]);
      setCursor(page.nextCursor);
    } finally {
      setMore(false);
    }
  };
  const rows = () => [...(list() ?? []), ...extra()];

  // A task key the list does not know yet: a new task was submitted; fetch the first page again.
  let timer: ReturnType<typeof setTimeout> | undefined;
  createEffect(
    on(props.board, (b) => {
      if (list.loading || !list()) return;
      const known = new Set(rows().map((r) => r.id));
      const unknown = Object.keys(b).some((k) => k.startsWith('task.') && !known.has(k.slice(5)));
      if (unknown && !timer)
        timer = setTimeout(() => {
          timer = undefined;
          void refetch();
        }, 1000);
    }),
  );

  const liveStatus = (t: TaskSummary) =>
    (props.board()[`task.${t.id}`]?.value as { status?: string } | null | undefined)?.status ?? t.status;

  return (
    <section>
      <h2>Tasks</h2>
      <Show when={list.error}>
        <p class="error">Could not load the tasks: {(list.error as Error).message}</p>
      </Show>
      <Show when={list()} fallback={<p class="muted">Loading…</p>}>
        <Show when={rows().length > 0} fallback={<p class="muted">No tasks you can see yet.</p>}>
          <table class="tasks">
            <thead>
              <tr>
                <th>task</th>
                <th>repository</th>
                <th>status</th>
                <th>attempt</th>
                <th>created</th>
              </tr>
            </thead>
            <tbody>
              <For each={rows()}>
                {(t) => (
                  <tr>
                    <td>
                      <a href={`#/tasks/${t.id}`}>{t.title}</a>
                      <div class="muted mono small">{t.id}</div>
                    </td>
                    <td class="small" title={t.repository?.path ?? ''}>
                      {t.repository?.name ?? '—'}
                    </td>
                    <td>
                      <StatusBadge status={liveStatus(t)} />
                    </td>
                    <td>{t.attempt}</td>
                    <td class="small">{new Date(t.createdAt).toLocaleString()}</td>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
          <Show when={cursor()}>
            <button type="button" disabled={more()} onClick={loadMore}>
              More
            </button>
          </Show>
        </Show>
      </Show>
    </section>
  );
}
