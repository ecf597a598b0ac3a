// Chat with the task's agents (`POST /v1/chat/{task}`): one thread per visit; an answer may say it became a
// change request the agents now work to.
import { createSignal, For, Show } from 'solid-js';
import { api } from '../api.ts';
import type { ChatReply } from '../types.ts';

interface Line {
  who: string;
  text: string;
  note?: string;
}

export function ChatPanel(props: { taskId: string }) {
  const [lines, setLines] = createSignal<Line[]>([]);
  const [message, setMessage] = createSignal('');
  const [threadId, setThreadId] = createSignal<string>();
  const [busy, setBusy] = createSignal(false);
  const [error, setError] = createSignal<string>();
  const send = async (e: SubmitEvent) => {
    e.preventDefault();
    const text = message().trim();
    if (!text) return;
    setBusy(true);
    setError(undefined);
    setLines((l) => [...l, { who: 'you', text }]);
    setMessage('');
    try {
      const r = await api<ChatReply>('POST', `/v1/chat/${props.taskId}`, {
        message: text,
        ...(threadId() ? { threadId: threadId() } : {}),
      });
      setThreadId(r.threadId);
      setLines((l) => [
        ...l,
        {
          who: r.by,
          text: r.answer,
          ...(r.changeRequest ? { note: `Recorded as a change request: ${r.changeRequest.text}` } : {}),
        },
      ]);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="chat" aria-labelledby="chat-h">
      <h2 id="chat-h">Chat with the task's agents</h2>
      <Show
        when={lines().length > 0}
        fallback={<p class="small muted">Ask about the plan, the patch or the tests.</p>}
      >
        <ol class="chat-lines" aria-live="polite">
          <For each={lines()}>
            {(l) => (
              <li class={l.who === 'you' ? 'chat-you' : 'chat-agent'}>
                <strong class="small">{l.who}</strong> <span>{l.text}</span>
                <Show when={l.note}>
                  <p class="small warn">{l.note}</p>
                </Show>
              </li>
            )}
          </For>
        </ol>
      </Show>
      <form class="row" onSubmit={send}>
        <input
          class="grow"
          aria-label="Message to the agents"
          placeholder="Message to the agents"
          value={message()}
          onInput={(e) => setMessage(e.currentTarget.value)}
        />
        <button type="submit" disabled={busy() || !message().trim()}>
          {busy() ? 'Waiting…' : 'Send'}
        </button>
      </form>
      <Show when={error()}>
        <p class="error">{error()}</p>
      </Show>
    </section>
  );
}
