// One patch: summary, stats, its policy report, and per file why it changed beside the side-by-side diff
// (DiffFiles). At the gate, a line number opens a comment on that line; the comments go out together as one
// change request (`file:line: text` each: the gate takes one change request per arrival). Then the Doc Writer's
// documentation patch, for tasks that asked for one.
import { Show } from 'solid-js';
import { api } from '../api.ts';
import { createAction } from '../lib/action.ts';
import { changeRequestText, type LineComment } from '../lib/comments.ts';
import { draft } from '../lib/drafts.ts';
import { fileRationale } from '../lib/rationale.ts';
import type { Patch, Plan } from '../types.ts';
import { type Anchor, type Commenting, DiffFiles } from './DiffFiles.tsx';
import { DocsView } from './DocsView.tsx';
import { PolicyView } from './PolicyView.tsx';

export function PatchView(props: {
  patch: Patch;
  open?: boolean;
  plan?: Plan | null;
  /** The patch may be approved now (the policy override is offered when it is blocked). */
  approvable?: boolean;
  /** At the gate with an attempt left: inline comments become a change request. */
  canComment?: boolean;
  /** The task asked for documentation: show the Doc Writer's patch. */
  docs?: boolean;
  /** Changes when the task moves on (the documentation patch is fetched again). */
  version?: string;
  onDone?: () => void;
}) {
  // Kept outside the component: the task view renders its patches anew each time it fetches the task.
  const pid = props.patch.id;
  const [comments, setComments] = draft<LineComment[]>(`comments:${pid}`, []);
  const [editing, setEditing] = draft<Anchor | undefined>(`editing:${pid}`, undefined);
  const [text, setText] = draft(`comment-text:${pid}`, '');
  const commenting: Commenting = {
    list: comments,
    add: (c) => setComments((cs) => [...cs, c]),
    remove: (c) => setComments((cs) => cs.filter((x) => x !== c)),
    editing,
    setEditing: (a) => setEditing(() => a),
    text,
    setText,
  };
  const { busy, error, act } = createAction(
    () =>
      api('POST', `/v1/patches/${props.patch.id}/approve`, {
        decision: 'request_changes',
        comment: changeRequestText(comments()),
      }),
    () => {
      setComments([]);
      props.onDone?.();
    },
  );
  const n = () => comments().length;
  return (
    <div class="patch">
      <div class="row">
        <strong class="mono">{props.patch.id}</strong>
        <span class="add">+{props.patch.stats?.additions ?? 0}</span>
        <span class="del">−{props.patch.stats?.deletions ?? 0}</span>
        <span class="muted small">{props.patch.summary}</span>
      </div>
      <PolicyView
        patchId={props.patch.id}
        report={props.patch.policy}
        approvable={props.approvable ?? false}
        onDone={() => props.onDone?.()}
      />
      <Show when={props.canComment}>
        <p class="small muted">Select a line number to comment on that line.</p>
      </Show>
      <DiffFiles
        diff={props.patch.diff}
        {...(props.open === undefined ? {} : { open: props.open })}
        rationale={(path) => fileRationale(path, props.plan, props.patch.summary)}
        commenting={props.canComment ? commenting : undefined}
      />
      <Show when={props.canComment && n() > 0}>
        <div class="row review-tray">
          <span>
            {n()} comment{n() === 1 ? '' : 's'} on <span class="mono">{props.patch.id}</span>
          </span>
          <button type="button" disabled={busy()} onClick={() => void act()}>
            Request changes with {n() === 1 ? 'this comment' : `these ${n()} comments`}
          </button>
        </div>
      </Show>
      <Show when={error()}>
        <p class="error" role="alert">
          {error()}
        </p>
      </Show>
      <Show when={props.docs}>
        <DocsView patchId={props.patch.id} version={props.version ?? ''} />
      </Show>
    </div>
  );
}
