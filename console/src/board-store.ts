// The live blackboard feed for the whole page: one `/v1/board/events` stream, changes applied in batches.
import { type Accessor, createSignal, onCleanup } from 'solid-js';
import { ApiCallError, followSse } from './api.ts';
import { applyBoardChanges, type BoardChange, type BoardState } from './lib/board.ts';

export type FeedState = 'connecting' | 'open' | 'retrying' | 'closed';

export interface BoardFeed {
  board: Accessor<BoardState>;
  state: Accessor<FeedState>;
  /** Why the feed is not open: the HTTP status (401: the token) and the gateway's message. */
  error: Accessor<{ status?: number; message: string } | undefined>;
}

/** Must run inside a reactive owner (a component): the stream closes with it. */
export function useBoardFeed(): BoardFeed {
  const [board, setBoard] = createSignal<BoardState>({});
  const [state, setState] = createSignal<FeedState>('connecting');
  const [error, setError] = createSignal<{ status?: number; message: string }>();
  const ac = new AbortController();
  let pending: BoardChange[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  // The initial snapshot arrives as a burst: one state update per 100 ms keeps the page responsive.
  const flush = () => {
    timer = undefined;
    const batch = pending;
    pending = [];
    setBoard((s) => applyBoardChanges(s, batch, Date.now()));
  };
  void followSse('/v1/board/events', {
    signal: ac.signal,
    onMessage(m) {
      try {
        pending.push(JSON.parse(m.data) as BoardChange);
      } catch {
        return;
      }
      timer ??= setTimeout(flush, 100);
    },
    onState(s, err) {
      setState(s);
      setError(
        err
          ? { status: err instanceof ApiCallError ? err.status : undefined, message: err.message }
          : undefined,
      );
    },
  });
  onCleanup(() => {
    ac.abort();
    if (timer) clearTimeout(timer);
  });
  return { board, state, error };
}
