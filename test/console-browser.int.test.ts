// The web console in a real browser (issue 13), against the whole mesh with the scripted model: create a task
// from the composer, watch the plan DAG and the timeline update live, read the retrieved context, open the
// side-by-side diff (highlighted, with why each file changed), tests by category, calibrated confidence, the Doc
// Writer's patch, comment on a line as the change request, approve with the keyboard, roll back, chat; a second
// task's patch blocked by the policy check, overridden with a reason; change a model setting, the org's quota,
// policy bundle, a repository and an access token; the blackboard read as entities (a lock's holder and time
// left, the raw JSON opened from the keyboard), the timeline in sentences, an approval the server refuses rolled
// back, the task's pull-request link. axe-core checks every view in light and dark: no serious or critical WCAG
// 2.1 A/AA violation.
// Screenshots go to test/artifacts/console/ (git-ignored; kept by CI).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  ARTIFACTS,
  type AxeViolation,
  browserSkipReason,
  launchChromium,
  seriousViolations,
} from './browser.ts';
import { hashKey, keys, PathLock, PullRequestRecord } from '../schemas/index.ts';
import {
  checkPolicyBlocked,
  checkReviewParts,
  commentOnLine,
  overridePolicy,
  policyScript,
  rationalePlacement,
  startPolicyTask,
} from './console-review-checks.ts';
import { makeFixtureRepo } from './fixture-repo.ts';
import { type Harness, startHarness, TOKEN } from './harness.ts';
import type { Script, ScriptRequest } from './scripted-llm/index.ts';
import { SUBTRACT_PLAN, subtractCoder, USAGE } from './ts-calc-answers.ts';

const skip = browserSkipReason();
if (skip) console.warn(`console browser test skipped: ${skip}`);

const ASK = 'Say in a comment that subtract returns a - b.';
const PLAN = {
  ...SUBTRACT_PLAN,
  subtasks: [
    ...SUBTRACT_PLAN.subtasks,
    { id: 'verify', title: 'Run the tests', role: 'tester', dependsOn: ['fix'], successCriteria: ['green'] },
  ],
};
const REVISION = `src/calc.ts
<<<<<<< SEARCH
  return a - b;
=======
  // subtract returns a - b
  return a - b;
>>>>>>> REPLACE
`;
/** Waits on the agents' work: generous, as the shared CI machine runs several meshes at once. */
const SLOW = 300_000;
const texts = (req: ScriptRequest) => (req.body.messages ?? []).map((m) => String(m.content ?? ''));

const script: Script = (req) => {
  // The second task (a blocked policy finding) has its own answers.
  const policy = policyScript(req);
  if (policy) return policy;
  if (req.roleHint === 'planner') return { usage: USAGE, content: JSON.stringify(PLAN) };
  if (req.roleHint === 'reviewer')
    return {
      usage: USAGE,
      content: JSON.stringify({
        decision: 'approve',
        confidence: 0.9,
        critique: 'Correct and tested.',
        risks: [{ level: 'low', note: 'one-line change' }],
      }),
    };
  if (req.roleHint === 'chat')
    return {
      usage: USAGE,
      content: JSON.stringify({ answer: 'The patch makes subtract return a - b.', change_request: null }),
    };
  // The revision (its prompt carries the human's comment) adds the comment on top of the first patch.
  if (texts(req).some((t) => t.includes(ASK))) return { usage: USAGE, content: REVISION };
  return subtractCoder(req);
};

let h: Harness;
let browser: Browser;
let consoleDir: string;
beforeAll(async () => {
  if (skip) return;
  browser = await launchChromium();
  // The console as its sources are now, served by the real gateway.
  consoleDir = mkdtempSync(join(tmpdir(), 'codemesh-console-'));
  const root = fileURLToPath(new URL('../console', import.meta.url));
  await build({
    root,
    configFile: join(root, 'vite.config.ts'),
    logLevel: 'silent',
    build: { outDir: consoleDir, emptyOutDir: true },
  });
  process.env.CODEMESH_CONSOLE_DIR = consoleDir;
  h = await startHarness();
  h.setScript(script);
}, 120_000);
afterAll(async () => {
  delete process.env.CODEMESH_CONSOLE_DIR;
  await browser?.close();
  await h?.stop();
  if (consoleDir) rmSync(consoleDir, { recursive: true, force: true });
});

/** Every view's serious/critical violations, by `<view> <scheme>`; empty at the end. */
const violations: Record<string, AxeViolation[]> = {};
const checked: string[] = [];

async function checkView(page: Page, view: string): Promise<void> {
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    // Two frames: the new colours are applied before axe reads them.
    await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
    const found = await seriousViolations(page);
    if (found.length) violations[`${view} ${scheme}`] = found;
    checked.push(`${view} ${scheme}`);
    await page.screenshot({ path: join(ARTIFACTS, `${view}-${scheme}.png`), fullPage: true });
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await h.api(path, init);
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  return (await res.json()) as T;
}

it.skipIf(skip)(
  'drives a task through the console, every view accessible in light and dark',
  {
    timeout: 900_000,
  },
  async () => {
    const started = Date.now();
    const repoPath = makeFixtureRepo('ts-calc');
    await api('/v1/repos', {
      method: 'POST',
      body: JSON.stringify({ org: 'default', path: repoPath, name: 'ts-calc' }),
    });

    const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    let taskId: string | undefined;
    try {
      // Sign in.
      await page.goto(`${h.url}/console/`);
      await page.getByLabel('API token').waitFor();
      await checkView(page, 'login');
      await page.getByLabel('API token').fill(TOKEN);
      await page.getByRole('button', { name: 'Open' }).click();
      await page.getByRole('heading', { level: 1, name: 'Tasks' }).waitFor();
      // Set once: still there at the end means the page was never reloaded (everything below is live).
      await page.evaluate('window.__noReload = true');
      await checkView(page, 'tasks-empty');
      // A second task, over the API, runs beside the first: its patch is blocked by the policy check.
      const policyId = await startPolicyTask(api, makeFixtureRepo('py-calc'));

      // `?` lists the shortcuts; Escape closes the list.
      await page.keyboard.press('?');
      const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
      await help.waitFor();
      for (const k of ['j / k', 'g t', 'n', 'a', '/'])
        await expect(help.getByText(k, { exact: true }).count()).resolves.toBe(1);
      await checkView(page, 'shortcuts');
      await page.keyboard.press('Escape');
      await help.waitFor({ state: 'detached' });

      // `n`: the composer. The repo picker lists the registered repository.
      await page.keyboard.press('n');
      await page.getByRole('heading', { level: 1, name: 'New task' }).waitFor();
      const picker = page.getByLabel('Repository');
      // (The policy task's repository is registered in org default too, once recorded.)
      await expect(picker.locator('option').allTextContents()).resolves.toEqual(
        expect.arrayContaining([expect.stringContaining(`ts-calc (default) — ${repoPath}`)]),
      );
      await picker.selectOption(repoPath);
      await page.getByLabel('Title', { exact: true }).fill('Fix subtract');
      await page.getByLabel('Description', { exact: true }).fill('subtract(5, 3) returns 8, expected 2.');
      await page.getByLabel('Budget (USD)').fill('2');
      await page.getByLabel(/Update the documentation/).check();
      await checkView(page, 'composer');
      // The check can fail: the old dark-theme primary button (white on light blue, 2.5:1) is flagged.
      await page.emulateMedia({ colorScheme: 'dark' });
      const oldStyle = await page.addStyleTag({ content: 'button.primary { color: #fff; }' });
      const flagged = await seriousViolations(page);
      // The composer's one primary button, "Create task".
      expect(flagged.find((v) => v.id === 'color-contrast')?.nodes.map((n) => n.target.join(' '))).toEqual([
        '.primary',
      ]);
      await oldStyle.evaluate((el: { remove(): void }) => el.remove());
      await page.emulateMedia({ colorScheme: 'light' });
      await page.getByRole('button', { name: 'Create task' }).click();

      // The task's page: the plan DAG and the timeline fill in as the agents work.
      await page.waitForURL(/#\/tasks\/t-[a-z0-9]+$/);
      const id = /#\/tasks\/(t-[a-z0-9]+)$/.exec(page.url())![1]!;
      taskId = id;
      const created = await api<{ task: { request: { budget: { maxCostUsd: number }; approve: string } } }>(
        `/v1/tasks/${id}`,
      );
      expect(created.task.request.budget.maxCostUsd).toBe(2);
      expect(created.task.request.approve).toBe('manual');
      await page.getByRole('heading', { level: 1, name: 'Fix subtract' }).waitFor();
      const timeline = page.locator('.timeline li');
      await page.locator('.dag-node').first().waitFor({ timeout: SLOW });
      expect(await page.locator('.dag-node').count()).toBe(2);
      const eventsAtPlan = await timeline.count();
      const gate1 = page.getByRole('heading', { name: `Waiting for your decision on ${id}-p1` });
      await gate1.waitFor({ timeout: SLOW });
      await expect.poll(() => timeline.count()).toBeGreaterThan(eventsAtPlan);
      await expect(page.locator('.timeline li .ev-type').allTextContents()).resolves.toEqual(
        expect.arrayContaining(['task.created', 'plan.ready', 'patch.proposed']),
      );
      // The timeline in sentences, each with its clock time and the time since the task started.
      await expect(page.locator('.timeline .ev-text').allTextContents()).resolves.toEqual(
        expect.arrayContaining([
          'Task created: Fix subtract',
          `Patch proposed ${id}-p1`,
          `Waiting for your decision on ${id}-p1`,
        ]),
      );
      expect(await page.locator('.timeline .ev-time').first().textContent()).toMatch(
        /^\d\d:\d\d:\d\d \+0:00$/,
      );
      expect(await page.locator('.timeline .ev-type', { hasText: 'cost.recorded' }).count()).toBe(0);

      // The blackboard as entities: the task by its title and state; the plan's award with its holder.
      const board = page.getByRole('complementary', { name: 'blackboard' });
      const taskEntity = board.locator(`li[data-key="task.${id}"]`);
      await expect.poll(() => taskEntity.textContent()).toMatch(/Fix subtract\s*awaiting approval/);
      expect(await board.locator(`li[data-key="award.${id}-plan-1"]`).textContent()).toMatch(
        new RegExp(`plan #1 of ${id}\\s*done.*held by \\S+`),
      );
      // A lock another task holds (written as the Coder does): its path, holder and lease time left.
      await h.client.board.create(keys.lock(hashKey(repoPath), hashKey('docs/guide.md')), PathLock, {
        repoKey: hashKey(repoPath),
        path: 'docs/guide.md',
        holder: 't-other0',
        leaseUntil: Date.now() + 90_000,
        lastCommit: null,
        lastTask: null,
      });
      await board.getByLabel('this task').uncheck();
      const lock = board.locator('li.entity', { hasText: 'docs/guide.md' });
      await expect
        .poll(() => lock.textContent())
        .toMatch(/docs\/guide\.md\s*held\s*held by t-other0\s*[1-9]\d? s left/);
      // The raw JSON behind a toggle, reached from the keyboard: `j` moves through the entries, Enter opens one.
      await page.getByRole('heading', { level: 1 }).click();
      await board.getByLabel('filter the blackboard').fill(`task.${id}`);
      await expect.poll(() => board.locator('li.entity').count()).toBe(1);
      await page.getByRole('heading', { level: 1 }).click();
      await page.keyboard.press('j');
      await expect(page.evaluate("document.activeElement?.classList.contains('raw-toggle')")).resolves.toBe(
        true,
      );
      await page.keyboard.press('Enter');
      const raw = board.getByRole('region', { name: `value of task.${id}` });
      await raw.waitFor();
      expect(JSON.parse((await raw.locator('pre').textContent()) ?? '')).toMatchObject({
        id,
        status: 'awaiting_approval',
      });
      await checkView(page, 'board-raw');
      await page.keyboard.press('Enter');
      await raw.waitFor({ state: 'detached' });
      await board.getByLabel('filter the blackboard').fill('');
      await board.getByLabel('this task').check();

      // The task's pull request, once the GitHub publisher has recorded one.
      await h.client.board.create(keys.pr(id), PullRequestRecord, {
        taskId: id,
        owner: 'acme',
        repo: 'calc',
        number: 7,
        nodeId: 'PR_1',
        url: 'https://github.example/acme/calc/pull/7',
        state: 'draft',
        bodyFor: 'gate-1',
        updatedAt: new Date().toISOString(),
      });
      const prLink = page.getByRole('link', { name: 'pull request acme/calc#7' });
      await prLink.waitFor();
      expect(await prLink.getAttribute('href')).toBe('https://github.example/acme/calc/pull/7');
      expect(await page.locator('.pr-line').textContent()).toMatch(/acme\/calc#7 \(draft\)/);

      // Summary first: status, what changed, tests, risk, confidence, cost.
      const summary = page.getByLabel('summary');
      await expect.poll(() => summary.textContent()).toMatch(/awaiting approval/);
      const facts = (await summary.textContent()) ?? '';
      expect(facts).toMatch(/1 file\s*\+1\s*−1/);
      expect(facts).toMatch(/\d+ passed, 0 failed/);
      expect(facts).toMatch(/risk\s*low/);
      expect(facts).toMatch(/confidence\s*\d+% calibrated · model 90%/);
      expect(facts).toMatch(/cost\s*\$0\.\d{4}/);

      // The retrieved context, with sources: path:lines, score, why.
      const ctx = page.getByRole('region', { name: 'Retrieved context' });
      await ctx.locator('.snippets li').first().waitFor();
      const snippet = (await ctx.locator('.snippets li').first().textContent()) ?? '';
      expect(snippet).toMatch(/src\/calc\.ts:\d+–\d+/);
      expect(snippet).toMatch(/score \d\.\d\d/);
      expect((await ctx.locator('.why').first().textContent())?.trim().length).toBeGreaterThan(0);
      // The experience memories the agents were shown (none: this repository has no earlier task here).
      const mem = page.getByRole('region', { name: 'Memories used' });
      await expect(mem.textContent()).resolves.toMatch(/No earlier task of this repository was recalled/);

      // The side-by-side diff: line numbers on both sides, no git headers.
      const diff = page.getByRole('region', { name: 'diff of src/calc.ts' }).first();
      await diff.waitFor();
      const changed = diff.locator('tr', { has: page.locator('td.code.sb-del') });
      await expect(changed.locator('td').allTextContents()).resolves.toEqual([
        expect.stringMatching(/^\d+$/),
        '− ' + '  return a + b;',
        expect.stringMatching(/^\d+$/),
        '+ ' + '  return a - b;',
      ]);
      const main = (await page.locator('main').textContent()) ?? '';
      expect(main).not.toMatch(/diff --git|^index [0-9a-f]/m);
      // Highlighting, why the file changed, tests by category, calibrated confidence, policy, docs.
      await checkReviewParts(page, api, id);
      await expect(rationalePlacement(page)).resolves.toBe('above');
      await checkView(page, 'task-at-gate');
      await page.setViewportSize({ width: 1600, height: 900 });
      await expect(rationalePlacement(page)).resolves.toBe('beside');
      await checkView(page, 'task-at-gate-wide');
      await page.setViewportSize({ width: 1280, height: 900 });

      // A change request needs a comment: the gate box says so and sends nothing.
      await page.getByRole('button', { name: 'Request changes', exact: true }).first().click();
      await page
        .getByRole('alert')
        .getByText(/Say what should change/)
        .waitFor();
      // Comment on the changed line instead: it becomes the change request (`file:line: text`), and the
      // revision comes back to the gate as p2.
      const sent = await commentOnLine(page, ASK, id);
      await checkView(page, 'inline-comment');
      await page.getByRole('button', { name: 'Request changes with this comment' }).click();
      const gate2 = page.getByRole('heading', { name: `Waiting for your decision on ${id}-p2` });
      await gate2.waitFor({ timeout: SLOW });
      const p1 = await api<{ approval: { decision: string; comment: string } }>(`/v1/patches/${id}-p1`);
      expect(p1.approval).toMatchObject({ decision: 'request_changes', comment: sent });
      await expect(
        page.locator('td.code.sb-add', { hasText: '// subtract returns a - b' }).count(),
      ).resolves.toBe(1);

      // Optimistic: an approval shows at once as pending; refused by the server, it rolls back with the reason.
      let release: () => void = () => {};
      const held = new Promise<void>((r) => {
        release = r;
      });
      await page.route('**/v1/patches/*/approve', async (route) => {
        await held;
        await route.fulfill({
          status: 409,
          contentType: 'application/json',
          body: JSON.stringify({
            error: { code: 'NOT_AWAITING_APPROVAL', message: 'refused by the test double' },
          }),
        });
      });
      await page.getByRole('heading', { level: 1 }).click();
      await page.keyboard.press('a');
      await page.keyboard.press('Enter');
      const firstBox = page.locator('.approval').first();
      await expect
        .poll(() => firstBox.locator('.decision').textContent())
        .toBe(`Approved ${id}-p2 — pending, waiting for the server…`);
      expect(await firstBox.getByRole('button', { name: 'Approve…' }).isVisible()).toBe(false);
      await checkView(page, 'approve-pending');
      release();
      await firstBox
        .getByRole('alert')
        .filter({ hasText: 'Not taken: refused by the test double' })
        .waitFor();
      expect(await firstBox.getByRole('button', { name: 'Approve…' }).isVisible()).toBe(true);
      expect(await firstBox.locator('.decision').textContent()).toBe('');
      await page.unroute('**/v1/patches/*/approve');

      // Approve with the keyboard: `a` asks to confirm, Enter confirms.
      await page.getByRole('heading', { level: 1 }).click();
      await page.keyboard.press('a');
      const confirm = page.getByRole('group', { name: 'Confirm the approval' }).first();
      await confirm.waitFor();
      await expect(page.evaluate('document.activeElement?.textContent')).resolves.toBe('Yes, approve');
      await checkView(page, 'approve-confirm');
      await page.keyboard.press('Enter');
      await expect.poll(() => summary.textContent(), { timeout: SLOW }).toMatch(/completed/);

      // Roll back, after a confirmation.
      await page.getByRole('button', { name: 'Roll back…' }).click();
      await page.getByLabel('Why (optional)').fill('browser test');
      await checkView(page, 'rollback-confirm');
      await page.getByRole('button', { name: 'Yes, roll back' }).click();
      await page.getByRole('heading', { name: /Rolled back at/ }).waitFor({ timeout: SLOW });
      const rolled = await api<{ rollback: { state: string; reason: string } }>(`/v1/tasks/${id}`);
      expect(rolled.rollback).toMatchObject({ state: 'rolled_back', reason: 'browser test' });

      // Chat with the task's agents.
      await page.getByLabel('Message to the agents').fill('What does the patch change?');
      await page.getByRole('button', { name: 'Send' }).click();
      await page.getByText('The patch makes subtract return a - b.').waitFor({ timeout: SLOW });
      await checkView(page, 'task-done');

      // The policy task: its blocked patch at the gate, the report, and the approver's override.
      await page.evaluate(`location.hash = '#/tasks/${policyId}'`);
      await page
        .getByRole('heading', { name: `Waiting for your decision on ${policyId}-p1` })
        .waitFor({ timeout: SLOW });
      await checkPolicyBlocked(page, api, policyId);
      await checkView(page, 'policy-blocked');
      await overridePolicy(page, api, policyId, 'run() is only for our own build scripts');
      await expect
        .poll(() => page.getByLabel('summary').textContent(), { timeout: SLOW })
        .toMatch(/completed/);
      await checkView(page, 'policy-overridden');
      await page.locator('main h1').click();

      // The task list: the new task, `j` selects it, `/` searches.
      await page.keyboard.press('g');
      await page.keyboard.press('t');
      await page.getByRole('heading', { level: 1, name: 'Tasks' }).waitFor();
      await page.locator('a.task-link').first().waitFor();
      await page.keyboard.press('j');
      await expect(page.evaluate('document.activeElement?.textContent')).resolves.toBe('Fix subtract');
      await page.keyboard.press('/');
      await expect(page.evaluate("document.activeElement?.getAttribute('aria-label')")).resolves.toBe(
        'Search tasks',
      );
      await page.keyboard.type('nothing like it');
      await page.getByText('No task matches.').waitFor();
      await page.getByLabel('Search tasks').fill('');
      await checkView(page, 'tasks');

      // Settings: change the coder's model, saved through POST /v1/config/models.
      await page.locator('h1').click();
      await page.keyboard.press('g');
      await page.keyboard.press('s');
      await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor();
      await page.getByLabel('Role').selectOption('coder');
      await page.getByLabel('Model', { exact: true }).fill('scripted-model-2');
      await page.getByLabel('USD per 1k prompt tokens').fill('0.25');
      await page.getByRole('button', { name: 'Save', exact: true }).click();
      await page.getByText('Saved: coder of org default').waitFor();
      await page.getByRole('cell', { name: 'scripted-model-2' }).waitFor();
      const models = await api<{ roles: Record<string, { model?: string; priceInPer1k?: number }> }>(
        '/v1/config/models?org=default',
      );
      expect(models.roles.coder).toMatchObject({ model: 'scripted-model-2', priceInPer1k: 0.25 });

      // Budgets: the org's daily quota, with today's use.
      await page.getByLabel('Tokens per day').fill('100000');
      await page.getByLabel('USD per day').fill('5');
      await page.getByRole('button', { name: 'Save quota' }).click();
      await page.getByText('Saved the daily quota of org default.').waitFor();
      await page.locator('.quota-use', { hasText: /of 100,000 tokens .* of \$5\.00/ }).waitFor();
      const quota = await api<{ quota: unknown }>('/v1/config/models?org=default');
      expect(quota.quota).toEqual({ tokensPerDay: 100_000, usdPerDay: 5 });

      // Policies: the rules in use, then the org's bundle saved (a refused one says why first).
      await page.getByText('In use: default-1').waitFor();
      await page
        .getByLabel('Org bundle (YAML)')
        .fill("version: '1'\nrules:\n  - id: secret\n    enforcement: warn\n");
      await page.getByRole('button', { name: 'Save bundle' }).click();
      await page.getByText(/secrets are always blocked/).waitFor();
      await page
        .getByLabel('Org bundle (YAML)')
        .fill("version: '1'\nrules:\n  - id: py-eval-exec\n    enforcement: warn\n");
      await page.getByRole('button', { name: 'Save bundle' }).click();
      await page.getByText('Saved: bundle default-1 < org:default@1.').waitFor();
      await expect(
        page
          .getByRole('row', { name: /py-eval-exec/ })
          .locator('td')
          .allTextContents(),
      ).resolves.toEqual(['py-eval-exec', 'sast', 'high', 'warn']);
      const policy = await api<{ bundle: { version: string } }>('/v1/config/policy?org=default');
      expect(policy.bundle.version).toBe('default-1 < org:default@1');

      // Repositories: the registered one listed; a second registered from the console.
      await page
        .getByRole('row', { name: /ts-calc/ })
        .first()
        .waitFor();
      const second = makeFixtureRepo('ts-calc');
      await page.getByLabel('Path on the server (a git checkout)').fill(second);
      await page.getByLabel("Name (optional; default: the folder's name)").fill('calc-two');
      await page.getByRole('button', { name: 'Register' }).click();
      await page.getByText(/Registered calc-two \(r-[a-z0-9]+\) in org default\./).waitFor();
      await page.getByRole('cell', { name: 'calc-two' }).waitFor();
      const repos = await api<{ items: Array<{ name: string; path: string }> }>('/v1/repos');
      // py-calc is the policy-blocked second task's repository.
      expect(repos.items.map((r) => r.name).sort()).toEqual(['calc-two', 'py-calc', 'ts-calc']);

      // Tokens: one made (shown once, and it works), then revoked after a confirmation (and refused).
      await page.getByLabel('Token name').fill('ci');
      await page.getByRole('button', { name: 'Create token' }).click();
      const secret = (await page.locator('code.secret').textContent()) ?? '';
      expect(secret).toMatch(/^cmp_/);
      const withPat = (t: string) =>
        fetch(`${h.url}/v1/tasks`, { headers: { authorization: `Bearer ${t}` } });
      expect((await withPat(secret)).status).toBe(200);
      await page
        .getByRole('row', { name: /ci/ })
        .getByText(/active, expires in 30 d|active, expires in 29 d/)
        .waitFor();
      await checkView(page, 'settings-token');
      await page.getByRole('button', { name: 'Done' }).click();
      await page.getByRole('button', { name: 'Revoke…' }).click();
      await page.getByRole('button', { name: 'Yes, revoke ci' }).click();
      await page.getByText(/^Revoked [a-z0-9]{12}\.$/).waitFor();
      await page
        .getByRole('row', { name: /ci/ })
        .getByText(/^revoked \d{4}-\d\d-\d\d$/)
        .waitFor();
      expect((await withPat(secret)).status).toBe(401);
      await checkView(page, 'settings');

      // Calibration (issue 14 item 4): the patches approved above are labelled good in the record.
      await page.evaluate(`location.hash = '#/calibration'`);
      await page.getByRole('heading', { name: 'Confidence calibration' }).waitFor();
      const cal = await api<{ calibration: { n: number; calibrated: { brier: number | null } } }>(
        '/v1/metrics/calibration',
      );
      const calText = (await page.locator('main').textContent()) ?? '';
      expect(calText).toContain(`${cal.calibration.n} labelled patch`);
      if (cal.calibration.n > 0 && cal.calibration.calibrated.brier !== null)
        expect(calText).toContain(`Brier score ${cal.calibration.calibrated.brier.toFixed(4)}`);
      await checkView(page, 'calibration');

      for (const [hash, view] of [
        ['#/deadletters', 'deadletters'],
        ['#/no-such-page', 'not-found'],
      ] as const) {
        await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
        await page.locator('main h1').waitFor();
        await checkView(page, view);
      }

      // A phone-sized screen: the task view still renders (screenshot for a human eye).
      await page.setViewportSize({ width: 390, height: 844 });
      await page.evaluate(`location.hash = '#/tasks/${id}'`);
      await page.getByLabel('summary').waitFor();
      await checkView(page, 'task-390px');

      expect(await page.evaluate('window.__noReload')).toBe(true);
      expect(pageErrors).toEqual([]);
      expect(checked.length).toBe(42);
      expect(violations).toEqual({});
    } catch (err) {
      // What the page and the task looked like when it failed (the screenshot is kept with the others).
      await page.screenshot({ path: join(ARTIFACTS, 'failure.png'), fullPage: true }).catch(() => {});
      if (taskId) {
        const t = (await (await h.api(`/v1/tasks/${taskId}`)).json()) as { task?: { status?: string } };
        console.error(`console browser test failed with task ${taskId} ${t.task?.status}`);
      }
      throw err;
    }
    await context.close();
    console.log(
      `console browser test: ${checked.length} view checks in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  },
);
