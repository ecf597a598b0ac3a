// The task list (`GET /v1/tasks`), newest first; statuses follow the live board between fetches. A search box
// filters the rows shown (title, id, repository, status); `j`/`k` move through them, Enter opens one.
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
import type { BoardState } from '../lib/board.ts';
import type { TaskList, TaskSummary } from '../types.ts';
import { StatusBadge } from './Status.tsx';

export const LIST_MOVE_EVENT = 'codemesh:list-move';

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
  const [query, setQuery] = createSignal('');
  const all = () => [...(list() ?? []), ...extra()];
  const rows = () => {
    const q = query().trim().toLowerCase();
    if (!q) return all();
    return all().filter((t) =>
      [t.title, t.id, t.repository?.name ?? '', liveStatus(t)].some((x) => x.toLowerCase().includes(q)),
    );
  };

  // `j`/`k`: the selected row's link takes the focus, so Enter opens it.
  const [selected, setSelected] = createSignal(-1);
  let body: HTMLTableSectionElement | undefined;
  const onMove = (e: Event) => {
    const n = rows().length;
    if (n === 0) return;
    const step = (e as CustomEvent<number>).detail;
    const next = Math.min(n - 1, Math.max(0, selected() + step));
    setSelected(next);
    body?.querySelectorAll<HTMLAnchorElement>('a.task-link')[next]?.focus();
  };
  window.addEventListener(LIST_MOVE_EVENT, onMove);
  onCleanup(() => window.removeEventListener(LIST_MOVE_EVENT, onMove));

  // A task key the list does not know yet: a new task was submitted; fetch the first page again.
  let timer: ReturnType<typeof setTimeout> | undefined;
  createEffect(
    on(props.board, (b) => {
      if (list.loading || !list()) return;
      const known = new Set(all().map((r) => r.id));
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
      <div class="row list-head">
        <h1>Tasks</h1>
        <a class="button primary" href="#/new">
          New task
        </a>
        <input
          type="search"
          data-search
          aria-label="Search tasks"
          placeholder="Search tasks ( / )"
          value={query()}
          onInput={(e) => {
            setQuery(e.currentTarget.value);
            setSelected(-1);
          }}
        />
      </div>
      <Show when={list.error}>
        <p class="error">Could not load the tasks: {(list.error as Error).message}</p>
      </Show>
      <Show when={list()} fallback={<p class="muted">Loading…</p>}>
        <Show
          when={rows().length > 0}
          fallback={<p class="muted">{query() ? 'No task matches.' : 'No tasks you can see yet.'}</p>}
        >
          <table class="tasks">
            <thead>
              <tr>
                <th scope="col">task</th>
                <th scope="col">repository</th>
                <th scope="col">status</th>
                <th scope="col">attempt</th>
                <th scope="col">created</th>
              </tr>
            </thead>
            <tbody ref={body}>
              <For each={rows()}>
                {(t, i) => (
                  <tr classList={{ selected: i() === selected() }}>
                    <td>
                      <a class="task-link" href={`#/tasks/${t.id}`} onFocus={() => setSelected(i())}>
                        {t.title}
                      </a>
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
