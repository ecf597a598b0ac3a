// How well the confidences shown on patches matched what happened to them (`GET /v1/metrics/calibration`,
// issue 14 item 4): the Brier score and the expected calibration error of the Reviewer model's own number and of
// the calibrated one, and their reliability bins — in each range of predicted confidence, how many patches were
// good.
import { createResource, For, Show } from 'solid-js';
import { api, ApiCallError } from '../api.ts';
import { pct } from '../lib/calibration.ts';
import type { CalibrationMetrics, CalibrationScore } from '../types.ts';

function ScoreTable(props: { title: string; score: CalibrationScore }) {
  return (
    <section class="calibration-score" aria-label={props.title}>
      <h2>{props.title}</h2>
      <p>
        Brier score <strong>{props.score.brier === null ? '—' : props.score.brier.toFixed(4)}</strong> ·
        expected calibration error <strong>{pct(props.score.ece)}</strong> · {props.score.good} good of{' '}
        {props.score.n}
      </p>
      <table>
        <caption class="muted small">
          Reliability bins: predicted confidence against the observed rate of good patches
        </caption>
        <thead>
          <tr>
            <th scope="col">confidence</th>
            <th scope="col">patches</th>
            <th scope="col">mean predicted</th>
            <th scope="col">observed good</th>
          </tr>
        </thead>
        <tbody>
          <For each={props.score.bins.filter((b) => b.count > 0)}>
            {(b) => (
              <tr>
                <td>
                  {pct(b.lo)}–{pct(b.hi)}
                </td>
                <td>{b.count}</td>
                <td>{pct(b.meanPredicted)}</td>
                <td>{pct(b.observedRate)}</td>
              </tr>
            )}
          </For>
        </tbody>
      </table>
    </section>
  );
}

export function CalibrationView() {
  const [m] = createResource(() => api<CalibrationMetrics>('GET', '/v1/metrics/calibration'));
  const denied = () => m.error instanceof ApiCallError && m.error.status === 403;
  return (
    <section class="calibration">
      <h1>Confidence calibration</h1>
      <p class="muted">
        Each patch's confidence against its outcome: approved and kept, or resolved by an evaluation, is good;
        changes requested or rolled back is not. `codemesh calibrate --write` refits the calibrated
        confidence.
      </p>
      <Show when={m.error}>
        <p class="error">
          {denied()
            ? 'Calibration needs the metrics:read scope.'
            : `Could not load: ${(m.error as Error).message}`}
        </p>
      </Show>
      <Show when={m()}>
        {(c) => (
          <>
            <p>
              {c().calibration.n} labelled patch{c().calibration.n === 1 ? '' : 'es'},{' '}
              {c().calibration.unlabelled} waiting for an outcome
              {Object.keys(c().calibration.labels).length
                ? ` (${Object.entries(c().calibration.labels)
                    .map(([k, v]) => `${v} ${k}`)
                    .join(', ')})`
                : ''}
              .
            </p>
            <Show when={c().calibration.n > 0} fallback={<p class="muted">No patch has an outcome yet.</p>}>
              <ScoreTable title="Calibrated confidence" score={c().calibration.calibrated} />
              <ScoreTable title="The Reviewer model's own confidence" score={c().calibration.raw} />
            </Show>
          </>
        )}
      </Show>
    </section>
  );
}
