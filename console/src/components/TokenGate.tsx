// Asks for an API token (a personal access token or the development CODEMESH_TOKEN); kept in sessionStorage.
import { createSignal } from 'solid-js';

export function TokenGate(props: { onToken: (t: string) => void }) {
  const [value, setValue] = createSignal('');
  return (
    <main>
      <form
        class="gate"
        onSubmit={(e) => {
          e.preventDefault();
          if (value().trim()) props.onToken(value());
        }}
      >
        <h1>codemesh console</h1>
        <label for="token">API token</label>
        <input
          id="token"
          type="password"
          autocomplete="off"
          placeholder="cmp_… or the CODEMESH_TOKEN of `codemesh up`"
          value={value()}
          onInput={(e) => setValue(e.currentTarget.value)}
        />
        <button type="submit">Open</button>
        <p class="hint">
          The token stays in this tab (sessionStorage) and is sent as a bearer header. It needs the
          <code>tasks:read</code> scope, and <code>patches:approve</code> to approve.
        </p>
      </form>
    </main>
  );
}
