// Keyboard shortcuts: single keys and the two-key `g t` / `g s`, read from keydown events outside text fields.

export type ShortcutAction =
  | 'help'
  | 'next'
  | 'prev'
  | 'go-tasks'
  | 'go-settings'
  | 'new'
  | 'approve'
  | 'search';

/** What `?` lists, in order. */
export const SHORTCUTS: ReadonlyArray<{ keys: string; does: string }> = [
  { keys: '?', does: 'show or hide this list' },
  { keys: 'j / k', does: 'next / previous task in the list; on other pages, blackboard entry' },
  { keys: 'Enter', does: "open the selected task, or the entry's raw JSON" },
  { keys: 'g t', does: 'go to the tasks' },
  { keys: 'g s', does: 'go to the settings' },
  { keys: 'n', does: 'new task' },
  { keys: 'a', does: 'approve the patch at the gate (asks to confirm)' },
  { keys: '/', does: 'search' },
  { keys: 'Esc', does: 'close this list or a confirmation' },
];

const SINGLE: Record<string, ShortcutAction> = {
  '?': 'help',
  j: 'next',
  k: 'prev',
  n: 'new',
  a: 'approve',
  '/': 'search',
};
const AFTER_G: Record<string, ShortcutAction> = { t: 'go-tasks', s: 'go-settings' };
/** How long `g` waits for its second key. */
const CHORD_MS = 1500;

/** Reads keys one by one; returns the action a key completes, if any. */
export function createShortcutReader(now: () => number = Date.now) {
  let gAt: number | undefined;
  return (key: string): ShortcutAction | undefined => {
    if (gAt !== undefined && now() - gAt <= CHORD_MS) {
      gAt = undefined;
      return AFTER_G[key];
    }
    gAt = undefined;
    if (key === 'g') {
      gAt = now();
      return undefined;
    }
    return SINGLE[key];
  };
}
