// The human gate: approve the patch (after a confirmation) or request changes (`POST /v1/patches/{id}/approve`).
// A change request needs a comment (the Coder works from it); while a revision runs, the kept patch can only be
// approved. The `a` shortcut opens the confirmation of the first box on the page. Decisions are optimistic: the
// box shows the decision as taken (pending) the moment it is sent and rolls back, with the server's reason, if
// the server refuses it.
import { createSignal, onCleanup, Show } from 'solid-js';
import { api } from '../api.ts';
import { changeRequestProblem } from '../lib/gate.ts';
import { type Decision, type DecisionState, decide, decisionText } from '../lib/optimistic.ts';

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
  const [state, setState] = createSignal<DecisionState>({ phase: 'idle' });
  let root: HTMLDivElement | undefined;
  let yes: HTMLButtonElement | undefined;
  let approveButton: HTMLButtonElement | undefined;
  const taken = () => state().phase !== 'idle';
  const send = async (decision: Decision) => {
    if (taken()) return;
    setConfirming(false);
    setState((s) => decide(s, { type: 'send', decision, at: Date.now() }));
    try {
      await api('POST', `/v1/patches/${props.patchId}/approve`, { decision, comment: comment() });
      setState((s) => decide(s, { type: 'accepted' }));
      props.onDone();
    } catch (err) {
      setState((s) => decide(s, { type: 'refused', message: (err as Error).message }));
      // The buttons are back: the focus goes where the decision started.
      queueMicrotask(() => approveButton?.focus());
    }
  };
  const askToApprove = () => {
    if (taken()) return;
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
    if (!p) void send('request_changes');
  };
  const error = () => {
    const s = state();
    return s.phase === 'idle' ? s.error : undefined;
  };
  return (
    <div class={`approval${taken() ? ` decided decided-${state().phase}` : ''}`} ref={root}>
      <h2>
        Waiting for your decision on <span class="mono">{props.patchId}</span>
      </h2>
      <Show when={props.note}>
        <p class="small">{props.note}</p>
      </Show>
      <Show when={props.requestChanges && !taken()}>
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
      <div class="row" hidden={confirming() || taken()}>
        <button type="button" class="primary" ref={approveButton} onClick={askToApprove}>
          Approve…
        </button>
        <Show when={props.requestChanges}>
          <button type="button" onClick={requestChanges}>
            Request changes
          </button>
        </Show>
        <span class="small muted">
          or press <kbd>a</kbd>
        </span>
      </div>
      <fieldset
        class="row confirm"
        hidden={!confirming() || taken()}
        aria-label="Confirm the approval"
        onKeyDown={(e) => {
          if (e.key === 'Escape') setConfirming(false);
        }}
      >
        <span>
          Approve <span class="mono">{props.patchId}</span> and integrate it?
        </span>
        <button type="button" class="primary" ref={yes} onClick={() => void send('approve')}>
          Yes, approve
        </button>
        <button type="button" onClick={() => setConfirming(false)}>
          Cancel
        </button>
      </fieldset>
      <p class="decision small" role="status" aria-busy={state().phase === 'pending'}>
        {decisionText(state(), props.patchId) ?? ''}
      </p>
      <Show when={problem() ?? error()}>
        <p class="error" role="alert">
          {problem() ?? `Not taken: ${error()}`}
        </p>
      </Show>
    </div>
  );
}
