import { describe, expect, it } from 'vitest';
import { routeOf } from './route.ts';

describe('console routes', () => {
  it('knows the task list, a task, the composer, settings and the dead letters', () => {
    for (const h of ['', '#', '#/']) expect(routeOf(h)).toEqual({ page: 'tasks' });
    expect(routeOf('#/tasks/t-abc123')).toEqual({ page: 'task', id: 't-abc123' });
    expect(routeOf('#/new')).toEqual({ page: 'new' });
    expect(routeOf('#/settings')).toEqual({ page: 'settings' });
    expect(routeOf('#/deadletters')).toEqual({ page: 'deadletters' });
    expect(routeOf('#/calibration')).toEqual({ page: 'calibration' });
    expect(routeOf('#/campaigns')).toEqual({ page: 'campaigns' });
    expect(routeOf('#/campaigns/cp-abc123')).toEqual({ page: 'campaign', id: 'cp-abc123' });
  });

  it('sends anything else to a not-found page, not the task list', () => {
    for (const h of [
      '#/setting',
      '#/new/x',
      '#/tasks/',
      '#/tasks/T-UPPER',
      '#/deadletters/x',
      '#/campaigns/t-abc123',
    ])
      expect(routeOf(h)).toEqual({ page: 'not-found', hash: h });
  });
});
