// One review: decision, confidence, critique and risk flags.
import { For, Show } from 'solid-js';
import type { Review } from '../types.ts';

export function ReviewView(props: { review: Review }) {
  const r = () => props.review;
  return (
    <div class="review">
      <div class="row">
        <span class={r().decision === 'approve' ? 'pass' : 'warn'}>{r().decision}</span>
        <span class="small">confidence {Math.round(r().confidence * 100)}%</span>
        <meter min="0" max="1" value={r().confidence} />
        <span class="mono small muted">{r().patchId}</span>
      </div>
      <p class="critique">{r().critique}</p>
      <Show when={r().risks.length > 0}>
        <ul class="risks">
          <For each={r().risks}>
            {(k) => (
              <li>
                <span class={`risk risk-${k.level}`}>{k.level}</span> {k.note}
              </li>
            )}
          </For>
        </ul>
      </Show>
    </div>
  );
}
