// Settings → repositories: the registered repositories you hold a role on (`GET /v1/repos`) and registering
// one in the org (`POST /v1/repos`, org admins; the gateway checks the path against its allowed roots).
import { createResource, createSignal, For, Show } from 'solid-js';
import { api } from '../api.ts';
import type { RepoListItem } from '../types.ts';
import { StatusLine } from './StatusLine.tsx';

export function RepoSettings(props: { org: string }) {
  const [repos, { refetch }] = createResource(() => api<{ items: RepoListItem[] }>('GET', '/v1/repos'));
  const [path, setPath] = createSignal('');
  const [name, setName] = createSignal('');
  const [busy, setBusy] = createSignal(false);
  const [status, setStatus] = createSignal<{ ok: boolean; text: string }>();
  const register = async (e: SubmitEvent) => {
    e.preventDefault();
    if (!path().trim()) return setStatus({ ok: false, text: "Give the repository's path on the server." });
    setBusy(true);
    setStatus(undefined);
    try {
      const { repo } = await api<{ repo: { id: string; name: string; path: string } }>('POST', '/v1/repos', {
        org: props.org,
        path: path().trim(),
        ...(name().trim() ? { name: name().trim() } : {}),
      });
      setStatus({ ok: true, text: `Registered ${repo.name} (${repo.id}) in org ${props.org}.` });
      setPath('');
      setName('');
      void refetch();
    } catch (err) {
      setStatus({ ok: false, text: (err as Error).message });
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="s-repos">
      <h2 id="s-repos">Repositories</h2>
      <Show when={repos.error}>
        <p class="error">Could not load the repositories: {(repos.error as Error).message}</p>
      </Show>
      <Show when={repos()}>
        {(r) => (
          <Show
            when={r().items.length}
            fallback={<p class="muted">No registered repository you hold a role on.</p>}
          >
            <table class="models repos">
              <caption class="small muted">Registered repositories you hold a role on</caption>
              <thead>
                <tr>
                  <th scope="col">name</th>
                  <th scope="col">org</th>
                  <th scope="col">your role</th>
                  <th scope="col">path</th>
                  <th scope="col">id</th>
                </tr>
              </thead>
              <tbody>
                <For each={r().items}>
                  {(x) => (
                    <tr>
                      <td>{x.name}</td>
                      <td>{x.orgId}</td>
                      <td>{x.role}</td>
                      <td class="mono small">{x.path}</td>
                      <td class="mono small">{x.id}</td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </Show>
        )}
      </Show>
      <form onSubmit={register}>
        <fieldset class="plain" disabled={busy()}>
          <legend class="small">Register a repository in org {props.org}</legend>
          <label for="r-path">Path on the server (a git checkout)</label>
          <input id="r-path" value={path()} onInput={(e) => setPath(e.currentTarget.value)} />
          <label for="r-name">Name (optional; default: the folder's name)</label>
          <input id="r-name" value={name()} onInput={(e) => setName(e.currentTarget.value)} />
          <div class="row">
            <button type="submit" class="primary">
              Register
            </button>
          </div>
        </fieldset>
        <StatusLine status={status()} />
      </form>
    </section>
  );
}
