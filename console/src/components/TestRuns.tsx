// One test run: outcome against the base commit, runner, counts; then the results by category (fail → pass,
// regressions, flaky, environment errors, still failing, new, missing), each test with its message and the log
// lines that name it; every test in a closed list; the log's tail.
import { createMemo, For, Show } from 'solid-js';
import { categorize } from '../lib/testcats.ts';
import type { TestRun } from '../types.ts';

const OUTCOME: Record<NonNullable<TestRun['outcome']>, string> = {
  pass: 'no regression',
  regression: 'regression',
  timeout: 'timed out',
  env_error: 'environment error',
  no_tests: 'no tests',
  unreproduced: 'does not reproduce the issue',
};

export function TestRunView(props: { run: TestRun }) {
  const r = () => props.run;
  const cats = createMemo(() => categorize(props.run));
  return (
    <div class="testrun">
      <div class="row">
        <span class={r().passed ? 'pass' : 'fail'}>{r().passed ? 'passed' : 'failed'}</span>
        <Show when={r().outcome}>{(o) => <span class="small">{OUTCOME[o()]}</span>}</Show>
        <span class="mono small">{r().command.join(' ')}</span>
        <span class="small muted">
          {r().runner} · {r().counts.passed} passed, {r().counts.failed} failed, {r().counts.skipped} skipped
          · {(r().durationMs / 1000).toFixed(1)} s{r().timedOut ? ' · timed out' : ''}
        </span>
      </div>
      <Show when={r().reason}>
        <p class="small">{r().reason}</p>
      </Show>
      <Show when={r().baseline}>
        {(b) => (
          <p class="small muted">
            base commit <span class="mono">{b().commit.slice(0, 10)}</span>
            {b().cached ? ' (cached)' : ''}: {b().counts.passed} passed, {b().counts.failed} failed
            {b().problem ? ` · ${b().problem}` : ''}
          </p>
        )}
      </Show>
      <Show when={r().verdict?.reproduction}>
        {(rep) => (
          <p class="small">
            reproduction: {rep().status}
            {rep().status === 'confirmed' && rep().reproduced.length
              ? ` (${rep().reproduced.join(', ')})`
              : ''}
          </p>
        )}
      </Show>
      <Show
        when={cats().length > 0}
        fallback={
          <Show when={r().verdict}>
            <p class="small muted">No test changed outcome against the base commit.</p>
          </Show>
        }
      >
        <div class="categories">
          <For each={cats()}>
            {(c) => (
              <section class={`cat cat-${c.key}`} aria-label={`${c.label} (${c.items.length})`}>
                <h3>
                  {c.label} <span class="count">{c.items.length}</span>
                </h3>
                <p class="small muted">{c.hint}</p>
                <ul>
                  <For each={c.items}>
                    {(t) => (
                      <li>
                        <span class="mono small">{t.name}</span>
                        <Show when={t.runs}>
                          {(runs) => <span class="small muted"> runs: {runs().join(' → ')}</span>}
                        </Show>
                        <Show when={t.onBase !== undefined}>
                          <span class="small muted">
                            {t.onBase ? ' (on the base commit too)' : ' (only with the patch)'}
                          </span>
                        </Show>
                        <Show when={t.message}>
                          <pre class="t-msg">{t.message}</pre>
                        </Show>
                        <Show when={t.log}>
                          <details>
                            <summary class="small">log lines</summary>
                            <pre class="log">{t.log}</pre>
                          </details>
                        </Show>
                      </li>
                    )}
                  </For>
                </ul>
              </section>
            )}
          </For>
        </div>
      </Show>
      <Show when={r().tests.length > 0}>
        <details>
          <summary class="small">all tests ({r().tests.length})</summary>
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
        </details>
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
