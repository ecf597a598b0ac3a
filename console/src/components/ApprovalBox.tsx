// The human gate: approve the patch or request changes (`POST /v1/patches/{id}/approve`). A change request
// needs a comment (the Coder works from it); while a revision runs, the kept patch can only be approved.
import { createSignal, Show } from 'solid-js';
import { api } from '../api.ts';
import { createAction } from '../lib/action.ts';
import { changeRequestProblem } from '../lib/gate.ts';

export function ApprovalBox(props: {
  patchId: string;
  /** False while a revision of this (kept) patch runs: it may be approved, not sent back again. */
  requestChanges: boolean;
  /** Said above the buttons (e.g. "kept from your change request"). */
  note?: string;
  onDone: () => void;
}) {
  const [comment, setComment] = createSignal('');
  const [problem, setProblem] = createSignal<string>();
  const {
    busy,
    error,
    act: decide,
  } = createAction(
    (decision: 'approve' | 'request_changes') =>
      api('POST', `/v1/patches/${props.patchId}/approve`, { decision, comment: comment() }),
    () => props.onDone(),
  );
  const requestChanges = () => {
    const p = changeRequestProblem(comment());
    setProblem(p);
    if (!p) void decide('request_changes');
  };
  return (
    <div class="approval">
      <h3>
        Waiting for your decision on <span class="mono">{props.patchId}</span>
      </h3>
      <Show when={props.note}>
        <p class="small">{props.note}</p>
      </Show>
      <Show when={props.requestChanges}>
        <textarea
          rows="2"
          aria-label="What should change"
          placeholder="What should change (required to request changes; sent to the Coder)"
          value={comment()}
          onInput={(e) => {
            setComment(e.currentTarget.value);
            if (problem()) setProblem(changeRequestProblem(e.currentTarget.value));
          }}
        />
      </Show>
      <div class="row">
        <button type="button" class="primary" disabled={busy()} onClick={() => decide('approve')}>
          Approve
        </button>
        <Show when={props.requestChanges}>
          <button type="button" disabled={busy()} onClick={requestChanges}>
            Request changes
          </button>
        </Show>
      </div>
      <Show when={problem() ?? error()}>
        <p class="error">{problem() ?? error()}</p>
      </Show>
    </div>
  );
}
