// A patch's policy report: one line of counts, the findings (severity, rule and CWE, where, what, how to fix),
// notes and dependency changes, and the gate's override: an approver approves a blocked patch only with a
// reason (`POST /v1/patches/{id}/approve` with `override.reason`; without it the gateway answers 409
// POLICY_BLOCKED). Once given, the override is shown with who, when, why and the rules it covered.
import { createSignal, For, Show } from 'solid-js';
import { api } from '../api.ts';
import { createAction } from '../lib/action.ts';
import { draft } from '../lib/drafts.ts';
import { blockingRules, canOverride, overrideProblem, policyLine, sortFindings } from '../lib/policy.ts';
import type { PolicyReport } from '../types.ts';

export function PolicyView(props: {
  patchId: string;
  report: PolicyReport | undefined;
  /** The patch may be approved now (at the gate, or kept while its revision runs). */
  approvable: boolean;
  onDone: () => void;
}) {
  // Kept outside the component: the task view renders its patches anew each time it fetches the task.
  const [reason, setReason] = draft(`override:${props.patchId}`, '');
  const [problem, setProblem] = createSignal<string>();
  const { busy, error, act } = createAction(
    () =>
      api('POST', `/v1/patches/${props.patchId}/approve`, {
        decision: 'approve',
        override: { reason: reason().trim() },
      }),
    () => props.onDone(),
  );
  const override = () => {
    const p = overrideProblem(reason());
    setProblem(p);
    if (!p) void act();
  };
  return (
    <section class="policy" aria-label={`Policy report of ${props.patchId}`}>
      <Show
        when={props.report}
        fallback={<p class="small muted">Policy: no report (the patch predates the policy check).</p>}
      >
        {(r) => (
          <>
            <p class="row">
              <strong>Policy</strong>
              <span class={r().blocked && !r().override ? 'fail' : r().findings.length ? 'warn' : 'pass'}>
                {policyLine(r())}
              </span>
              <span class="small muted mono">bundle {r().bundle}</span>
            </p>
            <Show when={r().findings.length > 0}>
              <div class="findings-scroll">
                <table class="findings">
                  <thead>
                    <tr>
                      <th scope="col">severity</th>
                      <th scope="col">rule</th>
                      <th scope="col">where</th>
                      <th scope="col">finding</th>
                      <th scope="col">remediation</th>
                    </tr>
                  </thead>
                  <tbody>
                    <For each={sortFindings(r().findings)}>
                      {(f) => (
                        <tr>
                          <td>
                            <span class={`sev sev-${f.severity}`}>{f.severity}</span>{' '}
                            <span class={f.enforcement === 'block' ? 'fail small' : 'warn small'}>
                              {f.enforcement === 'block' ? 'blocks' : 'warns'}
                            </span>
                          </td>
                          <td class="mono small">
                            {f.ruleId}
                            <Show when={f.cwe}>
                              <br />
                              {f.cwe}
                            </Show>
                          </td>
                          <td class="mono small">
                            {f.file}
                            {f.line ? `:${f.line}` : ''}
                          </td>
                          <td>
                            {f.message}
                            <Show when={f.package}>
                              {(p) => (
                                <span class="small muted">
                                  {' '}
                                  ({p().ecosystem} {p().name}
                                  {p().version ? `@${p().version}` : ''}
                                  {f.advisory ? `, ${f.advisory}` : ''}
                                  {f.fixed ? `, fixed in ${f.fixed}` : ''})
                                </span>
                              )}
                            </Show>
                          </td>
                          <td class="small">{f.remediation}</td>
                        </tr>
                      )}
                    </For>
                  </tbody>
                </table>
              </div>
            </Show>
            <Show when={r().notes.length > 0}>
              <ul class="small muted">
                <For each={r().notes}>{(n) => <li>{n}</li>}</For>
              </ul>
            </Show>
            <Show when={r().dependencies.length > 0}>
              <p class="small">
                Dependencies changed:{' '}
                {r()
                  .dependencies.map(
                    (d) =>
                      `${d.ecosystem} ${d.name}${d.version ? `@${d.version}` : ''}${d.license ? ` (${d.license})` : ''}`,
                  )
                  .join(', ')}
              </p>
            </Show>
            <Show when={r().override}>
              {(o) => (
                <p class="override">
                  Overridden by <span class="mono">{o().by}</span> at {o().at} ({o().ruleIds.join(', ')}):{' '}
                  <q>{o().reason}</q>
                </p>
              )}
            </Show>
            <Show when={canOverride(r(), props.approvable)}>
              <fieldset class="plain override-form">
                <legend class="small">
                  Blocked by {blockingRules(r()).join(', ')}. An approver may approve it anyway, with a reason
                  (recorded and audited).
                </legend>
                <textarea
                  rows="2"
                  aria-label="Reason for the override"
                  placeholder="Why the finding is acceptable here"
                  value={reason()}
                  onInput={(e) => {
                    setReason(e.currentTarget.value);
                    if (problem()) setProblem(overrideProblem(e.currentTarget.value));
                  }}
                />
                <div class="row">
                  <button type="button" disabled={busy()} onClick={override}>
                    Approve with override
                  </button>
                </div>
              </fieldset>
            </Show>
            <Show when={problem() ?? error()}>
              <p class="error" role="alert">
                {problem() ?? error()}
              </p>
            </Show>
          </>
        )}
      </Show>
    </section>
  );
}
