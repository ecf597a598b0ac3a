// The console's hash routes. An unknown route is its own page: showing the task list there hid typos and
// links to pages the console does not have.
export type Route =
  | { page: 'tasks' }
  | { page: 'task'; id: string }
  | { page: 'new' }
  | { page: 'settings' }
  | { page: 'deadletters' }
  | { page: 'calibration' }
  | { page: 'campaigns' }
  | { page: 'campaign'; id: string }
  | { page: 'not-found'; hash: string };

export function routeOf(hash: string): Route {
  if (hash === '' || hash === '#' || hash === '#/') return { page: 'tasks' };
  const task = /^#\/tasks\/(t-[a-z0-9]+)$/.exec(hash);
  if (task) return { page: 'task', id: task[1]! };
  if (hash === '#/new') return { page: 'new' };
  if (hash === '#/settings') return { page: 'settings' };
  if (hash === '#/deadletters') return { page: 'deadletters' };
  if (hash === '#/calibration') return { page: 'calibration' };
  if (hash === '#/campaigns') return { page: 'campaigns' };
  const campaign = /^#\/campaigns\/(cp-[a-z0-9]+)$/.exec(hash);
  if (campaign) return { page: 'campaign', id: campaign[1]! };
  return { page: 'not-found', hash };
}
