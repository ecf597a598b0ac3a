// The Doc Writer's documentation patch for a code patch (tasks with `docs: true`), from `GET /v1/patches/{id}`:
// the symbols whose signature changed, and the diff side by side — or why there is no documentation change.
import { createResource, For, Show } from 'solid-js';
import { api } from '../api.ts';
import type { PatchResource } from '../types.ts';
import { DiffFiles } from './DiffFiles.tsx';

export function DocsView(props: {
  patchId: string /** Changes when the task moves on: fetch again. */;
  version: string;
}) {
  const [res] = createResource(
    () => `${props.patchId}|${props.version}`,
    () => api<PatchResource>('GET', `/v1/patches/${props.patchId}`),
  );
  return (
    <section class="docs" aria-label={`Documentation patch of ${props.patchId}`}>
      <Show when={res()} fallback={<p class="small muted">Documentation: loading…</p>}>
        {(r) => (
          <Show
            when={r().docs}
            fallback={
              <p class="small muted">Documentation: the Doc Writer has not run for this patch yet.</p>
            }
          >
            {(d) => (
              <>
                <p class="row">
                  <strong>Documentation</strong>
                  <Show
                    when={!d().skipped && d().files.length > 0 && !d().secrets?.length}
                    fallback={
                      <span class="small">
                        {d().secrets?.length
                          ? 'the edits held secrets: redacted, never committed'
                          : `no change: ${d().skipped ?? 'nothing to update'}`}
                      </span>
                    }
                  >
                    <span class="mono small">{d().id}</span>
                    <span class="add">+{d().stats.additions}</span>
                    <span class="del">−{d().stats.deletions}</span>
                    <span class="small muted">committed after the code</span>
                  </Show>
                </p>
                <Show when={d().symbols.length > 0}>
                  <ul class="small">
                    <For each={d().symbols}>
                      {(s) => (
                        <li>
                          <span class="mono">{s.name}</span> in <span class="mono">{s.file}</span>:{' '}
                          <code>{s.before}</code> → <code>{s.after}</code>
                        </li>
                      )}
                    </For>
                  </ul>
                </Show>
                <Show when={d().diff && !d().secrets?.length}>
                  <DiffFiles diff={d().diff} open={false} />
                </Show>
              </>
            )}
          </Show>
        )}
      </Show>
    </section>
  );
}
