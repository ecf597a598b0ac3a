// One test run: runner, counts, each test passed or failed (with its message), the log's tail.
import { For, Show } from 'solid-js';
import type { TestRun } from '../types.ts';

export function TestRunView(props: { run: TestRun }) {
  const r = () => props.run;
  return (
    <div class="testrun">
      <div class="row">
        <span class={r().passed ? 'pass' : 'fail'}>{r().passed ? 'passed' : 'failed'}</span>
        <span class="mono small">{r().command.join(' ')}</span>
        <span class="small muted">
          {r().runner} · {r().counts.passed} passed, {r().counts.failed} failed, {r().counts.skipped} skipped
          · {(r().durationMs / 1000).toFixed(1)} s{r().timedOut ? ' · timed out' : ''}
        </span>
      </div>
      <Show when={r().tests.length > 0}>
        <table class="tests">
          <tbody>
            <For each={r().tests}>
              {(t) => (
                <tr class={`t-${t.status}`}>
                  <td class="t-mark">{t.status === 'passed' ? '✓' : t.status === 'failed' ? '✗' : '○'}</td>
                  <td class="mono small">
                    {t.name}
                    <Show when={t.message}>
                      <pre class="t-msg">{t.message}</pre>
                    </Show>
                  </td>
                  <td class="small muted">
                    {t.durationMs !== undefined
                      ? `${t.durationMs < 10 ? t.durationMs.toFixed(1) : Math.round(t.durationMs)} ms`
                      : ''}
                  </td>
                </tr>
              )}
            </For>
          </tbody>
        </table>
      </Show>
      <Show when={r().log}>
        <details>
          <summary class="small">log (last part)</summary>
          <pre class="log">{r().log}</pre>
        </details>
      </Show>
    </div>
  );
}
