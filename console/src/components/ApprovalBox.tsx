// The human gate: approve the patch or request changes (`POST /v1/patches/{id}/approve`).
import { createSignal, Show } from 'solid-js';
import { api } from '../api.ts';
import { createAction } from '../lib/action.ts';

export function ApprovalBox(props: { patchId: string; onDone: () => void }) {
  const [comment, setComment] = createSignal('');
  const {
    busy,
    error,
    act: decide,
  } = createAction(
    (decision: 'approve' | 'request_changes') =>
      api('POST', `/v1/patches/${props.patchId}/approve`, { decision, comment: comment() }),
    () => props.onDone(),
  );
  return (
    <div class="approval">
      <h3>
        Waiting for your decision on <span class="mono">{props.patchId}</span>
      </h3>
      <textarea
        rows="2"
        placeholder="Comment (sent to the Coder when you request changes)"
        value={comment()}
        onInput={(e) => setComment(e.currentTarget.value)}
      />
      <div class="row">
        <button type="button" class="primary" disabled={busy()} onClick={() => decide('approve')}>
          Approve
        </button>
        <button type="button" disabled={busy()} onClick={() => decide('request_changes')}>
          Request changes
        </button>
      </div>
      <Show when={error()}>
        <p class="error">{error()}</p>
      </Show>
    </div>
  );
}
