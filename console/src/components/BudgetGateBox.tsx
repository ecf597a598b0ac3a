// The `budget` gate: a soft limit paused the task; raise the soft limits or stop it (`POST /v1/tasks/{id}/budget`).
import { createResource, createSignal, For, Show } from 'solid-js';
import { api } from '../api.ts';
import { createAction } from '../lib/action.ts';

type Limits = Partial<Record<'tokens' | 'usd' | 'wallSeconds' | 'modelCalls', number>>;
interface BudgetView {
  soft: Limits;
  hard: Limits;
  spent: { tokens: number; usd: number; calls: number };
  paused: { reason: string; role: string } | null;
}
const FIELDS = [
  ['modelCalls', 'model calls'],
  ['tokens', 'tokens'],
  ['usd', 'USD'],
  ['wallSeconds', 'wall seconds'],
] as const;

export function BudgetGateBox(props: { taskId: string; onDone: () => void }) {
  const [budget] = createResource(() => api<BudgetView>('GET', `/v1/tasks/${props.taskId}/budget`));
  const [soft, setSoft] = createSignal<Limits>({});
  const [comment, setComment] = createSignal('');
  const {
    busy,
    error,
    act: decide,
  } = createAction(
    (body: Record<string, unknown>) =>
      api('POST', `/v1/tasks/${props.taskId}/budget`, { ...body, comment: comment() }),
    () => props.onDone(),
  );
  return (
    <div class="approval">
      <h2>Paused at the budget gate</h2>
      <Show when={budget()}>
        {(b) => (
          <>
            <p>{b().paused?.reason ?? 'a soft limit was reached'}</p>
            <p class="muted">
              spent: {b().spent.calls} calls, {Math.round(b().spent.tokens).toLocaleString()} tokens, $
              {b().spent.usd.toFixed(4)}
            </p>
            <For each={FIELDS}>
              {([key, label]) => (
                <label class="row">
                  {label} (now {b().soft[key] ?? '—'}, hard {b().hard[key] ?? '—'}):
                  <input
                    type="number"
                    min="0"
                    onInput={(e) => {
                      const v = Number(e.currentTarget.value);
                      const { [key]: _, ...rest } = soft();
                      setSoft(e.currentTarget.value && v > 0 ? { ...rest, [key]: v } : rest);
                    }}
                  />
                </label>
              )}
            </For>
          </>
        )}
      </Show>
      <textarea
        rows="2"
        placeholder="Comment (audited)"
        value={comment()}
        onInput={(e) => setComment(e.currentTarget.value)}
      />
      <div class="row">
        <button
          type="button"
          class="primary"
          disabled={busy()}
          onClick={() => decide({ action: 'raise', soft: soft() })}
        >
          Raise and resume
        </button>
        <button type="button" disabled={busy()} onClick={() => decide({ action: 'stop' })}>
          Stop the task
        </button>
      </div>
      <Show when={error()}>
        <p class="error">{error()}</p>
      </Show>
    </div>
  );
}
