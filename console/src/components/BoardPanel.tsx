// The live blackboard in entities: each key as what it is (task, subtask, patch, lock, award, ...) with its
// state, holder, lease time left and when it changed; the raw JSON of a key is behind its own toggle. A change
// flashes its row.
import { type Accessor, createMemo, createSignal, For, onCleanup, Show } from 'solid-js';
import { type BoardRow, type BoardState, keyOfTask, sortedRows } from '../lib/board.ts';
import { type Entity, entityMatches, entityOf } from '../lib/entities.ts';
import { clock, relative, timeLeft } from '../lib/time.ts';

const MAX_ROWS = 300;
/** `j`/`k` outside the task list: the focus moves through the entries' raw-JSON toggles (Enter opens one). */
export const BOARD_MOVE_EVENT = 'codemesh:board-move';
/** A row flashes when it is created for a new revision, not when a filter change re-creates an old one. */
const flashes = (r: BoardRow) => r.changed && Date.now() - r.seenAt < 2000;
/** DOM ids from keys (they hold dots and may be long). */
const domId = (key: string) => `raw-${key.replace(/[^a-zA-Z0-9_-]/g, '_')}`;
/** A row object is replaced only by a new revision: its entity is worked out once per revision. */
const entities = new WeakMap<BoardRow, Entity>();
const entity = (r: BoardRow): Entity => {
  const held = entities.get(r);
  if (held) return held;
  const e = entityOf(r);
  entities.set(r, e);
  return e;
};

export function BoardPanel(props: { board: Accessor<BoardState>; taskId: string | undefined }) {
  const [filter, setFilter] = createSignal('');
  const [onlyTask, setOnlyTask] = createSignal(true);
  const [open, setOpen] = createSignal<string>();
  // Time left and "ago" tick once a second; the rows themselves are not re-created.
  const [now, setNow] = createSignal(Date.now());
  const tick = setInterval(() => setNow(Date.now()), 1000);
  onCleanup(() => clearInterval(tick));
  let list: HTMLUListElement | undefined;
  const onMove = (ev: Event) => {
    const toggles = [...(list?.querySelectorAll<HTMLButtonElement>('button.raw-toggle') ?? [])];
    if (!toggles.length) return;
    const at = toggles.indexOf(document.activeElement as HTMLButtonElement);
    const step = (ev as CustomEvent<number>).detail;
    const next =
      at < 0 ? (step > 0 ? 0 : toggles.length - 1) : Math.min(toggles.length - 1, Math.max(0, at + step));
    toggles[next]?.focus();
  };
  window.addEventListener(BOARD_MOVE_EVENT, onMove);
  onCleanup(() => window.removeEventListener(BOARD_MOVE_EVENT, onMove));
  const rows = createMemo(() => {
    const id = props.taskId;
    return sortedRows(props.board()).filter(
      (r) => (!(id && onlyTask()) || keyOfTask(r.key, id)) && entityMatches(r, entity(r), filter()),
    );
  });
  return (
    <div class="board">
      <h2>Blackboard</h2>
      <div class="row">
        <input
          type="search"
          data-search
          placeholder="filter: key, name, holder, state"
          aria-label="filter the blackboard"
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
        {rows().length} entr{rows().length === 1 ? 'y' : 'ies'}
        {rows().length > MAX_ROWS ? ` (newest ${MAX_ROWS} shown)` : ''}
      </p>
      <ul class="keys" ref={list}>
        <For each={rows().slice(0, MAX_ROWS)}>
          {(r) => {
            const e = entity(r);
            return (
              <li
                class={`key entity${flashes(r) ? ' flash' : ''}${r.op !== 'PUT' ? ' deleted' : ''}`}
                data-key={r.key}
              >
                <div class="entity-head">
                  <span class={`kind kind-${r.kind}`}>{r.kind}</span>
                  <span class="entity-title" title={r.key}>
                    {e.title}
                  </span>
                  <Show when={e.state}>
                    <span class={`ent-state st-${e.state!.replace(/\s+/g, '-')}`}>{e.state}</span>
                  </Show>
                </div>
                <div class="entity-meta small">
                  <Show when={e.holder}>
                    <span>
                      held by <span class="mono">{e.holder}</span>
                    </span>
                  </Show>
                  <Show when={e.leaseUntil !== undefined}>
                    <span class="lease" classList={{ expired: e.leaseUntil! <= now() }}>
                      {timeLeft(e.leaseUntil!, now())}
                    </span>
                  </Show>
                  <Show when={e.at !== undefined}>
                    <time datetime={new Date(e.at!).toISOString()} title={new Date(e.at!).toISOString()}>
                      {clock(e.at!, now())} ({relative(e.at!, now())})
                    </time>
                  </Show>
                  <For each={e.facts}>
                    {(f) => (
                      <span>
                        <span class="muted">{f.label}</span> {f.value}
                      </span>
                    )}
                  </For>
                </div>
                <button
                  type="button"
                  class="link small raw-toggle"
                  aria-expanded={open() === r.key}
                  aria-controls={domId(r.key)}
                  onClick={() => setOpen(open() === r.key ? undefined : r.key)}
                >
                  {open() === r.key ? 'hide' : 'raw'} JSON <span class="rev">r{r.revision}</span>
                </button>
                <Show when={open() === r.key}>
                  <section
                    class="value-scroll"
                    id={domId(r.key)}
                    tabindex="0"
                    aria-label={`value of ${r.key}`}
                  >
                    <p class="small muted mono key-full">{r.key}</p>
                    <pre class="value">{r.op === 'PUT' ? JSON.stringify(r.value, null, 2) : r.op}</pre>
                  </section>
                </Show>
              </li>
            );
          }}
        </For>
      </ul>
    </div>
  );
}
