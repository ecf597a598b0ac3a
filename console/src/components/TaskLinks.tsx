// The task's links out of the console: its issue and its GitHub pull request (with state), when it has them.
import { For, Show } from 'solid-js';
import { outLinks } from '../lib/pr.ts';
import type { TaskDetail } from '../types.ts';

export function TaskLinks(props: { detail: TaskDetail }) {
  const links = () => outLinks(props.detail);
  return (
    <Show when={links().length > 0}>
      <p class="pr-line small">
        <For each={links()}>
          {(l) => (
            <span>
              <a href={l.url} target="_blank" rel="noopener noreferrer">
                {l.label}
              </a>
              {l.state ? ` (${l.state})` : ''}
            </span>
          )}
        </For>
      </p>
    </Show>
  );
}
