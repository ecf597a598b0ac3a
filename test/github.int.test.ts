// GitHub end to end on the whole mesh, against the loopback GitHub double and a bare repository over file://:
// issue URL → task → draft pull request at the gate (pushed, every body section) → approve → integrated commit
// pushed and the pull request marked ready (GraphQL) → rollback → revert pull request linking the original.
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createGitHub, gitHubSettingsFromEnv, PR_SECTIONS } from '../actors/integrator/github/index.ts';
import { git, makeFixtureRepo } from './fixture-repo.ts';
import { type GitHubDouble, startGitHubDouble } from './github-double.ts';
import { type Harness, startHarness } from './harness.ts';
import type { Script } from './scripted-llm/index.ts';
import { subtractCoder, USAGE } from './ts-calc-answers.ts';

const GH_TOKEN = 'ghp_e2eSecretToken0123456789abcdefXYZ';
const HOOK_SECRET = 'webhook-secret-0123456789';
const REVISE = 'Please also reject NaN in subtract.';
const ASKED = 'Please also document subtract in the README.';
const PLAN = {
  summary: 'Fix subtract in the calculator',
  subtasks: [
    {
      id: 'fix',
      title: 'Make subtract return a - b',
      successCriteria: ['subtract(5, 3) == 2'],
      files: ['src/calc.ts'],
    },
  ],
  risks: ['callers may rely on the old sum'],
};
const REVIEW = {
  usage: USAGE,
  content: JSON.stringify({
    decision: 'approve',
    confidence: 0.87,
    critique: 'Correct fix of the sign.',
    risks: [{ level: 'medium', note: 'subtract is exported and used by other modules' }],
  }),
};
const script: Script = (req) => {
  if (req.roleHint === 'planner') return { usage: USAGE, content: JSON.stringify(PLAN) };
  if (req.roleHint === 'reviewer') return REVIEW;
  return subtractCoder(req);
};

let gh: GitHubDouble;
let h: Harness;
let repo: string;
let bare: string;
let repoId: string;
const remoteRef = (ref: string) =>
  execFileSync('git', ['rev-parse', '--verify', '-q', ref], { cwd: bare, encoding: 'utf8' }).trim();

beforeAll(async () => {
  gh = await startGitHubDouble();
  const root = mkdtempSync(join(tmpdir(), 'codemesh-gh-'));
  repo = makeFixtureRepo('ts-calc', root);
  bare = join(root, 'calc.git');
  git(root, 'init', '-q', '--bare', bare);
  // Fetch URL on GitHub (how codemesh knows the repository), pushes to the bare repository over file://.
  git(repo, 'remote', 'add', 'origin', `${gh.url}/acme/calc.git`);
  git(repo, 'remote', 'set-url', '--push', 'origin', `file://${bare}`);
  git(repo, 'push', '-q', `file://${bare}`, 'main');
  gh.setIssue('acme', 'calc', 5, {
    title: 'subtract adds instead of subtracting',
    body: 'subtract(5, 3) returns 8, expected 2.',
    comments: [{ user: 'dana', body: 'Seen in the invoice totals too.' }],
  });
  const env = {
    CODEMESH_GITHUB_API_URL: gh.url,
    CODEMESH_GITHUB_TOKEN: GH_TOKEN,
    CODEMESH_GITHUB_REPOS: `acme/calc=${repo}`,
    CODEMESH_GITHUB_WEBHOOK_SECRET: HOOK_SECRET,
  };
  h = await startHarness({ env, github: createGitHub(gitHubSettingsFromEnv(env)) });
  h.setScript(script);
}, 120_000);
afterAll(async () => {
  await h?.stop();
  await gh?.close();
});

async function until<T>(
  what: string,
  f: () => T | undefined | Promise<T | undefined>,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

it('issue → draft pull request at the gate → approve → ready; rollback → revert pull request', {
  timeout: 300_000,
}, async () => {
  const issueUrl = `${gh.url}/acme/calc/issues/5`;
  const created = await h.api('/v1/tasks', {
    method: 'POST',
    body: JSON.stringify({
      issue_url: issueUrl,
      config: { push: true, github: { labels: ['codemesh', 'bug'], reviewers: ['carol'] } },
    }),
  });
  expect(created.status).toBe(201);
  const { task } = (await created.json()) as {
    task: { id: string; repo: string; repoId: string; issueUrl: string };
  };
  repoId = task.repoId;
  expect(task.repo).toBe(repo);
  expect(task.issueUrl).toBe(issueUrl);
  const id = task.id;
  const branch = `codemesh/${id}`;

  await h.waitForStatus(id, 'awaiting_approval', 180_000);
  // Labels and reviewers are separate calls after the pull request is opened: wait for the last of them.
  const pr = await until('the draft pull request, labelled, with its reviewer', () =>
    gh.pulls.find((p) => p.head === branch && p.requested_reviewers.length > 0),
  );
  expect(pr).toMatchObject({ draft: true, base: 'main', owner: 'acme', repo: 'calc' });
  expect(pr.title).toBe('codemesh: subtract adds instead of subtracting');
  for (const s of PR_SECTIONS) expect(pr.body).toContain(s);
  expect(pr.body).toContain(`Fixes ${issueUrl}`);
  expect(pr.body).toContain('`src/calc.ts`: Make subtract return a - b');
  expect(pr.body).toMatch(/\*\*Fail → pass\*\*\n- \S/);
  expect(pr.body).toContain('**Regressions**\n_none_');
  expect(pr.body).toContain('**medium**: subtract is exported and used by other modules');
  expect(pr.body).toContain('plan: callers may rely on the old sum');
  // The calibrated figure first, labelled, then the Reviewer model's own (computed by the Reviewer step).
  expect(pr.body).toMatch(
    /Reviewer: approve, calibrated confidence 0\.\d\d \(model default-synthetic-1; the Reviewer's own confidence 0\.87\)/,
  );
  expect(pr.body).toMatch(/\$\d+\.\d{4} over \d+ model calls/);
  expect(pr.labels).toEqual(['codemesh', 'bug']);
  expect(pr.requested_reviewers).toEqual(['carol']);
  // The proposed commit is on the remote (not on the local branch: nothing is integrated before approval).
  const draftHead = remoteRef(`refs/heads/${branch}`);
  expect(execFileSync('git', ['show', draftHead], { cwd: bare, encoding: 'utf8' })).toContain(
    '+  return a - b;',
  );
  expect(git(repo, 'branch', '--list', branch)).toBe('');
  expect(gh.requests.every((r) => r.authorization === `token ${GH_TOKEN}`)).toBe(true);

  const approved = await h.api(`/v1/patches/${id}-p1/approve`, {
    method: 'POST',
    body: JSON.stringify({ decision: 'approve' }),
  });
  expect(approved.status).toBe(202);
  await h.waitForStatus(id, 'completed', 120_000);
  await until('the pull request marked ready', () => !pr.draft || undefined);
  const integrated = git(repo, 'rev-parse', branch);
  expect(remoteRef(`refs/heads/${branch}`)).toBe(integrated);
  expect(gh.requests.some((r) => r.path === '/graphql' && JSON.stringify(r.body).includes(pr.node_id))).toBe(
    true,
  );
  expect(pr.body).toContain('Approved and integrated by codemesh');
  expect(gh.pulls.filter((p) => p.head === branch)).toHaveLength(1);
  const got = (await (await h.api(`/v1/tasks/${id}`)).json()) as {
    issueUrl: string;
    pullRequest: { number: number; state: string };
  };
  expect(got.issueUrl).toBe(issueUrl);
  expect(got.pullRequest).toMatchObject({ number: pr.number, state: 'ready' });

  const rb = await h.api(`/v1/patches/${id}-p1/rollback`, {
    method: 'POST',
    body: JSON.stringify({ reason: 'breaks invoices' }),
  });
  expect(rb.status).toBe(202);
  await h.waitForStatus(id, 'rolled_back', 120_000);
  const revert = await until('the revert pull request', () =>
    gh.pulls.find((p) => p.head === `${branch}-rollback`),
  );
  expect(revert.draft).toBe(false);
  expect(revert.body).toContain(`Reverts #${pr.number} (${gh.url}/acme/calc/pull/${pr.number})`);
  expect(remoteRef(`refs/heads/${branch}-rollback`)).toBe(git(repo, 'rev-parse', `${branch}-rollback`));

  // The token is in no event of the task.
  const events = await until('pr.revert_opened', async () => {
    const all = await h.client.bus.history(id);
    return all.some((e) => e.event.type === 'pr.revert_opened') ? all : undefined;
  });
  expect(JSON.stringify(events)).not.toContain(GH_TOKEN);
  expect(events.map((e) => e.event.type)).toEqual(
    expect.arrayContaining(['pr.opened', 'pr.ready', 'pr.revert_opened']),
  );
});

function hook(event: string, delivery: string, payload: unknown, secret = HOOK_SECRET) {
  const body = JSON.stringify(payload);
  const sig = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  return fetch(`${h.url}/v1/webhooks/github`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': delivery,
      'x-hub-signature-256': sig,
    },
    body,
  });
}

it('webhooks: bad signature → 401 and nothing; labelled issue → one task however often delivered; changes requested on its PR → attempt 2, once; a comment addressed to codemesh → attempt 3, once; merged → noted', {
  timeout: 300_000,
}, async () => {
  expect(repoId).toBeDefined();
  // Tasks that webhooks start take the registered repository's settings.
  const cfg = await h.api(`/v1/repos/${repoId}/config`, {
    method: 'PUT',
    body: JSON.stringify({ push: true, github: { labels: ['codemesh'] } }),
  });
  expect(cfg.status).toBe(200);
  gh.setIssue('acme', 'calc', 6, {
    title: 'subtract is still wrong on the web form',
    body: 'subtract(9, 4) shows 13.',
    comments: [],
  });
  const labelled = {
    action: 'labeled',
    label: { name: 'codemesh' },
    issue: { number: 6, html_url: `${gh.url}/acme/calc/issues/6` },
    repository: { full_name: 'acme/calc' },
    sender: { login: 'erin' },
  };
  const tasksBefore = (await h.client.board.keys('task.>')).length;

  const forged = await hook('issues', 'd-forged', labelled, 'wrong-secret');
  expect(forged.status).toBe(401);
  const unsigned = await fetch(`${h.url}/v1/webhooks/github`, {
    method: 'POST',
    headers: { 'x-github-event': 'issues', 'x-github-delivery': 'd-unsigned' },
    body: JSON.stringify(labelled),
  });
  expect(unsigned.status).toBe(401);
  await new Promise((r) => setTimeout(r, 300));
  expect((await h.client.board.keys('task.>')).length).toBe(tasksBefore);
  expect(await h.client.board.keys('ghdelivery.>')).toEqual([]);

  const first = await hook('issues', 'd-label-1', labelled);
  expect(first.status, await first.clone().text()).toBe(202);
  const effect = ((await first.json()) as { effect: string }).effect;
  const id = /^task (t-[a-z0-9]+)$/.exec(effect)?.[1];
  expect(id, effect).toBeDefined();
  const again = await hook('issues', 'd-label-1', labelled);
  expect(again.status).toBe(200);
  expect(await again.json()).toMatchObject({ duplicate: true, effect });
  expect((await h.client.board.keys('task.>')).length).toBe(tasksBefore + 1);

  const branch = `codemesh/${id}`;
  await h.waitForStatus(id!, 'awaiting_approval', 180_000);
  const pr = await until('the draft pull request, labelled', () =>
    gh.pulls.find((p) => p.head === branch && p.labels.length > 0),
  );
  expect(pr).toMatchObject({ draft: true, labels: ['codemesh'] });
  await until('the pull request on the task', async () => {
    const b = (await (await h.api(`/v1/tasks/${id}`)).json()) as { pullRequest: { number: number } | null };
    return b.pullRequest?.number === pr.number || undefined;
  });
  expect(pr.body).toContain(`Fixes ${gh.url}/acme/calc/issues/6`);

  const review = {
    action: 'submitted',
    review: { state: 'changes_requested', body: REVISE, author_association: 'MEMBER' },
    pull_request: { number: pr.number, head: { ref: branch } },
    repository: { full_name: 'acme/calc' },
    sender: { login: 'carol' },
  };
  const r1 = await hook('pull_request_review', 'd-review-1', review);
  expect(r1.status).toBe(202);
  expect(((await r1.json()) as { effect: string }).effect).toBe(`changes requested on ${id}-p1`);
  const r2 = await hook('pull_request_review', 'd-review-1', review);
  expect(r2.status).toBe(200);
  // Attempt 2 runs with the reviewer's words in the Coder's prompt; the task comes back to the gate.
  const back = await until(
    'attempt 2 at the gate',
    async () => {
      const b = (await (await h.api(`/v1/tasks/${id}`)).json()) as {
        task: { status: string; attempt: number; reason?: string };
      };
      if (['failed', 'completed'].includes(b.task.status)) throw new Error(JSON.stringify(b.task));
      return b.task.attempt === 2 && b.task.status === 'awaiting_approval' ? b : undefined;
    },
    180_000,
  );
  expect(back.task.attempt).toBe(2);
  expect(h.llm.calls.some((c) => c.roleHint === 'coder' && JSON.stringify(c.body).includes(REVISE))).toBe(
    true,
  );
  const events = (await h.client.bus.history(id!)).map((e) => e.event);
  expect(events.filter((e) => e.type === 'approval.changes_requested')).toHaveLength(1);
  expect(events.find((e) => e.type === 'approval.changes_requested')?.data).toMatchObject({
    by: 'github:carol',
  });

  // A comment addressed to codemesh on the pull request's conversation (the payload names no branch: the task is
  // the body's Codemesh-Task trailer, checked against the recorded number) → attempt 3, once; a bot's comment,
  // an edit and a comment not addressed to codemesh change nothing.
  const conversation = (body: string, user = { login: 'dana', type: 'User' }, action = 'created') => ({
    action,
    issue: {
      number: pr.number,
      html_url: `${gh.url}/acme/calc/pull/${pr.number}`,
      pull_request: {},
      body: pr.body,
    },
    comment: { body, user, author_association: 'COLLABORATOR' },
    repository: { full_name: 'acme/calc' },
    sender: { login: user.login },
  });
  const ignored = [
    ['d-c-bot', conversation(`@codemesh ${ASKED}`, { login: 'codemesh[bot]', type: 'Bot' })],
    ['d-c-edit', conversation(`@codemesh ${ASKED}`, undefined, 'edited')],
    ['d-c-other', conversation(ASKED)],
  ] as const;
  for (const [delivery, payload] of ignored) {
    const res = await hook('issue_comment', delivery, payload);
    expect(res.status).toBe(202);
    expect(((await res.json()) as { effect: string }).effect).toMatch(/^ignored: /);
  }
  const c1 = await hook('issue_comment', 'd-comment-1', conversation(`@codemesh ${ASKED}`));
  expect(c1.status).toBe(202);
  expect(((await c1.json()) as { effect: string }).effect).toMatch(
    new RegExp(`^changes requested on ${id}-p\\d+$`),
  );
  const c2 = await hook('issue_comment', 'd-comment-1', conversation(`@codemesh ${ASKED}`));
  expect(c2.status).toBe(200);
  expect(await c2.json()).toMatchObject({ duplicate: true });
  await until(
    'attempt 3 at the gate',
    async () => {
      const b = (await (await h.api(`/v1/tasks/${id}`)).json()) as {
        task: { status: string; attempt: number };
      };
      if (['failed', 'completed'].includes(b.task.status)) throw new Error(JSON.stringify(b.task));
      return b.task.attempt === 3 && b.task.status === 'awaiting_approval' ? b : undefined;
    },
    180_000,
  );
  expect(h.llm.calls.some((c) => c.roleHint === 'coder' && JSON.stringify(c.body).includes(ASKED))).toBe(
    true,
  );
  const requested = (await h.client.bus.history(id!))
    .map((e) => e.event)
    .filter((e) => e.type === 'approval.changes_requested');
  expect(requested).toHaveLength(2);
  expect(requested[1]?.data).toMatchObject({ by: 'github:dana' });

  const merged = await hook('pull_request', 'd-closed-1', {
    action: 'closed',
    pull_request: { number: pr.number, merged: true, head: { ref: branch } },
    repository: { full_name: 'acme/calc' },
    sender: { login: 'carol' },
  });
  expect(merged.status).toBe(202);
  const got = (await (await h.api(`/v1/tasks/${id}`)).json()) as { pullRequest: { state: string } };
  expect(got.pullRequest.state).toBe('merged');
  const after = (await h.client.bus.history(id!)).map((e) => e.event);
  expect(after.find((e) => e.type === 'pr.state')?.data).toMatchObject({
    number: pr.number,
    state: 'merged',
  });
});
