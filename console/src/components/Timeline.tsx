// The task's event timeline, live: `GET /v1/tasks/{id}/events` read as SSE through fetch, resumed with
// Last-Event-ID after a drop, closed after the task's terminal event.
import { createSignal, For, onCleanup, Show } from 'solid-js';
import { followSse } from '../api.ts';
import type { TaskEvent } from '../types.ts';

const TERMINAL = new Set(['task.completed', 'task.failed', 'task.rolled_back', 'task.abstained']);

export function Timeline(props: { taskId: string; onEvent?: (e: TaskEvent) => void }) {
  const [events, setEvents] = createSignal<Array<{ seq: string; event: TaskEvent }>>([]);
  const [state, setState] = createSignal('connecting');
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
  const detail = (e: TaskEvent) => {
    const parts: string[] = [];
    if (e.step) parts.push(`${e.step.kind} #${e.step.attempt}${e.step.round ? ` r${e.step.round}` : ''}`);
    for (const [k, v] of Object.entries(e.data))
      parts.push(`${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`.slice(0, 160));
    return parts.join(' · ');
  };
  return (
    <div class="timeline">
      <p class="small muted">stream {state()}</p>
      <Show when={events().length > 0} fallback={<p class="muted">No events yet.</p>}>
        <ol>
          <For each={events()}>
            {({ event }) => (
              <li class={`ev ev-${event.type.split('.')[0]}`}>
                <time class="small muted">{new Date(event.at).toLocaleTimeString()}</time>
                <span class="ev-type mono">{event.type}</span>
                <span class="small">{detail(event)}</span>
              </li>
            )}
          </For>
        </ol>
      </Show>
    </div>
  );
}
