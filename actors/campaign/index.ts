// Multi-repo campaigns (FR-015): the driver role and what the gateway and tests use of it.
import type { MeshConnection } from '../../blackboard/index.ts';
import { CampaignDriver, type CampaignDriverOptions } from './driver.ts';

export {
  CampaignDriver,
  campaignTaskDescription,
  hasProposed,
  hourlyPlacesTaken,
  inWindow,
  repoStateOf,
} from './driver.ts';
export { dependencyGraph, DependencyCycleError, languagesOf, readManifest } from './manifests.ts';
export { cancelCampaignTasks } from './cancel.ts';
export { streamCampaignEvents } from './stream.ts';

/** `codemesh actor campaign`: one driver on its own connection (any number may run; see driver.ts). */
export function startCampaignRole(
  mesh: MeshConnection,
  opts: CampaignDriverOptions,
): { role: 'campaign'; stop(): Promise<void> } {
  const driver = new CampaignDriver(mesh, opts);
  driver.start();
  return {
    role: 'campaign',
    async stop() {
      await driver.stop();
      await mesh.close();
    },
  };
}
