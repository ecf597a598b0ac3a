// A task at a glance, before the detail: status, what changed, tests, risk, the review's confidence (calibrated
// first, the model's own beside it), cost.
import { Show } from 'solid-js';
import { confidenceParts } from '../lib/confidence.ts';
import type { TaskDetail } from '../types.ts';
import { StatusBadge } from './Status.tsx';

const RANK = { low: 1, medium: 2, high: 3 } as const;

export function TaskSummary(props: { detail: TaskDetail }) {
  const d = () => props.detail;
  const patch = () => d().patches.at(-1);
  const run = () => d().testRuns.at(-1);
  const review = () => d().reviews.at(-1);
  const risk = () => {
    const risks = review()?.risks ?? [];
    if (risks.length === 0) return review() ? 'none flagged' : undefined;
    return risks.reduce((a, b) => (RANK[b.level] > RANK[a.level] ? b : a)).level;
  };
  return (
    <dl class="summary" aria-label="summary">
      <div>
        <dt>status</dt>
        <dd>
          <StatusBadge status={d().task.status} />
        </dd>
      </div>
      <div>
        <dt>changed</dt>
        <dd>
          <Show when={patch()} fallback="—">
            {(p) => (
              <>
                {p().files.length} file{p().files.length === 1 ? '' : 's'}{' '}
                <span class="add">+{p().stats?.additions ?? 0}</span>{' '}
                <span class="del">−{p().stats?.deletions ?? 0}</span>
              </>
            )}
          </Show>
        </dd>
      </div>
      <div>
        <dt>tests</dt>
        <dd>
          <Show when={run()} fallback="—">
            {(r) => (
              <>
                <span class={r().passed ? 'pass' : 'fail'}>
                  {r().counts.passed} passed, {r().counts.failed} failed
                </span>
                <Show when={r().verdict}>
                  {(v) => (
                    <span class="small">
                      {' '}
                      · {v().fixed.length} fail → pass, {v().regressions.length} regression
                      {v().regressions.length === 1 ? '' : 's'}
                    </span>
                  )}
                </Show>
              </>
            )}
          </Show>
        </dd>
      </div>
      <div>
        <dt>risk</dt>
        <dd>{risk() ?? '—'}</dd>
      </div>
      <div>
        <dt>confidence</dt>
        <dd>
          <Show when={review()} fallback="—">
            {(r) => (
              <>
                {confidenceParts(r()).main}
                <Show when={confidenceParts(r()).beside}>
                  {(b) => <span class="small muted"> · {b()}</span>}
                </Show>
              </>
            )}
          </Show>
        </dd>
      </div>
      <div>
        <dt>cost</dt>
        <dd>
          ${d().cost.costUsd.toFixed(4)} <span class="small muted">({d().cost.calls} calls)</span>
        </dd>
      </div>
      <Show when={d().task.campaignId}>
        {(id) => (
          <div>
            <dt>campaign</dt>
            <dd>
              <a href={`#/campaigns/${id()}`}>{id()}</a>
            </dd>
          </div>
        )}
      </Show>
    </dl>
  );
}
