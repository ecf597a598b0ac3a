// The human gate: approve the patch (after a confirmation) or request changes (`POST /v1/patches/{id}/approve`).
// A change request needs a comment (the Coder works from it); while a revision runs, the kept patch can only be
// approved. The `a` shortcut opens the confirmation of the first box on the page.
import { createSignal, onCleanup, Show } from 'solid-js';
import { api } from '../api.ts';
import { createAction } from '../lib/action.ts';
import { changeRequestProblem } from '../lib/gate.ts';

export const APPROVE_SHORTCUT_EVENT = 'codemesh:approve';

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
  const [confirming, setConfirming] = createSignal(false);
  let root: HTMLDivElement | undefined;
  let yes: HTMLButtonElement | undefined;
  const {
    busy,
    error,
    act: decide,
  } = createAction(
    (decision: 'approve' | 'request_changes') =>
      api('POST', `/v1/patches/${props.patchId}/approve`, { decision, comment: comment() }),
    () => {
      setConfirming(false);
      props.onDone();
    },
  );
  const askToApprove = () => {
    setConfirming(true);
    yes?.focus();
  };
  const onShortcut = () => {
    if (root && document.querySelector('.approval') === root) askToApprove();
  };
  window.addEventListener(APPROVE_SHORTCUT_EVENT, onShortcut);
  onCleanup(() => window.removeEventListener(APPROVE_SHORTCUT_EVENT, onShortcut));
  const requestChanges = () => {
    const p = changeRequestProblem(comment());
    setProblem(p);
    if (!p) void decide('request_changes');
  };
  return (
    <div class="approval" ref={root}>
      <h2>
        Waiting for your decision on <span class="mono">{props.patchId}</span>
      </h2>
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
      <div class="row" hidden={confirming()}>
        <button type="button" class="primary" disabled={busy()} onClick={askToApprove}>
          Approve…
        </button>
        <Show when={props.requestChanges}>
          <button type="button" disabled={busy()} onClick={requestChanges}>
            Request changes
          </button>
        </Show>
        <span class="small muted">
          or press <kbd>a</kbd>
        </span>
      </div>
      <fieldset
        class="row confirm"
        hidden={!confirming()}
        aria-label="Confirm the approval"
        onKeyDown={(e) => {
          if (e.key === 'Escape') setConfirming(false);
        }}
      >
        <span>
          Approve <span class="mono">{props.patchId}</span> and integrate it?
        </span>
        <button
          type="button"
          class="primary"
          ref={yes}
          disabled={busy()}
          onClick={() => void decide('approve')}
        >
          Yes, approve
        </button>
        <button type="button" disabled={busy()} onClick={() => setConfirming(false)}>
          Cancel
        </button>
      </fieldset>
      <Show when={problem() ?? error()}>
        <p class="error" role="alert">
          {problem() ?? error()}
        </p>
      </Show>
    </div>
  );
}
