// The `post-plan` gate: the plan's retrieved context, and approve (as proposed or edited) or reject it
// (`GET /v1/tasks/{id}/plan`, `POST /v1/tasks/{id}/plan/approve`).
import { createResource, createSignal, For, Show } from 'solid-js';
import { api } from '../api.ts';
import { createAction } from '../lib/action.ts';
import type { PlanGate } from '../types.ts';

export function PlanGateBox(props: { taskId: string; onDone: () => void }) {
  const [gate] = createResource(
    () => props.taskId,
    (id) => api<PlanGate>('GET', `/v1/tasks/${id}/plan`),
  );
  const [comment, setComment] = createSignal('');
  const [edit, setEdit] = createSignal<string>();
  const {
    busy,
    error,
    act: decide,
  } = createAction(
    (decision: 'approve' | 'reject') => {
      const text = edit();
      const plan = decision === 'approve' && text !== undefined ? (JSON.parse(text) as unknown) : undefined;
      return api('POST', `/v1/tasks/${props.taskId}/plan/approve`, {
        decision,
        comment: comment(),
        ...(plan ? { plan } : {}),
      });
    },
    () => props.onDone(),
  );
  return (
    <div class="approval">
      <h2>The plan is waiting for your decision</h2>
      <Show when={gate()?.context}>
        {(ctx) => (
          <details>
            <summary>Retrieved context the Planner got ({ctx().snippets.length} snippets)</summary>
            <ul class="context">
              <For each={ctx().snippets}>
                {(s) => (
                  <li>
                    <span class="mono">
                      {s.path}:{s.startLine}-{s.endLine}
                    </span>{' '}
                    <span class="small muted">{s.why}</span>
                  </li>
                )}
              </For>
            </ul>
          </details>
        )}
      </Show>
      <Show
        when={edit() !== undefined}
        fallback={
          <button
            type="button"
            disabled={!gate()?.plan}
            onClick={() => setEdit(JSON.stringify(gate()?.plan, null, 2))}
          >
            Edit the plan
          </button>
        }
      >
        <textarea
          rows="14"
          class="mono"
          aria-label="edited plan (JSON)"
          value={edit()}
          onInput={(e) => setEdit(e.currentTarget.value)}
        />
      </Show>
      <textarea
        rows="2"
        placeholder="Comment (the reason, when you reject)"
        value={comment()}
        onInput={(e) => setComment(e.currentTarget.value)}
      />
      <div class="row">
        <button type="button" class="primary" disabled={busy()} onClick={() => decide('approve')}>
          {edit() !== undefined ? 'Approve the edited plan' : 'Approve'}
        </button>
        <button type="button" disabled={busy()} onClick={() => decide('reject')}>
          Reject
        </button>
      </div>
      <Show when={error()}>
        <p class="error">{error()}</p>
      </Show>
    </div>
  );
}
