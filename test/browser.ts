// Browser tests: Debian's Chromium (`npm run setup` installs it) driven by playwright-core, never a downloaded
// browser; axe-core checks a page for WCAG 2.1 A/AA violations. CODEMESH_SKIP_BROWSER=1 skips, saying why.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Where screenshots go (git-ignored; CI keeps the folder as an artifact). */
export const ARTIFACTS = fileURLToPath(new URL('./artifacts/console/', import.meta.url));

/**
 * Why the browser test cannot run, or undefined when it can. A missing Chromium is a failure (CI runs
 * `npm run setup` first), not a skip: only CODEMESH_SKIP_BROWSER=1 skips.
 */
export function browserSkipReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CODEMESH_SKIP_BROWSER === '1')
    return 'CODEMESH_SKIP_BROWSER=1: the console browser test is skipped';
  return undefined;
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} is missing: run \`npm run setup\` (apt-get install chromium), or set CODEMESH_SKIP_BROWSER=1 to skip the browser test`,
    );
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}

const axeSource = readFileSync(
  join(createRequire(import.meta.url).resolve('axe-core'), '..', 'axe.min.js'),
  'utf8',
);

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[]; failureSummary?: string }>;
}

/** The serious and critical WCAG 2.1 A/AA violations on the page as it is now (needs `bypassCSP: true`). */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  // Evaluated as strings: this file is compiled for Node, without the DOM's types.
  if (!(await page.evaluate("'axe' in window"))) await page.addScriptTag({ content: axeSource });
  const violations = await page.evaluate(
    "axe.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }).then((r) => r.violations)",
  );
  return (violations as AxeViolation[])
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target, failureSummary: n.failureSummary })),
    }));
}
