// The console's campaign pages in a real browser, on the gateway (no agents: the campaign driver is run by
// hand): the list with its burndown, a campaign with its bar, its line and its repositories, a retry from the
// page. axe-core checks both views in light and dark: no serious or critical WCAG 2.1 A/AA violation.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CampaignDriver } from '../actors/campaign/index.ts';
import { serveGateway } from '../gateway/serve.ts';
import { DEV, startTestGateway, type TestGateway } from '../gateway/test-setup.ts';
import { CampaignRecord, campaignTaskId, keys, TaskRecord } from '../schemas/index.ts';
import { type AxeViolation, browserSkipReason, launchChromium, seriousViolations } from './browser.ts';
import { makeRepo } from './temp-repo.ts';

const skip = browserSkipReason();
let g: TestGateway;
let server: Awaited<ReturnType<typeof serveGateway>>;
let browser: Browser;
let consoleDir: string;
beforeAll(async () => {
  if (skip) return;
  browser = await launchChromium();
  consoleDir = mkdtempSync(join(tmpdir(), 'codemesh-console-'));
  const root = fileURLToPath(new URL('../console', import.meta.url));
  await build({
    root,
    configFile: join(root, 'vite.config.ts'),
    logLevel: 'silent',
    build: { outDir: consoleDir, emptyOutDir: true },
  });
  process.env.CODEMESH_CONSOLE_DIR = consoleDir;
  g = await startTestGateway();
  server = await serveGateway(g.app);
}, 120_000);
afterAll(async () => {
  delete process.env.CODEMESH_CONSOLE_DIR;
  await browser?.close();
  await server?.close();
  await g?.stop();
  if (consoleDir) rmSync(consoleDir, { recursive: true, force: true });
});

const violations: Record<string, AxeViolation[]> = {};
async function checkView(page: Page, view: string): Promise<void> {
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
    const found = await seriousViolations(page);
    if (found.length) violations[`${view} ${scheme}`] = found;
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

it.skipIf(skip)(
  'lists campaigns and shows one with its burndown; a failed repository is retried from the page',
  { timeout: 180_000 },
  async () => {
    for (const name of ['svc-one', 'svc-two']) {
      const { dir } = makeRepo(
        { 'package.json': JSON.stringify({ name, version: '1.0.0' }) },
        mkdtempSync(join(g.repoRoot, 'codemesh-fx-')),
      );
      expect((await g.call('POST', '/v1/repos', DEV, { org: 'org-a', path: dir, name })).status).toBe(201);
    }
    const created = await g.call('POST', '/v1/campaigns', DEV, {
      title: 'Bump the linter',
      description: 'Bump it everywhere.',
      approve: 'auto',
      repos: ['ts-calc', 'svc-one', 'svc-two'],
      throttle: { maxConcurrent: 1 },
    });
    const id = ((await created.json()) as { campaign: { id: string } }).campaign.id;
    const driver = new CampaignDriver(g.mesh);
    await driver.pass();
    await driver.pass();
    // ts-calc's task fails: one ended, one running, one pending.
    await g.mesh.board.mutate(keys.task(campaignTaskId(id, 0)), TaskRecord, (t) => ({
      ...t!,
      status: 'failed' as const,
      reason: 'tests fail',
    }));
    await driver.pass();
    expect(
      (await g.mesh.board.get(keys.campaign(id), CampaignRecord))!.value.repos.map((r) => r.state),
    ).toEqual(['failed', 'running', 'pending']);

    const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${server.url}/console/`);
    await page.getByLabel('API token').fill(DEV);
    await page.getByRole('button', { name: 'Open' }).click();
    await page.getByRole('link', { name: 'campaigns' }).click();
    await page.getByRole('heading', { level: 1, name: 'Campaigns' }).waitFor();
    await page.getByRole('link', { name: 'Bump the linter' }).waitFor();
    await page.getByText('1 of 3 ended').waitFor();
    await page.getByRole('img', { name: '1 running, 1 pending, 1 failed' }).first().waitFor();
    await checkView(page, 'campaigns');

    await page.getByRole('link', { name: 'Bump the linter' }).click();
    await page.getByRole('heading', { level: 1, name: 'Bump the linter' }).waitFor();
    await page.getByRole('heading', { level: 2, name: 'Burndown' }).waitFor();
    // The line, from the event feed: 3 open at the start, 2 after ts-calc failed.
    await page.getByRole('img', { name: 'repositories not yet ended over time: 3, 2' }).waitFor();
    await page.getByRole('link', { name: campaignTaskId(id, 1) }).waitFor();
    await checkView(page, 'campaign');
    // The task's page links back to its campaign.
    await page.getByRole('link', { name: campaignTaskId(id, 1) }).click();
    await page.getByLabel('summary').getByRole('link', { name: id }).click();
    await page.getByRole('heading', { level: 1, name: 'Bump the linter' }).waitFor();

    await page.getByRole('button', { name: 'Retry' }).click();
    await page.getByText('Retry ts-calc: done.').waitFor();
    await page.getByRole('img', { name: 'repositories not yet ended over time: 3, 2, 3' }).waitFor();
    expect((await g.mesh.board.get(keys.campaign(id), CampaignRecord))!.value.repos[0]).toMatchObject({
      state: 'pending',
      retries: 1,
    });
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByText('Pause: done.').waitFor();
    await page.getByRole('button', { name: 'Resume' }).waitFor();
    expect(pageErrors).toEqual([]);
    expect(violations).toEqual({});
    await context.close();
  },
);
