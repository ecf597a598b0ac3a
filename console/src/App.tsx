// The console shell: token prompt, hash routes (#/ the task list, #/tasks/<id> a task), the live board panel.
import { createSignal, Match, onCleanup, Show, Switch } from 'solid-js';
import { clearToken, getToken, setToken } from './api.ts';
import { useBoardFeed } from './board-store.ts';
import { BoardPanel } from './components/BoardPanel.tsx';
import { DeadLettersView } from './components/DeadLetters.tsx';
import { TaskListView } from './components/TaskList.tsx';
import { TaskView } from './components/TaskView.tsx';
import { TokenGate } from './components/TokenGate.tsx';

const routeOf = (hash: string) => /^#\/tasks\/(t-[a-z0-9]+)$/.exec(hash)?.[1];

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
  const [taskId, setTaskId] = createSignal(routeOf(location.hash));
  const [letters, setLetters] = createSignal(location.hash === '#/deadletters');
  const onHash = () => {
    setTaskId(routeOf(location.hash));
    setLetters(location.hash === '#/deadletters');
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
          <Match when={letters()}>
            <DeadLettersView />
          </Match>
          <Match when={!taskId()}>
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
