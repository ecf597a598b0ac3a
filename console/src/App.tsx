// The console shell: token prompt, hash routes (#/ the task list, #/tasks/<id> a task, #/deadletters, anything
// else a not-found page), the live board panel.
import { createSignal, Match, onCleanup, Show, Switch } from 'solid-js';
import { clearToken, getToken, setToken } from './api.ts';
import { useBoardFeed } from './board-store.ts';
import { BoardPanel } from './components/BoardPanel.tsx';
import { DeadLettersView } from './components/DeadLetters.tsx';
import { TaskListView } from './components/TaskList.tsx';
import { TaskView } from './components/TaskView.tsx';
import { TokenGate } from './components/TokenGate.tsx';
import { routeOf } from './lib/route.ts';

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

function Shell(props: { onSignOut: () => void }) {
  const [route, setRoute] = createSignal(routeOf(location.hash));
  const onHash = () => setRoute(routeOf(location.hash));
  const taskId = () => {
    const r = route();
    return r.page === 'task' ? r.id : undefined;
  };
  const notFound = () => {
    const r = route();
    return r.page === 'not-found' ? r.hash : undefined;
  };
  window.addEventListener('hashchange', onHash);
  onCleanup(() => window.removeEventListener('hashchange', onHash));
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
        <a class="link" href="#/deadletters">
          dead letters
        </a>
        <button type="button" class="link" onClick={() => props.onSignOut()}>
          sign out
        </button>
      </header>
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
          <Match when={route().page === 'deadletters'}>
            <DeadLettersView />
          </Match>
          <Match when={notFound()}>
            {(hash) => (
              <section class="not-found">
                <h2>Not found</h2>
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
      <aside class="side">
        <BoardPanel board={feed.board} taskId={taskId()} />
      </aside>
    </div>
  );
}
