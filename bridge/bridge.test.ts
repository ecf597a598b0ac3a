// The bridge's pure parts: Slack request signing, command parsing, which events are posted and how, settings.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TaskEvent } from '../schemas/index.ts';
import { parseCommand } from './commands.ts';
import { BridgeSettingsError, bridgeSettingsFromEnv } from './settings.ts';
import { matrixMessage, slackMessage } from './sinks.ts';
import { slackSignature, verifySlackRequest } from './slack-signature.ts';
import { DEFAULT_UPDATE_TYPES, updateFor } from './updates.ts';

describe('Slack request signatures (v0)', () => {
  // The worked example of Slack's "Verifying requests from Slack" page.
  const secret = '8f742231b10e8888abcd99yyyzzz85a5';
  const ts = '1531420618';
  const body =
    'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
  const sig = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';
  const at = Number(ts) * 1000 + 30_000;

  it('computes and accepts the documented signature', () => {
    expect(slackSignature(secret, ts, body)).toBe(sig);
    expect(verifySlackRequest(secret, { signature: sig, timestamp: ts }, body, at)).toEqual({ ok: true });
  });

  it('refuses another secret, a changed body, a missing or malformed header', () => {
    expect(verifySlackRequest('other', { signature: sig, timestamp: ts }, body, at).ok).toBe(false);
    expect(verifySlackRequest(secret, { signature: sig, timestamp: ts }, `${body}x`, at).ok).toBe(false);
    expect(verifySlackRequest(secret, { timestamp: ts }, body, at).ok).toBe(false);
    expect(verifySlackRequest(secret, { signature: sig.toUpperCase(), timestamp: ts }, body, at).ok).toBe(
      false,
    );
    expect(verifySlackRequest(secret, { signature: sig, timestamp: 'soon' }, body, at).ok).toBe(false);
  });

  it('refuses a timestamp more than five minutes away, either way', () => {
    const r = verifySlackRequest(
      secret,
      { signature: sig, timestamp: ts },
      body,
      Number(ts) * 1000 + 301_000,
    );
    expect(r).toEqual({ ok: false, reason: 'the request timestamp is more than five minutes from now' });
    expect(
      verifySlackRequest(secret, { signature: sig, timestamp: ts }, body, Number(ts) * 1000 - 301_000).ok,
    ).toBe(false);
    expect(
      verifySlackRequest(secret, { signature: sig, timestamp: ts }, body, Number(ts) * 1000 + 299_000).ok,
    ).toBe(true);
  });
});

describe('parseCommand', () => {
  it.each([
    ['status t-abc123', { verb: 'status', task: 't-abc123' }],
    ['  approve   t-abc123 ', { verb: 'approve', target: 't-abc123' }],
    ['approve t-abc123-p2', { verb: 'approve', target: 't-abc123-p2' }],
    ['reject t-abc123 also reject NaN', { verb: 'reject', target: 't-abc123', comment: 'also reject NaN' }],
    [
      'request-changes t-abc123-p1 more tests',
      { verb: 'reject', target: 't-abc123-p1', comment: 'more tests' },
    ],
    ['rollback t-abc123 broke prod', { verb: 'rollback', target: 't-abc123', reason: 'broke prod' }],
    [
      'run https://github.com/acme/calc/issues/5',
      { verb: 'run', issueUrl: 'https://github.com/acme/calc/issues/5' },
    ],
    ['', { verb: 'help' }],
  ])('%j', (text, want) => {
    expect(parseCommand(text)).toEqual(want);
  });

  it.each([
    ['approve', /^usage: approve/],
    ['approve ../admin', /^usage: approve/],
    ['status t-ABC', /^usage: status/],
    ['reject t-abc123', /^usage: reject/],
    ['run ftp://x', /^usage: run/],
    ['merge t-abc123', /^unknown command "merge"/],
  ])('%j is refused with a usage line', (text, want) => {
    expect(parseCommand(text)).toMatch(want);
  });
});

describe('updates', () => {
  const ev = (type: TaskEvent['type'], data: Record<string, unknown> = {}): TaskEvent => ({
    id: `t-abc123:${type}`,
    taskId: 't-abc123',
    type,
    at: '2026-12-02T00:00:00.000Z',
    data,
  });
  const ctx = { linkUrl: 'https://cm.example', title: 'Fix <b>subtract</b> & co' };

  it('posts the events of the table only, and only those configured', () => {
    expect(updateFor(ev('step.completed'), ctx)).toBeUndefined();
    expect(updateFor(ev('task.failed', { reason: 'tests fail' }), ctx, ['task.completed'])).toBeUndefined();
    expect(DEFAULT_UPDATE_TYPES).toEqual(
      expect.arrayContaining([
        'task.created',
        'approval.requested',
        'task.completed',
        'task.failed',
        'task.abstained',
        'task.rolled_back',
      ]),
    );
    expect(updateFor(ev('task.failed', { reason: 'tests fail' }), ctx)).toMatchObject({
      id: 't-abc123:task.failed',
      text: '❌ task t-abc123 "Fix <b>subtract</b> & co" failed: tests fail',
      link: { url: 'https://cm.example/console/#/tasks/t-abc123' },
    });
  });

  it('escapes user text in Slack mrkdwn and Matrix HTML; the approval update says how to answer', () => {
    const u = updateFor(ev('approval.requested', { patchId: 't-abc123-p1' }), ctx)!;
    expect(u.text).toContain('awaits approval of patch t-abc123-p1 — reply `approve t-abc123`');
    const s = slackMessage(u);
    expect(s.text).toContain('"Fix &lt;b&gt;subtract&lt;/b&gt; &amp; co"');
    expect(JSON.stringify(s.blocks)).toContain(
      '<https://cm.example/console/#/tasks/t-abc123|review the patch>',
    );
    const m = matrixMessage(u.text, u.link);
    expect(m.formatted_body).toContain('Fix &lt;b&gt;subtract&lt;/b&gt; &amp; co');
    expect(m.formatted_body).toContain(
      '<a href="https://cm.example/console/#/tasks/t-abc123">review the patch</a>',
    );
  });
});

describe('bridgeSettingsFromEnv', () => {
  const base = { CODEMESH_SLACK_WEBHOOK_URL: 'https://hooks.slack.test/services/T/B/sEcReTpart' };

  it('names the missing setting, never a value', () => {
    expect(() => bridgeSettingsFromEnv('slack', base)).toThrow('CODEMESH_SLACK_SIGNING_SECRET is not set');
    expect(() => bridgeSettingsFromEnv('irc', base)).toThrow(BridgeSettingsError);
    const bad = () =>
      bridgeSettingsFromEnv('slack', {
        CODEMESH_SLACK_WEBHOOK_URL: 'sEcReT',
        CODEMESH_SLACK_SIGNING_SECRET: 'x',
      });
    expect(bad).toThrow('CODEMESH_SLACK_WEBHOOK_URL is not an http(s) URL');
    try {
      bad();
    } catch (err) {
      expect((err as Error).message).not.toContain('sEcReT');
    }
  });

  it('reads the user map; a bad entry names the field, not the token', () => {
    const dir = mkdtempSync(join(tmpdir(), 'codemesh-bridge-'));
    const file = join(dir, 'users.json');
    writeFileSync(
      file,
      JSON.stringify({ users: { 'slack:U1': { user: 'alice', token: 'cmp_secret', role: 'x' } } }),
    );
    const env = { ...base, CODEMESH_SLACK_SIGNING_SECRET: 's', CODEMESH_BRIDGE_USERS: file };
    expect(() => bridgeSettingsFromEnv('slack', env)).toThrow(/users\.slack:U1/);
    writeFileSync(file, JSON.stringify({ users: { 'slack:U1': { user: 'alice', token: 'cmp_secret' } } }));
    const s = bridgeSettingsFromEnv('slack', {
      ...env,
      CODEMESH_BRIDGE_EVENTS: 'task.completed, task.failed',
    });
    expect(s.users['slack:U1']?.user).toBe('alice');
    expect(s.events).toEqual(['task.completed', 'task.failed']);
    // Commands go to the gateway over NATS unless an HTTP URL is set.
    expect(s.gatewayUrl).toBeUndefined();
    expect(s.linkUrl).toBe('http://127.0.0.1:8787');
    expect(
      bridgeSettingsFromEnv('slack', { ...env, CODEMESH_BRIDGE_GATEWAY_URL: 'http://gw:1' }).gatewayUrl,
    ).toBe('http://gw:1');
  });

  it('CODEMESH_BRIDGE_ORGS: a comma list of org ids; anything else is refused', () => {
    const env = { CODEMESH_BRIDGE_WEBHOOK_URL: 'https://hooks.test/x' };
    expect(bridgeSettingsFromEnv('webhook', env).orgs).toBeUndefined();
    expect(
      bridgeSettingsFromEnv('webhook', { ...env, CODEMESH_BRIDGE_ORGS: ' org-a, org-b ,' }).orgs,
    ).toEqual(['org-a', 'org-b']);
    expect(() => bridgeSettingsFromEnv('webhook', { ...env, CODEMESH_BRIDGE_ORGS: 'Org A' })).toThrow(
      /CODEMESH_BRIDGE_ORGS/,
    );
  });
});
