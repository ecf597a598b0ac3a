// Settings → budgets: the org's daily quota on model spending (tokens and USD per UTC day) and today's use,
// saved with the model settings (`POST /v1/config/models` `quota`; null removes it).
import { type Accessor, createEffect, createSignal, on } from 'solid-js';
import { api } from '../api.ts';
import { quotaFromForm, quotaUse } from '../lib/settings.ts';
import type { ModelConfigView } from '../types.ts';
import { StatusLine } from './StatusLine.tsx';

export function QuotaSettings(props: {
  org: string;
  config: Accessor<ModelConfigView | undefined>;
  loading: boolean;
  onSaved: (next: ModelConfigView) => void;
}) {
  const [tokens, setTokens] = createSignal('');
  const [usd, setUsd] = createSignal('');
  const [busy, setBusy] = createSignal(false);
  const [status, setStatus] = createSignal<{ ok: boolean; text: string }>();
  createEffect(
    on(props.config, (c) => {
      setTokens(c?.quota?.tokensPerDay === undefined ? '' : String(c.quota.tokensPerDay));
      setUsd(c?.quota?.usdPerDay === undefined ? '' : String(c.quota.usdPerDay));
    }),
  );
  const save = async (e: SubmitEvent) => {
    e.preventDefault();
    const r = quotaFromForm(tokens(), usd());
    if ('problem' in r) return setStatus({ ok: false, text: r.problem });
    setBusy(true);
    setStatus(undefined);
    try {
      const next = await api<ModelConfigView>('POST', '/v1/config/models', {
        org: props.org,
        quota: r.quota,
      });
      props.onSaved(next);
      setStatus({
        ok: true,
        text: r.quota
          ? `Saved the daily quota of org ${props.org}.`
          : `Removed the daily quota of org ${props.org}.`,
      });
    } catch (err) {
      setStatus({ ok: false, text: (err as Error).message });
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="s-budgets">
      <h2 id="s-budgets">Budgets</h2>
      <p class="small muted">
        The org's daily quota on model spending (UTC days): a task that would pass it stops, and new tasks are
        refused until midnight UTC. Leave both empty for no quota. A task's own budget is set when it is
        created.
      </p>
      <p class="quota-use">{quotaUse(props.config()?.quota, props.config()?.quotaUsage, Date.now())}</p>
      <form onSubmit={save}>
        <fieldset class="plain" disabled={props.loading || busy()}>
          <div class="row">
            <span class="field">
              <label for="q-tokens">Tokens per day</label>
              <input
                id="q-tokens"
                type="number"
                min="1"
                step="1"
                value={tokens()}
                onInput={(e) => setTokens(e.currentTarget.value)}
              />
            </span>
            <span class="field">
              <label for="q-usd">USD per day</label>
              <input
                id="q-usd"
                type="number"
                min="0"
                step="any"
                value={usd()}
                onInput={(e) => setUsd(e.currentTarget.value)}
              />
            </span>
          </div>
          <div class="row">
            <button type="submit" class="primary">
              Save quota
            </button>
          </div>
        </fieldset>
        <StatusLine status={status()} />
      </form>
    </section>
  );
}
