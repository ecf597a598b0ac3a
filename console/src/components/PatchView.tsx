// One patch: summary, stats, and per file a side-by-side diff with line numbers (old left, new right). git's
// header lines are not shown; the hunk's enclosing function is its separator.
import { createMemo, For, Match, Switch } from 'solid-js';
import { splitDiff } from '../lib/diff.ts';
import { type SideCell, sideBySide } from '../lib/sidebyside.ts';
import type { Patch } from '../types.ts';

function Cells(props: { cell: SideCell | null }) {
  return (
    <>
      <td class={`ln ${props.cell ? `sb-${props.cell.kind}` : 'sb-empty'}`}>{props.cell?.n ?? ''}</td>
      <td class={`code ${props.cell ? `sb-${props.cell.kind}` : 'sb-empty'}`}>
        {props.cell ? (props.cell.kind === 'add' ? '+ ' : props.cell.kind === 'del' ? '− ' : '  ') : ''}
        {props.cell?.text ?? ''}
      </td>
    </>
  );
}

export function PatchView(props: { patch: Patch; open?: boolean }) {
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
          <details open={props.open ?? files().length <= 5}>
            <summary class="mono">
              {f.path || '(unnamed)'} <span class="add">+{f.additions}</span>{' '}
              <span class="del">−{f.deletions}</span>
            </summary>
            <section class="sbs-scroll" tabindex="0" aria-label={`diff of ${f.path || 'a file'}`}>
              <table class="sbs">
                <thead>
                  <tr>
                    <th scope="col" class="ln">
                      old
                    </th>
                    <th scope="col">before</th>
                    <th scope="col" class="ln">
                      new
                    </th>
                    <th scope="col">after</th>
                  </tr>
                </thead>
                <tbody>
                  <For each={sideBySide(f)}>
                    {(row) => (
                      <Switch>
                        <Match when={row.kind === 'hunk' && row}>
                          {(h) => (
                            <tr class="sb-hunk">
                              <td colSpan={4}>⋯ {h().text}</td>
                            </tr>
                          )}
                        </Match>
                        <Match when={row.kind === 'note' && row}>
                          {(n) => (
                            <tr class="sb-note">
                              <td colSpan={4}>{n().text}</td>
                            </tr>
                          )}
                        </Match>
                        <Match when={row.kind === 'line' && row}>
                          {(l) => (
                            <tr>
                              <Cells cell={l().left} />
                              <Cells cell={l().right} />
                            </tr>
                          )}
                        </Match>
                      </Switch>
                    )}
                  </For>
                </tbody>
              </table>
            </section>
          </details>
        )}
      </For>
    </div>
  );
}
