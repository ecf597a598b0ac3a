// The plan as a DAG: one column per depth, an arrow from each dependency to its dependant.
import { createMemo, For, Show } from 'solid-js';
import { layoutDag, NODE_H, NODE_W } from '../lib/dag.ts';
import type { Plan } from '../types.ts';

const PAD = 8;

export function PlanDag(props: { plan: Plan }) {
  const layout = createMemo(() => layoutDag(props.plan.subtasks));
  const at = createMemo(() => new Map(layout().nodes.map((n) => [n.item.id, n])));
  const short = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
  return (
    <div class="dag">
      <p>{props.plan.summary}</p>
      <section class="dag-scroll" tabindex="0" aria-label="plan graph (scrolls)">
        <svg
          width={layout().width + 2 * PAD}
          height={layout().height + 2 * PAD}
          role="img"
          aria-label="plan dependency graph"
        >
          <defs>
            <marker
              id="arrow"
              viewBox="0 0 10 10"
              refX="10"
              refY="5"
              markerWidth="6"
              markerHeight="6"
              orient="auto"
            >
              <path d="M0,0 L10,5 L0,10 z" class="dag-arrowhead" />
            </marker>
          </defs>
          <g transform={`translate(${PAD},${PAD})`}>
            <For each={layout().edges}>
              {(e) => {
                const a = at().get(e.from)!;
                const b = at().get(e.to)!;
                const x1 = a.x + NODE_W;
                const y1 = a.y + NODE_H / 2;
                const x2 = b.x;
                const y2 = b.y + NODE_H / 2;
                const mx = (x1 + x2) / 2;
                return (
                  <path
                    class="dag-edge"
                    d={`M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`}
                    marker-end="url(#arrow)"
                  />
                );
              }}
            </For>
            <For each={layout().nodes}>
              {(n) => (
                <g transform={`translate(${n.x},${n.y})`} class={`dag-node role-${n.item.role ?? 'coder'}`}>
                  <title>
                    {`${n.item.id}: ${n.item.title}\n${n.item.description ?? ''}\n${(n.item.successCriteria ?? []).map((c) => `✓ ${c}`).join('\n')}`}
                  </title>
                  <rect width={NODE_W} height={NODE_H} rx="6" />
                  <text x="10" y="19" class="dag-id">
                    {short(n.item.id, 22)}
                  </text>
                  <text x="10" y="37" class="dag-title">
                    {short(n.item.title, 24)}
                  </text>
                </g>
              )}
            </For>
          </g>
        </svg>
      </section>
      <Show when={layout().problems.length > 0}>
        <p class="error small">{layout().problems.join('; ')}</p>
      </Show>
      <details>
        <summary>Subtasks ({props.plan.subtasks.length})</summary>
        <ol class="subtasks">
          <For each={props.plan.subtasks}>
            {(s) => (
              <li>
                <strong>{s.title}</strong> <span class="mono small muted">{s.id}</span>
                <Show when={s.dependsOn.length}>
                  <span class="small muted"> after {s.dependsOn.join(', ')}</span>
                </Show>
                <Show when={s.description}>
                  <p class="small">{s.description}</p>
                </Show>
                <ul class="small">
                  <For each={s.successCriteria ?? []}>{(c) => <li>{c}</li>}</For>
                </ul>
              </li>
            )}
          </For>
        </ol>
      </details>
      <Show when={props.plan.risks?.length}>
        <p class="small">Risks: {props.plan.risks!.join('; ')}</p>
      </Show>
    </div>
  );
}
