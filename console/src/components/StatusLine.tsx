// The outcome of a form's last action (saved, refused with the reason), announced to screen readers.
import { Show } from 'solid-js';

export function StatusLine(props: { status: { ok: boolean; text: string } | undefined }) {
  return (
    <Show when={props.status}>
      {(s) => (
        <p class={s().ok ? 'pass' : 'error'} role="status">
          {s().text}
        </p>
      )}
    </Show>
  );
}
