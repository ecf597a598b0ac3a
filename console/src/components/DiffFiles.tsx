// A diff's files, each a collapsible side-by-side table with line numbers (old left, new right), highlighted
// (tokens rendered as text, never HTML); git's header lines are not shown, the hunk's enclosing function is its
// separator. Optionally why each file changed, beside it, and comments on lines (a line number opens one).
import { type Accessor, createMemo, For, type JSX, Match, Show, Switch } from 'solid-js';
import { type LineComment, lineRef } from '../lib/comments.ts';
import { splitDiff } from '../lib/diff.ts';
import { type LexState, langOf, type Token, tokenizeLine } from '../lib/highlight.ts';
import type { FileRationale } from '../lib/rationale.ts';
import { type SideCell, type SideRow, sideBySide } from '../lib/sidebyside.ts';

export type Anchor = Pick<LineComment, 'file' | 'side' | 'line'>;
const same = (a: Anchor, b: Anchor) => a.file === b.file && a.side === b.side && a.line === b.line;

/** Comments being written on a patch: the list, the line whose editor is open and what it holds. */
export interface Commenting {
  list: Accessor<LineComment[]>;
  add(c: LineComment): void;
  remove(c: LineComment): void;
  editing: Accessor<Anchor | undefined>;
  setEditing(a: Anchor | undefined): void;
  text: Accessor<string>;
  setText(t: string): void;
}

/** A side-by-side row with each side's tokens (a side's lexer state runs on within a hunk). */
type Highlighted = { row: SideRow; left: Token[]; right: Token[] };

function highlightRows(path: string, rows: SideRow[]): Highlighted[] {
  const lang = langOf(path);
  let left: LexState = {};
  let right: LexState = {};
  const lex = (cell: SideCell | null, side: 'left' | 'right'): Token[] => {
    if (!cell) return [];
    const r = tokenizeLine(cell.text, lang, side === 'left' ? left : right);
    if (side === 'left') left = r.state;
    else right = r.state;
    // A context line is the same on both sides: both lexers move on.
    if (cell.kind === 'context') {
      if (side === 'left') right = r.state;
      else left = r.state;
    }
    return r.tokens;
  };
  return rows.map((row) => {
    if (row.kind !== 'line') {
      // Hunks are apart: what was open before one says nothing of the next.
      left = {};
      right = {};
      return { row, left: [], right: [] };
    }
    const l = lex(row.left, 'left');
    const r = row.right?.kind === 'context' ? l : lex(row.right, 'right');
    return { row, left: l, right: r };
  });
}

function Code(props: { tokens: Token[] }) {
  return (
    <For each={props.tokens}>
      {(t): JSX.Element => (t.kind === 'text' ? t.text : <span class={`tok-${t.kind}`}>{t.text}</span>)}
    </For>
  );
}

function Cells(props: {
  cell: SideCell | null;
  tokens: Token[];
  /** Set when this side's line can be commented on. */
  onComment?: (() => void) | undefined;
  label?: string;
}) {
  const cls = () => (props.cell ? `sb-${props.cell.kind}` : 'sb-empty');
  return (
    <>
      <td class={`ln ${cls()}`}>
        <Show when={props.cell && props.onComment} fallback={props.cell?.n ?? ''}>
          <button type="button" class="ln-btn" aria-label={props.label} onClick={() => props.onComment?.()}>
            {props.cell!.n}
          </button>
        </Show>
      </td>
      <td class={`code ${cls()}`}>
        {props.cell ? (props.cell.kind === 'add' ? '+ ' : props.cell.kind === 'del' ? '− ' : '  ') : ''}
        <Code tokens={props.tokens} />
      </td>
    </>
  );
}

/** The editor of a comment on one line, in a row of its own under it. */
function CommentEditor(props: {
  at: Anchor;
  text: string;
  onText: (t: string) => void;
  onAdd: (text: string) => void;
  onCancel: () => void;
}) {
  const text = () => props.text;
  let box: HTMLTextAreaElement | undefined;
  queueMicrotask(() => box?.focus());
  return (
    <tr class="sb-comment">
      <td colSpan={4}>
        <textarea
          ref={box}
          rows="2"
          aria-label={`Your comment on ${lineRef(props.at)}`}
          placeholder="What should change here (sent with your other comments as one change request)"
          value={text()}
          onInput={(e) => props.onText(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Escape') props.onCancel();
          }}
        />
        <div class="row">
          <button type="button" disabled={text().trim() === ''} onClick={() => props.onAdd(text())}>
            Add comment
          </button>
          <button type="button" onClick={() => props.onCancel()}>
            Cancel
          </button>
        </div>
      </td>
    </tr>
  );
}

/** The files of a diff, each a collapsible side-by-side table; with `rationale`, why each file changed. */
export function DiffFiles(props: {
  diff: string;
  open?: boolean;
  rationale?: (path: string) => FileRationale;
  commenting?: Commenting | undefined;
}) {
  const files = createMemo(() =>
    splitDiff(props.diff).map((f) => ({ file: f, rows: highlightRows(f.path, sideBySide(f)) })),
  );
  const editing = () => props.commenting?.editing();
  const setEditing = (a: Anchor | undefined) => {
    const c = props.commenting;
    if (!c) return;
    if (a && !(c.editing() && same(c.editing()!, a))) c.setText('');
    c.setEditing(a);
  };
  return (
    <For each={files()}>
      {({ file: f, rows }) => {
        const path = f.path || '(unnamed)';
        const anchorsOf = (row: SideRow): Anchor[] =>
          row.kind !== 'line'
            ? []
            : [
                ...(row.left?.kind === 'del' ? [{ file: path, side: 'old' as const, line: row.left.n }] : []),
                ...(row.right ? [{ file: path, side: 'new' as const, line: row.right.n }] : []),
              ];
        const open = (a: Anchor) => (props.commenting ? () => setEditing(a) : undefined);
        return (
          <details open={props.open ?? files().length <= 5}>
            <summary class="mono">
              {path} <span class="add">+{f.additions}</span> <span class="del">−{f.deletions}</span>
            </summary>
            <div class="file-body">
              <Show when={props.rationale?.(path)}>
                {(why) => (
                  <aside class="rationale" aria-label={`Why ${path} changed`}>
                    <strong class="small">Why this file</strong>
                    <ul>
                      <For each={why().reasons}>{(r) => <li>{r}</li>}</For>
                    </ul>
                    <Show when={why().subtasks.length > 0}>
                      <p class="small muted">
                        plan: <span class="mono">{why().subtasks.join(', ')}</span>
                      </p>
                    </Show>
                  </aside>
                )}
              </Show>
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
                    <For each={rows}>
                      {(h) => (
                        <Switch>
                          <Match when={h.row.kind === 'hunk' && h.row}>
                            {(r) => (
                              <tr class="sb-hunk">
                                <td colSpan={4}>⋯ {r().text}</td>
                              </tr>
                            )}
                          </Match>
                          <Match when={h.row.kind === 'note' && h.row}>
                            {(r) => (
                              <tr class="sb-note">
                                <td colSpan={4}>{r().text}</td>
                              </tr>
                            )}
                          </Match>
                          <Match when={h.row.kind === 'line' && h.row}>
                            {(l) => {
                              const oldAt = () =>
                                l().left?.kind === 'del'
                                  ? { file: path, side: 'old' as const, line: l().left!.n }
                                  : undefined;
                              const newAt = () =>
                                l().right
                                  ? { file: path, side: 'new' as const, line: l().right!.n }
                                  : undefined;
                              return (
                                <>
                                  <tr>
                                    <Cells
                                      cell={l().left}
                                      tokens={h.left}
                                      onComment={oldAt() ? open(oldAt()!) : undefined}
                                      label={oldAt() ? `Comment on ${lineRef(oldAt()!)}` : undefined}
                                    />
                                    <Cells
                                      cell={l().right}
                                      tokens={h.right}
                                      onComment={newAt() ? open(newAt()!) : undefined}
                                      label={newAt() ? `Comment on ${lineRef(newAt()!)}` : undefined}
                                    />
                                  </tr>
                                  <For each={anchorsOf(l())}>
                                    {(a) => (
                                      <>
                                        <For each={props.commenting?.list().filter((c) => same(c, a)) ?? []}>
                                          {(c) => (
                                            <tr class="sb-comment">
                                              <td colSpan={4}>
                                                <span class="mono small">{lineRef(c)}</span> {c.text}{' '}
                                                <button
                                                  type="button"
                                                  class="link"
                                                  onClick={() => props.commenting?.remove(c)}
                                                >
                                                  Remove
                                                </button>
                                              </td>
                                            </tr>
                                          )}
                                        </For>
                                        <Show when={editing() && same(editing()!, a)}>
                                          <CommentEditor
                                            at={a}
                                            text={props.commenting?.text() ?? ''}
                                            onText={(t) => props.commenting?.setText(t)}
                                            onAdd={(text) => {
                                              props.commenting?.add({ ...a, text: text.trim() });
                                              setEditing(undefined);
                                            }}
                                            onCancel={() => setEditing(undefined)}
                                          />
                                        </Show>
                                      </>
                                    )}
                                  </For>
                                </>
                              );
                            }}
                          </Match>
                        </Switch>
                      )}
                    </For>
                  </tbody>
                </table>
              </section>
            </div>
          </details>
        );
      }}
    </For>
  );
}
