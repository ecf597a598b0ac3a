// A cancelled campaign stops the tasks it started that are still under way: `task.cancel_requested` for each,
// which the conductor turns into its fail path (`campaign cancelled`) unless the change is already integrated.
// The gateway sends them at the cancel; every driver pass sends them again until the tasks have ended (one
// message id per task: the stream keeps one within its window, and the conductor's handling is idempotent).
import type { MeshConnection } from '../../blackboard/index.ts';
import { CAMPAIGN_CANCELLED, type CampaignRecord, REPO_IN_FLIGHT } from '../../schemas/index.ts';

/** Returns the ids of the tasks asked to stop. */
export async function cancelCampaignTasks(
  mesh: MeshConnection,
  c: CampaignRecord,
  at: string,
): Promise<string[]> {
  const asked: string[] = [];
  if (c.status !== 'cancelled') return asked;
  for (const r of c.repos) {
    if (!r.taskId || !REPO_IN_FLIGHT.has(r.state)) continue;
    await mesh.bus.publish({
      id: `${r.taskId}:campaign-cancelled`,
      taskId: r.taskId,
      type: 'task.cancel_requested',
      at,
      data: {
        reason: `${CAMPAIGN_CANCELLED}${c.reason ? ` (${c.reason})` : ''}`,
        by: c.reason?.replace(/^cancelled by /, '') ?? 'campaign',
        campaignId: c.id,
      },
    });
    asked.push(r.taskId);
  }
  return asked;
}
