// A task's rollback: what happened (who asked, when, the revert branch and commit), or, for a completed task,
// the control that asks for it (`POST /v1/patches/{id}/rollback`) after a confirmation.
import { createSignal, Show } from 'solid-js';
import { api } from '../api.ts';
import { createAction } from '../lib/action.ts';
import { rollbackLines } from '../lib/rollback.ts';
import type { RollbackView } from '../types.ts';

export function RollbackBox(props: {
  rollback: RollbackView | null | undefined;
  /** The integrated patch of a completed task: it can be rolled back. */
  patchId?: string;
  onDone: () => void;
}) {
  const [confirming, setConfirming] = createSignal(false);
  const [reason, setReason] = createSignal('');
  const { busy, error, act } = createAction(
    () => api('POST', `/v1/patches/${props.patchId}/rollback`, { reason: reason() }),
    () => {
      setConfirming(false);
      props.onDone();
    },
  );
  return (
    <Show
      when={props.rollback}
      fallback={
        <Show when={props.patchId}>
          <div class="rollback">
            <Show
              when={confirming()}
              fallback={
                <button type="button" onClick={() => setConfirming(true)}>
                  Roll back…
                </button>
              }
            >
              <p class="small">
                Revert the integrated commit of <span class="mono">{props.patchId}</span> on a new branch?
              </p>
              <input
                aria-label="Why (optional)"
                placeholder="Why (optional)"
                value={reason()}
                onInput={(e) => setReason(e.currentTarget.value)}
              />
              <div class="row">
                <button type="button" class="primary" disabled={busy()} onClick={() => act()}>
                  Yes, roll back
                </button>
                <button type="button" disabled={busy()} onClick={() => setConfirming(false)}>
                  Cancel
                </button>
              </div>
            </Show>
            <Show when={error()}>
              <p class="error">{error()}</p>
            </Show>
          </div>
        </Show>
      }
    >
      {(r) => {
        const lines = () => rollbackLines(r());
        return (
          <div class="rollback">
            <h2>{lines().title}</h2>
            <p class="small">{lines().who}</p>
            <Show when={lines().made}>
              <p class="small mono">{lines().made}</p>
            </Show>
          </div>
        );
      }}
    </Show>
  );
}
