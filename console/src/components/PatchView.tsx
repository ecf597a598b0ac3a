// One patch: summary, stats, and its diff per file with additions and deletions coloured.
import { createMemo, For } from 'solid-js';
import { splitDiff } from '../lib/diff.ts';
import type { Patch } from '../types.ts';

export function PatchView(props: { patch: Patch }) {
  const files = createMemo(() => splitDiff(props.patch.diff));
  return (
    <div class="patch">
      <div class="row">
        <strong class="mono">{props.patch.id}</strong>
        <span class="add">+{props.patch.stats?.additions ?? 0}</span>
        <span class="del">−{props.patch.stats?.deletions ?? 0}</span>
        <span class="muted small">{props.patch.summary}</span>
      </div>
      <For each={files()}>
        {(f) => (
          <details open={files().length <= 5}>
            <summary class="mono">
              {f.path || '(unnamed)'} <span class="add">+{f.additions}</span>{' '}
              <span class="del">−{f.deletions}</span>
            </summary>
            <pre class="diff">
              <For each={f.lines}>{(l) => <span class={`dl dl-${l.kind}`}>{`${l.text}\n`}</span>}</For>
            </pre>
          </details>
        )}
      </For>
    </div>
  );
}
