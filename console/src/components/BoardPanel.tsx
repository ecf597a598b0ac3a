// The live blackboard: every key the caller may see with its latest revision; a change flashes its row.
import { type Accessor, createMemo, createSignal, For, Show } from 'solid-js';
import { type BoardRow, type BoardState, keyOfTask, sortedRows } from '../lib/board.ts';

const MAX_ROWS = 300;
/** A row flashes when it is created for a new revision, not when a filter change re-creates an old one. */
const flashes = (r: BoardRow) => r.changed && Date.now() - r.seenAt < 2000;

export function BoardPanel(props: { board: Accessor<BoardState>; taskId: string | undefined }) {
  const [filter, setFilter] = createSignal('');
  const [onlyTask, setOnlyTask] = createSignal(true);
  const [open, setOpen] = createSignal<string>();
  const rows = createMemo(() => {
    const id = props.taskId;
    const all = sortedRows(props.board(), filter());
    return id && onlyTask() ? all.filter((r) => keyOfTask(r.key, id)) : all;
  });
  return (
    <div class="board">
      <h2>Blackboard</h2>
      <div class="row">
        <input
          type="search"
          data-search
          placeholder="filter keys"
          aria-label="filter keys"
          value={filter()}
          onInput={(e) => setFilter(e.currentTarget.value)}
        />
        <Show when={props.taskId}>
          <label class="small">
            <input
              type="checkbox"
              checked={onlyTask()}
              onChange={(e) => setOnlyTask(e.currentTarget.checked)}
            />
            this task
          </label>
        </Show>
      </div>
      <p class="small muted">
        {rows().length} key{rows().length === 1 ? '' : 's'}
        {rows().length > MAX_ROWS ? ` (newest ${MAX_ROWS} shown)` : ''}
      </p>
      <ul class="keys">
        <For each={rows().slice(0, MAX_ROWS)}>
          {(r: BoardRow) => (
            <li class={`key${flashes(r) ? ' flash' : ''}${r.op !== 'PUT' ? ' deleted' : ''}`}>
              <button
                type="button"
                class="key-row"
                aria-expanded={open() === r.key}
                onClick={() => setOpen(open() === r.key ? undefined : r.key)}
              >
                <span class={`kind kind-${r.kind}`}>{r.kind}</span>
                <span class="mono small key-name">{r.key.slice(r.kind.length + 1)}</span>
                <span class="rev small" title="revision">
                  r{r.revision}
                </span>
              </button>
              <Show when={open() === r.key}>
                <section class="value-scroll" tabindex="0" aria-label={`value of ${r.key}`}>
                  <pre class="value">{r.op === 'PUT' ? JSON.stringify(r.value, null, 2) : r.op}</pre>
                </section>
              </Show>
            </li>
          )}
        </For>
      </ul>
    </div>
  );
}
