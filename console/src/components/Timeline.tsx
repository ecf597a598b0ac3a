// The task's event timeline, live: `GET /v1/tasks/{id}/events` read as SSE through fetch, resumed with
// Last-Event-ID after a drop, closed after the task's terminal event. Each event is a sentence with its clock
// time and the time since the task started; the raw event data is behind a toggle, model calls behind another.
import { createMemo, createSignal, For, onCleanup, Show } from 'solid-js';
import { followSse } from '../api.ts';
import { clock, instant } from '../lib/time.ts';
import { describeEvent, QUIET_TYPES } from '../lib/timeline.ts';
import type { TaskEvent } from '../types.ts';

const TERMINAL = new Set(['task.completed', 'task.failed', 'task.rolled_back', 'task.abstained']);

/** `m:ss` (or `h:mm:ss`) since the task's first event. */
const since = (ms: number) => {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `+${h}:${String(m).padStart(2, '0')}:${ss}` : `+${m}:${ss}`;
};

export function Timeline(props: { taskId: string; onEvent?: (e: TaskEvent) => void }) {
  const [events, setEvents] = createSignal<Array<{ seq: string; event: TaskEvent }>>([]);
  const [state, setState] = createSignal('connecting');
  const [raw, setRaw] = createSignal(false);
  const [quiet, setQuiet] = createSignal(false);
  const ac = new AbortController();
  onCleanup(() => ac.abort());
  void followSse(`/v1/tasks/${props.taskId}/events`, {
    signal: ac.signal,
    resume: true,
    isLast: (m) => TERMINAL.has(m.event),
    onState: (s, err) => setState(err ? `${s}: ${err.message}` : s),
    onMessage(m) {
      if (m.event === 'error') return;
      try {
        const event = JSON.parse(m.data) as TaskEvent;
        setEvents((xs) => [...xs, { seq: m.id ?? '', event }]);
        props.onEvent?.(event);
      } catch {
        // Not an event of ours: ignore it.
      }
    },
  });
  const start = () => instant(events()[0]?.event.at);
  const shown = createMemo(() =>
    quiet() ? events() : events().filter((x) => !QUIET_TYPES.has(x.event.type)),
  );
  const hidden = () => events().length - shown().length;
  return (
    <div class="timeline">
      <div class="row small">
        <span class="muted">stream {state()}</span>
        <label>
          <input type="checkbox" checked={quiet()} onChange={(e) => setQuiet(e.currentTarget.checked)} />
          model calls and offers{hidden() ? ` (${hidden()} hidden)` : ''}
        </label>
        <label>
          <input type="checkbox" checked={raw()} onChange={(e) => setRaw(e.currentTarget.checked)} />
          raw event data
        </label>
      </div>
      <Show when={shown().length > 0} fallback={<p class="muted">No events yet.</p>}>
        <ol>
          <For each={shown()}>
            {({ event }) => {
              const line = describeEvent(event);
              const at = instant(event.at);
              const t0 = start();
              return (
                <li class={`ev ev-${event.type.split('.')[0]} tone-${line.tone}`}>
                  <time class="small muted ev-time" datetime={event.at} title={event.at}>
                    {clock(event.at, Date.now())}
                    {at !== undefined && t0 !== undefined ? ` ${since(at - t0)}` : ''}
                  </time>
                  <span class="ev-text">{line.text}</span>
                  <span class="ev-type mono small">{event.type}</span>
                  <Show when={raw()}>
                    <pre class="ev-raw small">
                      {JSON.stringify(
                        { ...(event.step ? { step: event.step } : {}), ...event.data },
                        null,
                        1,
                      )}
                    </pre>
                  </Show>
                </li>
              );
            }}
          </For>
        </ol>
      </Show>
    </div>
  );
}
