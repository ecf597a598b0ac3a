// `codemesh campaign ...` against the gateway app (in process): start, status, pause, cancel, the refusals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV, startTestGateway, type TestGateway } from '../gateway/test-setup.ts';
import { cmdCampaign } from './campaign.ts';
import { UsageError } from './errors.ts';

let g: TestGateway;
beforeAll(async () => {
  g = await startTestGateway();
});
afterAll(async () => g?.stop());

async function cli(
  args: string[],
  token = DEV,
  fetchImpl?: (u: string, i: RequestInit) => Promise<Response>,
) {
  let out = '';
  let err = '';
  const code = await cmdCampaign(args, {
    env: { CODEMESH_URL: 'http://gateway.test/', CODEMESH_TOKEN: token, CODEMESH_HOME: g.stateDir },
    fetch: fetchImpl ?? (async (url, init) => g.app.request(url, init)),
    out: { write: (t: string) => (out += t) },
    err: { write: (t: string) => (err += t) },
  });
  return { code, out, err };
}

describe('codemesh campaign', () => {
  it('starts, shows, pauses and cancels a campaign; refuses what the API refuses', async () => {
    const started = await cli([
      'start',
      '--title',
      'Bump',
      '--description',
      'Bump the calculator.',
      '--repos',
      'ts-calc',
      '--max-concurrent',
      '1',
      '--window-start',
      '8',
      '--window-end',
      '18',
      '--json',
    ]);
    expect(started.err).toBe('');
    expect(started.code).toBe(0);
    const c = JSON.parse(started.out) as { id: string; status: string; repos: Array<{ name: string }> };
    expect(c.status).toBe('planning');
    expect(c.repos.map((r) => r.name)).toEqual(['ts-calc']);

    const status = await cli(['status', c.id]);
    expect(status.code).toBe(0);
    expect(status.out).toMatch(
      new RegExp(`^campaign ${c.id} "Bump": planning — pending 1\\n  ts-calc +pending`),
    );

    expect((await cli(['pause', c.id])).out).toMatch(/: paused/);
    expect((await cli(['cancel', c.id])).out).toMatch(/: cancelled \(cancelled by /);
    const resumed = await cli(['resume', c.id]);
    expect(resumed.code).toBe(1);
    expect(resumed.err).toMatch(/409 CAMPAIGN_CANCELLED/);

    // bob (admin of org-b only) cannot see org-a's campaign: it answers as a missing one.
    const bob = await cli(['status', c.id], await g.jwt('bob'));
    expect(bob.code).toBe(1);
    expect(bob.err).toMatch(/404 CAMPAIGN_NOT_FOUND/);
    // One org per campaign.
    const mixed = await cli(['start', '--title', 'x', '--description', 'y', '--repos', 'ts-calc,py-calc']);
    expect(mixed.code).toBe(1);
    expect(mixed.err).toMatch(/400 INVALID_REQUEST: repos: a campaign runs in one org/);
    const unknown = await cli(['status', 'cp-doesnotexist1']);
    expect(unknown.err).toMatch(/404 CAMPAIGN_NOT_FOUND/);
  });

  it('starts by query, lists, and refuses to retry a repository that has not failed', async () => {
    const started = await cli([
      'start',
      '--title',
      'Query',
      '--description',
      'Bump.',
      '--repos-query',
      'lang:node name:ts-*',
      '--json',
    ]);
    expect(started.err).toBe('');
    const c = JSON.parse(started.out) as { id: string; repos: Array<{ name: string }> };
    expect(c.repos.map((r) => r.name)).toEqual(['ts-calc']);
    const listed = await cli(['list']);
    expect(listed.code).toBe(0);
    expect(listed.out).toMatch(new RegExp(`^${c.id}  planning +0/1 ended  "Query"$`, 'm'));
    expect((await cli(['list', '--status', 'completed'])).out).not.toContain(c.id);
    const retry = await cli(['retry', c.id, 'ts-calc']);
    expect(retry.code).toBe(1);
    expect(retry.err).toMatch(/409 NOT_FAILED: ts-calc is pending/);
    await expect(
      cli(['start', '--title', 'x', '--description', 'y', '--repos', 'a', '--repos-query', 'b']),
    ).rejects.toThrow(UsageError);
    await expect(cli(['retry', c.id])).rejects.toThrow(UsageError);
  });

  it('bad flags are usage errors; an unreachable gateway is exit 3', async () => {
    await expect(cli(['start', '--title', 'x'])).rejects.toThrow(UsageError);
    await expect(
      cli(['start', '--title', 'x', '--description', 'y', '--repos', 'a', '--max-concurrent', 'two']),
    ).rejects.toThrow(/--max-concurrent takes a whole number/);
    await expect(
      cli(['start', '--title', 'x', '--description', 'y', '--repos', 'a', '--window-start', '3']),
    ).rejects.toThrow(/go together/);
    await expect(cli(['frobnicate'])).rejects.toThrow(UsageError);
    const down = await cli(['status', 'cp-abcdefgh'], DEV, async () => {
      throw new Error('connect ECONNREFUSED');
    });
    expect(down.code).toBe(3);
    expect(down.err).toMatch(/unreachable/);
  });
});
