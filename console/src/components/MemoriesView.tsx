// Which earlier tasks of the repository the task's agents were shown (experience memory), with each one's
// outcome — a rejected or reverted approach is marked — how it was found and which steps saw it.
import { For, Show } from 'solid-js';
import type { UsedMemory } from '../lib/memories.ts';

export function MemoriesView(props: { memories: UsedMemory[] }) {
  return (
    <section class="memories" aria-labelledby="mem-h">
      <h2 id="mem-h">Memories used</h2>
      <Show
        when={props.memories.length > 0}
        fallback={<p class="muted">No earlier task of this repository was recalled.</p>}
      >
        <ul>
          <For each={props.memories}>
            {(m) => (
              <li>
                <a href={`#/tasks/${encodeURIComponent(m.taskId)}`}>{m.title || m.taskId}</a>{' '}
                <span class="mono small">{m.patchId}</span>{' '}
                <Show
                  when={m.outcome === 'rejected' || m.outcome === 'reverted'}
                  fallback={<span>{m.outcome}</span>}
                >
                  <strong>{m.outcome}: not to be proposed again unawares</strong>
                </Show>{' '}
                <span class="small muted">
                  score {m.score.toFixed(2)} · found by {m.via.join(', ') || 'search'} · shown to{' '}
                  {m.steps.join(', ') || 'a step'}
                </span>
              </li>
            )}
          </For>
        </ul>
      </Show>
    </section>
  );
}
