// What a person is writing, kept by key outside the components that show it: the task view re-renders its
// patches whenever the task's detail is fetched again (new objects each time), and a comment being written or
// an override's reason must not be lost then — nor when the person looks at another task and comes back.
import { createSignal, type Signal } from 'solid-js';

const drafts = new Map<string, Signal<unknown>>();

/**
 * The signal kept under `key`, made with `init` the first time.
 *
 * @example
 * const [reason, setReason] = draft(`override:${patchId}`, '');
 */
export function draft<T>(key: string, init: T): Signal<T> {
  let s = drafts.get(key);
  if (!s) {
    s = createSignal<unknown>(init);
    drafts.set(key, s);
  }
  return s as Signal<T>;
}
