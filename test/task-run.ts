// Starts a task over the API and follows its event stream: the opening of the whole-mesh tests that check what
// one task leaves behind (secrets, policy findings).
import type { Harness } from './harness.ts';
import { readSse } from './harness.ts';

export interface StartedTask {
  id: string;
  /** Every event of the task up to `task.completed` (read from the SSE stream opened at creation). */
  events: ReturnType<typeof readSse>;
}

/** POST /v1/tasks (expects 201), then opens `/v1/tasks/{id}/events` until the task completes. */
export async function startTask(
  h: Harness,
  body: { repo: string; title: string; description: string },
): Promise<StartedTask> {
  const created = await h.api('/v1/tasks', { method: 'POST', body: JSON.stringify(body) });
  if (created.status !== 201) throw new Error(`POST /v1/tasks: ${created.status} ${await created.text()}`);
  const id = ((await created.json()) as { task: { id: string } }).task.id;
  const events = h.api(`/v1/tasks/${id}/events`).then((r) => readSse(r, (e) => e.type === 'task.completed'));
  return { id, events };
}
