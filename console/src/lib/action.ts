// A button's request: busy while it runs, its error message kept for display, `onDone` after success. The
// three human gates (patch, plan, budget) decide through it.
import { createSignal } from 'solid-js';

export function createAction<A extends unknown[]>(run: (...args: A) => Promise<unknown>, onDone: () => void) {
  const [busy, setBusy] = createSignal(false);
  const [error, setError] = createSignal<string>();
  const act = async (...args: A) => {
    setBusy(true);
    setError(undefined);
    try {
      await run(...args);
      onDone();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, act };
}
