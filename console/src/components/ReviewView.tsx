// One review: decision, confidence (the calibrated probability, with the Reviewer model's own beside it and the
// evidence it was computed from), critique and risk flags.
import { For, Show } from 'solid-js';
import { confidenceParts } from '../lib/confidence.ts';
import type { Review } from '../types.ts';

export function ReviewView(props: { review: Review }) {
  const r = () => props.review;
  const parts = () => confidenceParts(props.review);
  return (
    <div class="review">
      <div class="row">
        <span class={r().decision === 'approve' ? 'pass' : 'warn'}>{r().decision}</span>
        <span class="small">confidence {parts().main}</span>
        <meter
          min="0"
          max="1"
          value={r().calibration?.calibrated ?? r().confidence}
          aria-label={r().calibration ? 'calibrated confidence' : 'confidence'}
        />
        <Show when={parts().beside}>
          <span class="small muted">({parts().beside})</span>
        </Show>
        <span class="mono small muted">{r().patchId}</span>
      </div>
      <Show when={r().calibration}>
        {(c) => (
          <p class="small muted">
            calibration {c().model}: tests {c().features.outcome}, {c().features.fixed} fixed,{' '}
            {c().features.regressions} regressions, reproduction {c().features.reproduction}
            {c().features.addedCovered === null
              ? ''
              : `, ${Math.round(c().features.addedCovered! * 100)}% of added lines covered`}
            , {c().features.files} file{c().features.files === 1 ? '' : 's'}, {c().features.lines} lines
          </p>
        )}
      </Show>
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
