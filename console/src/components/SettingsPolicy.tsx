// Settings → policies: the org's policy bundle (YAML over the default bundle), its merged rules, and an upload
// (`GET/PUT /v1/config/policy`). A repository's own `.codemesh/policy.yml` still overlays it per task.
import { createEffect, createResource, createSignal, For, on, Show } from 'solid-js';
import { api } from '../api.ts';
import type { OrgPolicyView } from '../types.ts';
import { StatusLine } from './StatusLine.tsx';

const TEMPLATE = `# Overlays the default bundle rule by rule (same id: the fields set here win).
version: '1'
rules:
  - id: py-eval-exec
    enforcement: warn
`;

export function PolicySettings(props: { org: string }) {
  const [view, { mutate }] = createResource(
    () => props.org,
    (o) => api<OrgPolicyView>('GET', `/v1/config/policy?org=${encodeURIComponent(o)}`),
  );
  const [yaml, setYaml] = createSignal('');
  const [busy, setBusy] = createSignal(false);
  const [status, setStatus] = createSignal<{ ok: boolean; text: string }>();
  createEffect(on(view, (v) => v && setYaml(v.yaml ?? TEMPLATE)));
  const send = async (text: string | null) => {
    setBusy(true);
    setStatus(undefined);
    try {
      const next = await api<OrgPolicyView>('PUT', '/v1/config/policy', { org: props.org, yaml: text });
      mutate(next);
      setStatus({
        ok: true,
        text:
          text === null ? 'Removed: the default bundle applies.' : `Saved: bundle ${next.bundle.version}.`,
      });
    } catch (err) {
      setStatus({ ok: false, text: (err as Error).message });
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="s-policies">
      <h2 id="s-policies">Policies</h2>
      <p class="small muted">
        The policy check of every task of the org (secrets, SAST, licenses, vulnerabilities) runs with the
        default bundle, then this org's, then the repository's <span class="mono">.codemesh/policy.yml</span>.
      </p>
      <Show when={view.error}>
        <p class="error">Could not load the policy bundle: {(view.error as Error).message}</p>
      </Show>
      <Show when={view()}>
        {(v) => (
          <>
            <p>
              In use: <span class="mono">{v().bundle.version}</span>
              {v().yaml === null ? ' (no org bundle)' : ''}
            </p>
            <Show when={v().error}>
              <p class="error">The stored bundle does not load: {v().error}</p>
            </Show>
            <table class="models">
              <caption class="small muted">Rules of the bundle in use</caption>
              <thead>
                <tr>
                  <th scope="col">rule</th>
                  <th scope="col">kind</th>
                  <th scope="col">severity</th>
                  <th scope="col">enforcement</th>
                </tr>
              </thead>
              <tbody>
                <For each={v().bundle.rules}>
                  {(r) => (
                    <tr>
                      <td class="mono small">{r.id}</td>
                      <td>{r.kind}</td>
                      <td>{r.severity}</td>
                      <td>{r.enabled ? r.enforcement : 'off'}</td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
            <p class="small">
              Licenses denied: {v().bundle.licenses.deny.join(', ') || 'none'}
              {v().bundle.licenses.allow ? `; allowed only: ${v().bundle.licenses.allow!.join(', ')}` : ''}
            </p>
          </>
        )}
      </Show>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void send(yaml());
        }}
      >
        <fieldset class="plain" disabled={view.loading || busy()}>
          <label for="p-yaml">Org bundle (YAML)</label>
          <textarea
            id="p-yaml"
            class="policy-text mono"
            spellcheck={false}
            value={yaml()}
            onInput={(e) => setYaml(e.currentTarget.value)}
          />
          <label for="p-file">or load a file</label>
          <input
            id="p-file"
            type="file"
            accept=".yml,.yaml,text/yaml"
            onChange={async (e) => {
              const f = e.currentTarget.files?.[0];
              if (f) setYaml(await f.text());
            }}
          />
          <div class="row">
            <button type="submit" class="primary">
              Save bundle
            </button>
            <Show when={view()?.yaml !== null && view()?.yaml !== undefined}>
              <button type="button" onClick={() => void send(null)}>
                Remove the org bundle
              </button>
            </Show>
          </div>
        </fieldset>
        <StatusLine status={status()} />
      </form>
    </section>
  );
}
