// Multi-repo campaigns (FR-015): the list (`GET /v1/campaigns`) and one campaign — its burndown (a bar of the
// repositories per state and a line of those not yet ended, live from `GET /v1/campaigns/{id}/events`), each
// repository with its task, and pause / resume / cancel / retry.
import { createResource, createSignal, For, onCleanup, Show } from 'solid-js';
import { api, followSse } from '../api.ts';
import {
  burndownPoints,
  burndownSegments,
  burndownSeries,
  type CampaignDetail,
  type CampaignFeedEvent,
  type CampaignListItem,
  endedCount,
  type RepoState,
} from '../lib/campaign.ts';

const ENDED = new Set(['completed', 'failed']);

function BurndownBar(props: { burndown: Record<RepoState, number> }) {
  const segments = () => burndownSegments(props.burndown);
  const label = () =>
    segments()
      .map((s) => `${s.count} ${s.state.replace('_', ' ')}`)
      .join(', ');
  return (
    <div class="campaign-bar" role="img" aria-label={label()} title={label()}>
      <For each={segments()}>
        {(s) => <span class={`campaign-seg seg-${s.state}`} style={{ width: `${s.percent}%` }} />}
      </For>
    </div>
  );
}

export function CampaignListView() {
  const [list] = createResource(() =>
    api<{ items: CampaignListItem[]; total: number }>('GET', '/v1/campaigns?limit=100'),
  );
  return (
    <section>
      <h1>Campaigns</h1>
      <p class="muted">
        One change across many repositories, upstream ones first (started with{' '}
        <code>codemesh campaign start</code> or <code>POST /v1/campaigns</code>).
      </p>
      <Show when={list.error}>
        <p class="error">Could not load the campaigns: {(list.error as Error).message}</p>
      </Show>
      <Show when={list()} fallback={<Show when={!list.error}>{<p class="muted">Loading…</p>}</Show>}>
        {(l) => (
          <Show when={l().items.length > 0} fallback={<p class="muted">No campaigns you can see yet.</p>}>
            <table class="tasks">
              <thead>
                <tr>
                  <th>campaign</th>
                  <th>status</th>
                  <th>burndown</th>
                  <th>started</th>
                </tr>
              </thead>
              <tbody>
                <For each={l().items}>
                  {(c) => (
                    <tr>
                      <td>
                        <a class="task-link" href={`#/campaigns/${c.id}`}>
                          {c.title}
                        </a>
                        <div class="muted mono small">{c.id}</div>
                      </td>
                      <td>
                        <span class={`status status-${c.status}`}>{c.status}</span>
                        <Show when={c.waiting}>{(w) => <div class="muted small">{w()}</div>}</Show>
                      </td>
                      <td>
                        <BurndownBar burndown={c.burndown} />
                        <div class="muted small">
                          {endedCount(c.burndown)} of {c.repos} ended
                        </div>
                      </td>
                      <td class="small">{new Date(c.createdAt).toLocaleString()}</td>
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

export function CampaignView(props: { id: string }) {
  const [campaign, { refetch }] = createResource(
    () => props.id,
    (id) => api<{ campaign: CampaignDetail }>('GET', `/v1/campaigns/${id}`).then((r) => r.campaign),
  );
  const [events, setEvents] = createSignal<CampaignFeedEvent[]>([]);
  const [feed, setFeed] = createSignal('connecting');
  const [note, setNote] = createSignal<{ ok: boolean; text: string }>();
  const ac = new AbortController();
  onCleanup(() => ac.abort());
  let pending: ReturnType<typeof setTimeout> | undefined;
  // The feed: every event, then a burndown after each change of the entry; the page re-reads the campaign
  // (at most twice a second) when it changes.
  void followSse(`/v1/campaigns/${props.id}/events`, {
    signal: ac.signal,
    resume: true,
    onState: (s, err) => setFeed(err ? `${s}: ${err.message}` : s),
    onMessage(m) {
      if (m.event === 'burndown') {
        pending ??= setTimeout(() => {
          pending = undefined;
          void refetch();
        }, 500);
        return;
      }
      try {
        const e = JSON.parse(m.data) as CampaignFeedEvent;
        if (typeof e.seq === 'number') setEvents((xs) => (xs.some((x) => x.seq === e.seq) ? xs : [...xs, e]));
      } catch {
        // Not an event of ours.
      }
    },
  });
  onCleanup(() => pending && clearTimeout(pending));

  const act = async (path: string, what: string) => {
    try {
      await api('POST', `/v1/campaigns/${props.id}/${path}`, {});
      setNote({ ok: true, text: `${what}: done.` });
      await refetch();
    } catch (err) {
      setNote({ ok: false, text: `${what}: ${(err as Error).message}` });
    }
  };
  const series = () => {
    const c = campaign();
    return c ? burndownSeries(c.repos.length, events(), new Map(c.repos.map((r) => [r.name, r.repoId]))) : [];
  };

  return (
    <section>
      <p>
        <a href="#/campaigns">← Campaigns</a>
      </p>
      <Show when={campaign.error}>
        <p class="error">Could not load the campaign: {(campaign.error as Error).message}</p>
      </Show>
      <Show when={campaign()}>
        {(c) => (
          <>
            <h1>{c().title}</h1>
            <p class="muted small">
              <span class="mono">{c().id}</span> · org {c().orgId} · by {c().createdBy} · approve{' '}
              {c().approve} · at most {c().throttle.maxConcurrent} at once
              <Show when={c().throttle.maxPrsPerHour}>{(n) => <>, {n()} proposals an hour</>}</Show> · feed{' '}
              {feed()}
            </p>
            <p>
              <span class={`status status-${c().status}`}>{c().status}</span>
              <Show when={c().waiting}>{(w) => <span class="muted"> — waiting: {w()}</span>}</Show>
              <Show when={c().reason}>{(r) => <span class="muted"> — {r()}</span>}</Show>
            </p>
            <div class="row">
              <Show when={c().status === 'running' || c().status === 'planning'}>
                <button type="button" onClick={() => act('pause', 'Pause')}>
                  Pause
                </button>
              </Show>
              <Show when={c().status === 'paused'}>
                <button type="button" onClick={() => act('resume', 'Resume')}>
                  Resume
                </button>
              </Show>
              <Show when={!ENDED.has(c().status) && c().status !== 'cancelled'}>
                <button type="button" onClick={() => act('cancel', 'Cancel')}>
                  Cancel campaign
                </button>
              </Show>
            </div>
            <Show when={note()}>{(n) => <p class={n().ok ? 'muted' : 'error'}>{n().text}</p>}</Show>
            <h2>Burndown</h2>
            <BurndownBar burndown={c().burndown} />
            <p class="muted small">
              {endedCount(c().burndown)} of {c().repos.length} ended ·{' '}
              {burndownSegments(c().burndown)
                .map((s) => `${s.count} ${s.state.replace('_', ' ')}`)
                .join(' · ')}
            </p>
            <Show when={series().length > 1}>
              <svg
                class="campaign-line"
                viewBox="-2 -2 304 64"
                role="img"
                aria-label={`repositories not yet ended over time: ${series()
                  .map((p) => p.open)
                  .join(', ')}`}
              >
                <polyline points={burndownPoints(series(), c().repos.length, 300, 60)} />
              </svg>
            </Show>
            <h2>Repositories</h2>
            <table class="tasks">
              <thead>
                <tr>
                  <th>repository</th>
                  <th>state</th>
                  <th>task</th>
                  <th>after</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                <For each={c().repos}>
                  {(r) => (
                    <tr>
                      <td>{r.name}</td>
                      <td>
                        <span class={`status status-${r.state}`}>{r.state.replace('_', ' ')}</span>
                        <Show when={r.reason}>{(why) => <div class="muted small">{why()}</div>}</Show>
                      </td>
                      <td class="small">
                        <Show when={r.taskId} fallback="—">
                          {(t) => <a href={`#/tasks/${t()}`}>{t()}</a>}
                        </Show>
                      </td>
                      <td class="small">{r.upstream.join(', ') || '—'}</td>
                      <td>
                        <Show when={r.state === 'failed' && c().status !== 'cancelled'}>
                          <button
                            type="button"
                            onClick={() => act(`repos/${r.repoId}/retry`, `Retry ${r.name}`)}
                          >
                            Retry
                          </button>
                        </Show>
                      </td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </>
        )}
      </Show>
    </section>
  );
}
