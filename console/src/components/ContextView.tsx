// The retrieved context the plan was made from (`context` of `GET /v1/tasks/{id}/plan`): each snippet's
// source as path:lines, its symbol, the retriever's score and why it was chosen.
import { createResource, For, Show } from 'solid-js';
import { api } from '../api.ts';
import type { PlanGate } from '../types.ts';

export function ContextView(props: {
  taskId: string /** Changes when the task moved on: fetch again. */;
  version: string;
}) {
  const [gate] = createResource(
    () => [props.taskId, props.version] as const,
    ([id]) => api<PlanGate>('GET', `/v1/tasks/${id}/plan`),
  );
  const snippets = () => gate()?.context?.snippets ?? [];
  return (
    <section class="context" aria-labelledby="ctx-h">
      <h2 id="ctx-h">Retrieved context</h2>
      <Show when={gate.error}>
        <p class="muted small">No retrieved context: {(gate.error as Error).message}</p>
      </Show>
      <Show when={gate()}>
        <Show
          when={snippets().length > 0}
          fallback={
            <p class="muted">No context retrieved{gate()?.context ? ' (nothing matched)' : ' yet'}.</p>
          }
        >
          <p class="small muted">
            {snippets().length} snippet{snippets().length === 1 ? '' : 's'} at commit{' '}
            <span class="mono">{gate()!.context!.commit.slice(0, 12)}</span>, best first.
          </p>
          <ol class="snippets">
            <For each={snippets()}>
              {(s) => (
                <li>
                  <span class="mono">
                    {s.path}:{s.startLine}–{s.endLine}
                  </span>{' '}
                  <Show when={s.symbol}>
                    <span class="mono small muted">{s.symbol}</span>{' '}
                  </Show>
                  <span class="score small" title="retrieval score">
                    score {s.score.toFixed(2)}
                  </span>
                  <p class="small why">{s.why}</p>
                </li>
              )}
            </For>
          </ol>
        </Show>
      </Show>
    </section>
  );
}
