// The console shell: token prompt, hash routes (#/ the task list, #/new the composer, #/tasks/<id> a task,
// #/settings, #/deadletters, #/calibration, #/campaigns[/<id>], anything else a not-found page), keyboard
// shortcuts, the live board panel.
import { createSignal, For, Match, onCleanup, Show, Switch } from 'solid-js';
import { clearToken, getToken, setToken } from './api.ts';
import { useBoardFeed } from './board-store.ts';
import { APPROVE_SHORTCUT_EVENT } from './components/ApprovalBox.tsx';
import { BOARD_MOVE_EVENT, BoardPanel } from './components/BoardPanel.tsx';
import { CalibrationView } from './components/Calibration.tsx';
import { CampaignListView, CampaignView } from './components/Campaigns.tsx';
import { DeadLettersView } from './components/DeadLetters.tsx';
import { SettingsView } from './components/Settings.tsx';
import { TaskComposer } from './components/TaskComposer.tsx';
import { LIST_MOVE_EVENT, TaskListView } from './components/TaskList.tsx';
import { TaskView } from './components/TaskView.tsx';
import { TokenGate } from './components/TokenGate.tsx';
import { routeOf } from './lib/route.ts';
import { createShortcutReader, SHORTCUTS } from './lib/shortcuts.ts';

export function App() {
  const [token, setTokenSignal] = createSignal(getToken());
  return (
    <Show
      when={token()}
      fallback={
        <TokenGate
          onToken={(t) => {
            setToken(t);
            setTokenSignal(getToken());
          }}
        />
      }
    >
      <Shell
        onSignOut={() => {
          clearToken();
          setTokenSignal('');
        }}
      />
    </Show>
  );
}

/** Keys typed into a field are text, not shortcuts. */
const typing = (t: EventTarget | null) =>
  t instanceof HTMLElement &&
  (t.isContentEditable || t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT');

function Shell(props: { onSignOut: () => void }) {
  const [route, setRoute] = createSignal(routeOf(location.hash));
  const [help, setHelp] = createSignal(false);
  const onHash = () => setRoute(routeOf(location.hash));
  const taskId = () => {
    const r = route();
    return r.page === 'task' ? r.id : undefined;
  };
  const campaignId = () => {
    const r = route();
    return r.page === 'campaign' ? r.id : undefined;
  };
  const notFound = () => {
    const r = route();
    return r.page === 'not-found' ? r.hash : undefined;
  };
  window.addEventListener('hashchange', onHash);
  onCleanup(() => window.removeEventListener('hashchange', onHash));

  const read = createShortcutReader();
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Escape' && help()) return setHelp(false);
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    const action = read(e.key);
    if (!action) return;
    e.preventDefault();
    switch (action) {
      case 'help':
        return setHelp(!help());
      case 'go-tasks':
        location.hash = '#/';
        return;
      case 'go-settings':
        location.hash = '#/settings';
        return;
      case 'new':
        location.hash = '#/new';
        return;
      case 'approve':
        window.dispatchEvent(new Event(APPROVE_SHORTCUT_EVENT));
        return;
      case 'next':
      case 'prev':
        // The task list has its rows; every other page moves through the blackboard's entries.
        window.dispatchEvent(
          new CustomEvent(route().page === 'tasks' ? LIST_MOVE_EVENT : BOARD_MOVE_EVENT, {
            detail: action === 'next' ? 1 : -1,
          }),
        );
        return;
      case 'search':
        (
          document.querySelector<HTMLInputElement>('main [data-search]') ??
          document.querySelector<HTMLInputElement>('[data-search]')
        )?.focus();
        return;
    }
  };
  document.addEventListener('keydown', onKey);
  onCleanup(() => document.removeEventListener('keydown', onKey));

  const feed = useBoardFeed();
  // A revoked or wrong token: back to the prompt.
  const unauthorized = () => feed.error()?.status === 401;

  return (
    <div class="shell">
      <header class="top">
        <a class="brand" href="#/">
          codemesh
        </a>
        <span class={`feed feed-${feed.state()}`} title={feed.error()?.message ?? ''}>
          board {feed.state()}
        </span>
        <nav class="row" aria-label="pages">
          <a class="link" href="#/">
            tasks
          </a>
          <a class="link" href="#/new">
            new task
          </a>
          <a class="link" href="#/settings">
            settings
          </a>
          <a class="link" href="#/calibration">
            calibration
          </a>
          <a class="link" href="#/campaigns">
            campaigns
          </a>
          <a class="link" href="#/deadletters">
            dead letters
          </a>
          <button type="button" class="link" onClick={() => setHelp(!help())} aria-expanded={help()}>
            shortcuts (?)
          </button>
          <button type="button" class="link" onClick={() => props.onSignOut()}>
            sign out
          </button>
        </nav>
      </header>
      <Show when={help()}>
        <section class="shortcuts" role="dialog" aria-label="Keyboard shortcuts">
          <h2>Keyboard shortcuts</h2>
          <dl>
            <For each={SHORTCUTS}>
              {(s) => (
                <>
                  <dt>
                    <kbd>{s.keys}</kbd>
                  </dt>
                  <dd>{s.does}</dd>
                </>
              )}
            </For>
          </dl>
          <button type="button" onClick={() => setHelp(false)}>
            Close
          </button>
        </section>
      </Show>
      <Show when={unauthorized()}>
        <p class="error banner">
          The token was refused ({feed.error()?.message}).{' '}
          <button type="button" class="link" onClick={() => props.onSignOut()}>
            Enter another
          </button>
        </p>
      </Show>
      <main class="main">
        <Switch>
          <Match when={taskId()}>{(id) => <TaskView id={id()} board={feed.board} />}</Match>
          <Match when={route().page === 'new'}>
            <TaskComposer />
          </Match>
          <Match when={route().page === 'settings'}>
            <SettingsView />
          </Match>
          <Match when={route().page === 'deadletters'}>
            <DeadLettersView />
          </Match>
          <Match when={route().page === 'calibration'}>
            <CalibrationView />
          </Match>
          <Match when={route().page === 'campaigns'}>
            <CampaignListView />
          </Match>
          <Match when={campaignId()}>{(id) => <CampaignView id={id()} />}</Match>
          <Match when={notFound()}>
            {(hash) => (
              <section class="not-found">
                <h1>Not found</h1>
                <p>
                  The console has no page <span class="mono">{hash()}</span>.{' '}
                  <a href="#/">Back to the tasks</a>
                </p>
              </section>
            )}
          </Match>
          <Match when={route().page === 'tasks'}>
            <TaskListView board={feed.board} />
          </Match>
        </Switch>
      </main>
      <aside class="side" aria-label="blackboard">
        <BoardPanel board={feed.board} taskId={taskId()} />
      </aside>
    </div>
  );
}
