// Dead letters (`GET /v1/deadletters`): events a consumer (recorder, conductor) gave up on, with the reason.
import { createResource, createSignal, For, Show } from 'solid-js';
import { api, ApiCallError } from '../api.ts';
import type { DeadLetterList } from '../types.ts';

export function DeadLettersView() {
  const [list, { refetch }] = createResource(() => api<DeadLetterList>('GET', '/v1/deadletters?limit=100'));
  const denied = () => list.error instanceof ApiCallError && list.error.status === 403;
  const [note, setNote] = createSignal<{ ok: boolean; text: string }>();
  const [busy, setBusy] = createSignal<number>();
  // Publishes the letter's message again on its original subject (every consumer sees it again) and removes
  // the letter; needs config:write and the admin role on the task's repository (the API says which is missing).
  const redrive = async (seq: number) => {
    setBusy(seq);
    try {
      const r = await api<{ redriven: { subject: string; duplicate: boolean } }>(
        'POST',
        `/v1/deadletters/${seq}/redrive`,
        {},
      );
      setNote({
        ok: true,
        text: `#${seq} published again on ${r.redriven.subject}${r.redriven.duplicate ? ' (already re-driven once: not published twice)' : ''}.`,
      });
      await refetch();
    } catch (err) {
      setNote({ ok: false, text: `#${seq} was not re-driven: ${(err as Error).message}` });
    } finally {
      setBusy(undefined);
    }
  };
  return (
    <section>
      <h1>Dead letters</h1>
      <p class="muted">
        Events a consumer could not process after its bounded retries. They are kept here (30 days) and not
        retried on their own; the reason says what to fix. Once it is fixed, Re-drive publishes the event
        again.
      </p>
      <Show when={note()}>{(n) => <p class={n().ok ? 'muted' : 'error'}>{n().text}</p>}</Show>
      <Show when={denied()}>
        <p class="error">This token cannot see dead letters (it needs the metrics:read scope).</p>
      </Show>
      <Show when={list.error && !denied()}>
        <p class="error">Could not load the dead letters: {(list.error as Error).message}</p>
      </Show>
      <Show when={list()} fallback={<Show when={!list.error}>{<p class="muted">Loading…</p>}</Show>}>
        {(l) => (
          <Show when={l().items.length > 0} fallback={<p class="muted">No dead letters.</p>}>
            <table class="tasks">
              <thead>
                <tr>
                  <th>when</th>
                  <th>consumer</th>
                  <th>event</th>
                  <th>task</th>
                  <th>tries</th>
                  <th>reason</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                <For each={l().items}>
                  {(d) => (
                    <tr>
                      <td>{new Date(d.at).toLocaleString()}</td>
                      <td>{d.consumer}</td>
                      <td title={d.eventId ?? ''}>
                        {d.type ?? 'invalid'} #{d.seq}
                      </td>
                      <td>
                        <Show when={d.taskId} fallback="—">
                          {(t) => <a href={`#/tasks/${t()}`}>{t()}</a>}
                        </Show>
                      </td>
                      <td>{d.deliveries}</td>
                      <td>
                        <code>{d.reason}</code>
                      </td>
                      <td>
                        <button type="button" disabled={busy() === d.seq} onClick={() => void redrive(d.seq)}>
                          Re-drive
                        </button>
                      </td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </Show>
        )}
      </Show>
    </section>
  );
}
