// Settings → tokens: your personal access tokens (`GET /v1/tokens`), a new one (shown once), revoking one
// after a confirmation (`DELETE /v1/tokens/{id}`). An access token cannot create tokens: sign in otherwise.
import { createResource, createSignal, For, Show } from 'solid-js';
import { api } from '../api.ts';
import { SCOPES, type TokenRow, tokenState } from '../lib/settings.ts';
import { StatusLine } from './StatusLine.tsx';

export function TokenSettings() {
  const [tokens, { refetch }] = createResource(() => api<{ items: TokenRow[] }>('GET', '/v1/tokens'));
  const [name, setName] = createSignal('');
  const [days, setDays] = createSignal('30');
  const [scopes, setScopes] = createSignal<string[]>(['tasks:read']);
  const [made, setMade] = createSignal<{ token: string; expiresAt: string }>();
  const [revoking, setRevoking] = createSignal<string>();
  const [busy, setBusy] = createSignal(false);
  const [status, setStatus] = createSignal<{ ok: boolean; text: string }>();
  const run = async (f: () => Promise<void>) => {
    setBusy(true);
    setStatus(undefined);
    try {
      await f();
    } catch (err) {
      setStatus({ ok: false, text: (err as Error).message });
    } finally {
      setBusy(false);
    }
  };
  const create = (e: SubmitEvent) => {
    e.preventDefault();
    if (!name().trim()) return setStatus({ ok: false, text: 'Name the token (what it is for).' });
    if (!scopes().length) return setStatus({ ok: false, text: 'Give it at least one scope.' });
    return run(async () => {
      const r = await api<{ token: string; expiresAt: string }>('POST', '/v1/tokens', {
        name: name().trim(),
        scopes: scopes(),
        expiresInDays: Number(days()),
      });
      setMade(r);
      setName('');
      void refetch();
    });
  };
  const revoke = (id: string) =>
    run(async () => {
      await api('DELETE', `/v1/tokens/${id}`);
      setRevoking(undefined);
      setStatus({ ok: true, text: `Revoked ${id}.` });
      void refetch();
    });
  return (
    <section aria-labelledby="s-tokens">
      <h2 id="s-tokens">Tokens</h2>
      <p class="small muted">
        Personal access tokens for scripts and the terminal; a token has at most your scopes.
      </p>
      <Show when={tokens.error}>
        <p class="error">Could not load your tokens: {(tokens.error as Error).message}</p>
      </Show>
      <Show when={tokens()}>
        {(t) => (
          <Show when={t().items.length} fallback={<p class="muted">You have no access token.</p>}>
            <table class="models tokens">
              <caption class="small muted">Your access tokens</caption>
              <thead>
                <tr>
                  <th scope="col">name</th>
                  <th scope="col">scopes</th>
                  <th scope="col">state</th>
                  <th scope="col">
                    <span class="visually-hidden">actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                <For each={t().items}>
                  {(x) => {
                    const st = () => tokenState(x, Date.now());
                    return (
                      <tr>
                        <td>
                          {x.name} <span class="mono small muted">{x.id}</span>
                        </td>
                        <td class="small">{x.scopes.join(', ')}</td>
                        <td class="small">{st().text}</td>
                        <td>
                          <Show when={st().active}>
                            <Show
                              when={revoking() === x.id}
                              fallback={
                                <button type="button" disabled={busy()} onClick={() => setRevoking(x.id)}>
                                  Revoke…
                                </button>
                              }
                            >
                              <span class="row">
                                <button
                                  type="button"
                                  class="primary"
                                  disabled={busy()}
                                  aria-label={`Yes, revoke ${x.name}`}
                                  onClick={() => void revoke(x.id)}
                                >
                                  Yes, revoke
                                </button>
                                <button type="button" onClick={() => setRevoking(undefined)}>
                                  Cancel
                                </button>
                              </span>
                            </Show>
                          </Show>
                        </td>
                      </tr>
                    );
                  }}
                </For>
              </tbody>
            </table>
          </Show>
        )}
      </Show>
      <Show when={made()}>
        {(m) => (
          <div class="made" role="status">
            <p>
              <strong>Copy the token now:</strong> it is not shown again (expires {m().expiresAt.slice(0, 10)}
              ).
            </p>
            <code class="secret">{m().token}</code>
            <button type="button" onClick={() => setMade(undefined)}>
              Done
            </button>
          </div>
        )}
      </Show>
      <form onSubmit={create}>
        <fieldset class="plain" disabled={busy()}>
          <legend class="small">New access token</legend>
          <label for="t-name">Token name</label>
          <input id="t-name" value={name()} onInput={(e) => setName(e.currentTarget.value)} />
          <label for="t-days">Days until it expires</label>
          <input
            id="t-days"
            type="number"
            min="1"
            max="365"
            value={days()}
            onInput={(e) => setDays(e.currentTarget.value)}
          />
          <fieldset>
            <legend class="small">Scopes</legend>
            <div class="row">
              <For each={SCOPES}>
                {(s) => (
                  <label class="small">
                    <input
                      type="checkbox"
                      checked={scopes().includes(s)}
                      onChange={(e) =>
                        setScopes((xs) => (e.currentTarget.checked ? [...xs, s] : xs.filter((y) => y !== s)))
                      }
                    />
                    {s}
                  </label>
                )}
              </For>
            </div>
          </fieldset>
          <div class="row">
            <button type="submit" class="primary">
              Create token
            </button>
          </div>
        </fieldset>
        <StatusLine status={status()} />
      </form>
    </section>
  );
}
