// A new task (`POST /v1/tasks`): a registered repository, an issue URL or a title and description, the budget,
// the checkpoints (post-plan, pre-integrate), k candidates and the Doc Writer; then the task's own page.
import { createResource, createSignal, For, Show } from 'solid-js';
import { api } from '../api.ts';
import type { CreatedTask, RepoListItem } from '../types.ts';

const MAX_CANDIDATES = 8;
const CAN_SUBMIT = new Set(['developer', 'approver', 'admin']);

export function TaskComposer() {
  const [repos] = createResource(async () =>
    (await api<{ items: RepoListItem[] }>('GET', '/v1/repos')).items.filter((r) => CAN_SUBMIT.has(r.role)),
  );
  const [repo, setRepo] = createSignal('');
  const [issueUrl, setIssueUrl] = createSignal('');
  const [title, setTitle] = createSignal('');
  const [description, setDescription] = createSignal('');
  const [maxCostUsd, setMaxCostUsd] = createSignal('5');
  const [postPlan, setPostPlan] = createSignal(false);
  const [preIntegrate, setPreIntegrate] = createSignal(true);
  const [k, setK] = createSignal('1');
  const [docs, setDocs] = createSignal(false);
  const [busy, setBusy] = createSignal(false);
  const [error, setError] = createSignal<string>();

  const chosen = () => repo() || repos()?.[0]?.path || '';
  const submit = async (e: SubmitEvent) => {
    e.preventDefault();
    setError(undefined);
    const cost = Number(maxCostUsd());
    const candidates = Number(k());
    if (!chosen()) return setError('Choose a repository (an org admin registers them).');
    if (!issueUrl().trim() && !title().trim()) return setError('Give an issue URL or a title.');
    if (!(cost > 0)) return setError('The budget must be a positive number of USD.');
    if (!Number.isInteger(candidates) || candidates < 1 || candidates > MAX_CANDIDATES)
      return setError(`k candidates is a whole number from 1 to ${MAX_CANDIDATES}.`);
    setBusy(true);
    try {
      const body = {
        repo: chosen(),
        ...(issueUrl().trim() ? { issue_url: issueUrl().trim() } : {}),
        ...(title().trim() ? { title: title().trim() } : {}),
        ...(description().trim() ? { description: description().trim() } : {}),
        budget: { maxCostUsd: cost },
        approve: preIntegrate() ? 'manual' : 'auto',
        ...(postPlan() ? { gates: ['post-plan'] } : {}),
        ...(candidates > 1 ? { candidates } : {}),
        ...(docs() ? { docs: true } : {}),
      };
      const { task } = await api<CreatedTask>('POST', '/v1/tasks', body);
      location.hash = `#/tasks/${task.id}`;
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="composer">
      <h1>New task</h1>
      <Show when={repos.error}>
        <p class="error">Could not load the repositories: {(repos.error as Error).message}</p>
      </Show>
      <form onSubmit={submit}>
        <label for="c-repo">Repository</label>
        <select id="c-repo" value={chosen()} onChange={(e) => setRepo(e.currentTarget.value)}>
          <For each={repos() ?? []} fallback={<option value="">no registered repository you may use</option>}>
            {(r) => (
              <option value={r.path}>
                {r.name} ({r.orgId}) — {r.path}
              </option>
            )}
          </For>
        </select>
        <label for="c-issue">Issue URL (optional: its title and text are used)</label>
        <input
          id="c-issue"
          type="url"
          placeholder="the issue's web address on GitHub"
          value={issueUrl()}
          onInput={(e) => setIssueUrl(e.currentTarget.value)}
        />
        <label for="c-title">Title</label>
        <input id="c-title" value={title()} onInput={(e) => setTitle(e.currentTarget.value)} />
        <label for="c-desc">Description</label>
        <textarea
          id="c-desc"
          rows="5"
          value={description()}
          onInput={(e) => setDescription(e.currentTarget.value)}
        />
        <div class="row">
          <span class="field">
            <label for="c-budget">Budget (USD)</label>
            <input
              id="c-budget"
              type="number"
              min="0.01"
              step="0.01"
              value={maxCostUsd()}
              onInput={(e) => setMaxCostUsd(e.currentTarget.value)}
            />
          </span>
          <span class="field">
            <label for="c-k">k candidates</label>
            <input
              id="c-k"
              type="number"
              min="1"
              max={MAX_CANDIDATES}
              value={k()}
              onInput={(e) => setK(e.currentTarget.value)}
            />
          </span>
        </div>
        <fieldset>
          <legend>Checkpoints</legend>
          <label>
            <input
              type="checkbox"
              checked={postPlan()}
              onChange={(e) => setPostPlan(e.currentTarget.checked)}
            />{' '}
            post-plan: approve the plan before coding starts
          </label>
          <label>
            <input
              type="checkbox"
              checked={preIntegrate()}
              onChange={(e) => setPreIntegrate(e.currentTarget.checked)}
            />{' '}
            pre-integrate: approve the patch before it is committed
          </label>
        </fieldset>
        <label>
          <input type="checkbox" checked={docs()} onChange={(e) => setDocs(e.currentTarget.checked)} /> Update
          the documentation (the Doc Writer: docstrings, README and CHANGELOG of changed signatures)
        </label>
        <div class="row">
          <button type="submit" class="primary" disabled={busy()}>
            Create task
          </button>
          <a href="#/">Cancel</a>
        </div>
        <Show when={error()}>
          <p class="error" role="alert">
            {error()}
          </p>
        </Show>
      </form>
    </section>
  );
}
