// Settings for org admins: the model each agent role uses (`GET/POST /v1/config/models`; API keys are
// write-only: the gateway seals them and answers only whether one is set), the org's daily budget, its policy
// bundle, repositories, and your access tokens (each in its own Settings*.tsx).
import { createEffect, createResource, createSignal, For, on, Show } from 'solid-js';
import { api } from '../api.ts';
import type { ModelConfigView, ModelSettingView } from '../types.ts';
import { PolicySettings } from './SettingsPolicy.tsx';
import { QuotaSettings } from './SettingsQuota.tsx';
import { RepoSettings } from './SettingsRepos.tsx';
import { TokenSettings } from './SettingsTokens.tsx';
import { StatusLine } from './StatusLine.tsx';

const ROLES = ['default', 'planner', 'coder', 'reviewer', 'tester', 'integrator', 'chat'] as const;

export function SettingsView() {
  const [org, setOrg] = createSignal('default');
  const [config, { mutate }] = createResource(org, (o) =>
    api<ModelConfigView>('GET', `/v1/config/models?org=${encodeURIComponent(o)}`),
  );
  const [role, setRole] = createSignal<string>('default');
  const [model, setModel] = createSignal('');
  const [baseUrl, setBaseUrl] = createSignal('');
  const [priceIn, setPriceIn] = createSignal('');
  const [priceOut, setPriceOut] = createSignal('');
  const [apiKey, setApiKey] = createSignal('');
  const [busy, setBusy] = createSignal(false);
  const [status, setStatus] = createSignal<{ ok: boolean; text: string }>();

  const load = (r: string) => {
    setRole(r);
    const s: ModelSettingView = config()?.roles[r] ?? {};
    setModel(s.model ?? '');
    setBaseUrl(s.baseUrl ?? '');
    setPriceIn(s.priceInPer1k === undefined ? '' : String(s.priceInPer1k));
    setPriceOut(s.priceOutPer1k === undefined ? '' : String(s.priceOutPer1k));
    setApiKey('');
  };

  // The form shows the stored setting of the chosen role (again after a save).
  createEffect(on(config, () => load(role())));

  const save = async (e: SubmitEvent) => {
    e.preventDefault();
    setStatus(undefined);
    const setting: Record<string, unknown> = {};
    if (model().trim()) setting.model = model().trim();
    if (baseUrl().trim()) setting.baseUrl = baseUrl().trim();
    if (priceIn().trim()) setting.priceInPer1k = Number(priceIn());
    if (priceOut().trim()) setting.priceOutPer1k = Number(priceOut());
    if (apiKey()) setting.apiKey = apiKey();
    if (Object.keys(setting).length === 0) return setStatus({ ok: false, text: 'Nothing to save.' });
    setBusy(true);
    try {
      const next = await api<ModelConfigView>('POST', '/v1/config/models', {
        org: org(),
        roles: { [role()]: setting },
      });
      mutate(next);
      setApiKey('');
      setStatus({ ok: true, text: `Saved: ${role()} of org ${org()} (used from the next model call).` });
    } catch (err) {
      setStatus({ ok: false, text: (err as Error).message });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="settings">
      <h1>Settings</h1>
      <h2>Models</h2>
      <p class="small muted">
        The model each agent role calls, per org (org admins). A role without its own setting uses{' '}
        <em>default</em>, else the server's environment.
      </p>
      <div class="row">
        <label for="s-org">Org</label>
        <input id="s-org" value={org()} onChange={(e) => setOrg(e.currentTarget.value.trim() || 'default')} />
      </div>
      <Show when={config.error}>
        <p class="error">Could not load the model settings: {(config.error as Error).message}</p>
      </Show>
      <Show when={config()}>
        {(c) => (
          <table class="models">
            <caption class="small muted">Model settings of org {c().org}</caption>
            <thead>
              <tr>
                <th scope="col">role</th>
                <th scope="col">model</th>
                <th scope="col">endpoint</th>
                <th scope="col">price in / out per 1k</th>
                <th scope="col">API key</th>
              </tr>
            </thead>
            <tbody>
              <For each={ROLES.filter((r) => c().roles[r])}>
                {(r) => {
                  const s = () => c().roles[r] ?? {};
                  return (
                    <tr>
                      <td>{r}</td>
                      <td class="mono small">{s().model ?? '—'}</td>
                      <td class="mono small">{s().provider === 'local' ? 'local' : (s().baseUrl ?? '—')}</td>
                      <td class="small">
                        {s().priceInPer1k ?? '—'} / {s().priceOutPer1k ?? '—'}
                      </td>
                      <td class="small">{s().apiKeySet ? 'set' : '—'}</td>
                    </tr>
                  );
                }}
              </For>
            </tbody>
          </table>
        )}
      </Show>
      <form class="model-form" onSubmit={save}>
        {/* Closed until the org's settings are in: their arrival fills the form, and would overwrite typing. */}
        <fieldset class="plain" disabled={config.loading || busy()}>
          <label for="s-role">Role</label>
          <select id="s-role" value={role()} onChange={(e) => load(e.currentTarget.value)}>
            <For each={ROLES}>{(r) => <option value={r}>{r}</option>}</For>
          </select>
          <label for="s-model">Model</label>
          <input id="s-model" value={model()} onInput={(e) => setModel(e.currentTarget.value)} />
          <label for="s-base">Endpoint (OpenAI-compatible base URL)</label>
          <input
            id="s-base"
            type="url"
            value={baseUrl()}
            onInput={(e) => setBaseUrl(e.currentTarget.value)}
          />
          <div class="row">
            <span class="field">
              <label for="s-in">USD per 1k prompt tokens</label>
              <input
                id="s-in"
                type="number"
                min="0"
                step="any"
                value={priceIn()}
                onInput={(e) => setPriceIn(e.currentTarget.value)}
              />
            </span>
            <span class="field">
              <label for="s-out">USD per 1k completion tokens</label>
              <input
                id="s-out"
                type="number"
                min="0"
                step="any"
                value={priceOut()}
                onInput={(e) => setPriceOut(e.currentTarget.value)}
              />
            </span>
          </div>
          <label for="s-key">API key (write-only; stored sealed)</label>
          <input
            id="s-key"
            type="password"
            autocomplete="off"
            value={apiKey()}
            onInput={(e) => setApiKey(e.currentTarget.value)}
          />
          <div class="row">
            <button type="submit" class="primary" disabled={busy()}>
              Save
            </button>
          </div>
        </fieldset>
        <StatusLine status={status()} />
      </form>
      <QuotaSettings org={org()} config={config} loading={config.loading} onSaved={mutate} />
      <PolicySettings org={org()} />
      <RepoSettings org={org()} />
      <TokenSettings />
    </section>
  );
}
