// The console browser test's checks of the task view's review parts (issue 13 item 1): syntax highlighting in
// the side-by-side diff, why each file changed, test results by category, calibrated confidence, the Doc
// Writer's patch, inline comments that become a change request, and the policy report with its override.
// Expected values come from the API, never from constants the page could also hard-code.
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import type { ScriptedReply, ScriptRequest } from './scripted-llm/index.ts';
import { USAGE } from './ts-calc-answers.ts';

type Api = <T>(path: string, init?: RequestInit) => Promise<T>;

interface TaskJson {
  task: { status: string };
  patches: Array<{ id: string; policy?: { findings: Array<{ ruleId: string; line?: number }> } }>;
  testRuns: Array<{ verdict?: { fixed: string[] } }>;
  reviews: Array<{ confidence: number; calibration?: { calibrated: number } }>;
}

// ---- The policy task: a py-calc patch that runs a shell command, blocked with no attempt left. ----

/** Marks the policy task's requests (its description says it; the main task's never do). */
export const POLICY_MARK = 'run(cmd)';
const POLICY_PLAN = {
  summary: 'Fix subtract and add a command runner',
  subtasks: [
    {
      id: 'fix',
      title: 'Make subtract return a - b and add run(cmd)',
      successCriteria: ['subtract(5, 3) == 2'],
      files: ['calc.py'],
    },
  ],
  risks: [],
};
const SHELL_EDIT = `calc.py
<<<<<<< SEARCH
def subtract(a, b):
    return a + b
=======
def subtract(a, b):
    return a - b


def run(cmd):
    import subprocess
    return subprocess.run(cmd, shell=True)
>>>>>>> REPLACE
`;

/** The scripted model's answers for the policy task, or undefined for other tasks' requests. */
export function policyScript(req: ScriptRequest): ScriptedReply | undefined {
  if (!JSON.stringify(req.body.messages ?? []).includes(POLICY_MARK)) return undefined;
  if (req.roleHint === 'planner') return { usage: USAGE, content: JSON.stringify(POLICY_PLAN) };
  if (req.roleHint === 'coder') return { usage: USAGE, content: SHELL_EDIT };
  return undefined;
}

/** Starts the policy task over the API (one attempt: the blocked patch comes to the gate). */
export async function startPolicyTask(api: Api, repo: string): Promise<string> {
  const created = await api<{ task: { id: string } }>('/v1/tasks', {
    method: 'POST',
    body: JSON.stringify({
      repo,
      title: 'Add a command runner',
      description: `subtract(5, 3) returns 8, expected 2. Also add ${POLICY_MARK} that runs a shell command line.`,
      approve: 'manual',
      budget: { maxAttempts: 1 },
    }),
  });
  return created.task.id;
}

// ---- The main task at its first gate. ----

/** Highlighting, rationale, categories, confidence, policy and docs of the main task at the gate. */
export async function checkReviewParts(page: Page, api: Api, id: string): Promise<void> {
  const d = await api<TaskJson>(`/v1/tasks/${id}`);
  const diff = page.getByRole('region', { name: 'diff of src/calc.ts' }).first();

  // Highlighting: `return` is a keyword token on both sides, the line's text unchanged (text nodes only).
  const changed = diff.locator('tr', { has: page.locator('td.code.sb-del') }).first();
  await expect(changed.locator('td.code .tok-kw').allTextContents()).resolves.toEqual(['return', 'return']);
  await expect(page.locator('.sbs td.code *:not(span)').count()).resolves.toBe(0);

  // Why the file changed, beside the diff: the plan's subtask naming it.
  const why = page.getByRole('complementary', { name: 'Why src/calc.ts changed' }).first();
  await expect(why.textContent()).resolves.toMatch(/Make subtract return a - b.*plan: fix/);

  // Test results by category: fail → pass lists what the Tester's verdict says was fixed.
  const fixed = d.testRuns.at(-1)?.verdict?.fixed ?? [];
  expect(fixed.length).toBeGreaterThan(0);
  const cat = page.getByRole('region', { name: `fail → pass (${fixed.length})` }).first();
  await expect(cat.locator('li > .mono').allTextContents()).resolves.toEqual(fixed);

  // Calibrated confidence first, the model's own beside it.
  const review = d.reviews.at(-1)!;
  const calibrated = Math.round(review.calibration!.calibrated * 100);
  const summary = (await page.getByLabel('summary').textContent()) ?? '';
  expect(summary).toContain(`${calibrated}% calibrated · model ${Math.round(review.confidence * 100)}%`);
  await expect(page.locator('.review').first().textContent()).resolves.toContain(
    `confidence ${calibrated}% calibrated`,
  );

  // The policy report: nothing found on this patch.
  const policy = page.getByRole('region', { name: `Policy report of ${id}-p1` });
  await expect(policy.textContent()).resolves.toMatch(/no findings: nothing blocks/);

  // The Doc Writer ran (the composer asked for it) and had nothing to document.
  const docs = page.getByRole('region', { name: `Documentation patch of ${id}-p1` });
  await docs.getByText(/no change: the patch changes no public function signature/).waitFor();
}

/** Comments on a line of p1's diff; returns the change request's comment as the page will send it. */
export async function commentOnLine(page: Page, ask: string, id: string): Promise<string> {
  const diff = page.getByRole('region', { name: 'diff of src/calc.ts' }).first();
  const changed = diff.locator('tr', { has: page.locator('td.code.sb-add') }).first();
  const line = Number((await changed.locator('td.ln').nth(1).textContent())?.trim());
  const ref = `src/calc.ts:${line}`;
  await diff.getByRole('button', { name: `Comment on ${ref}`, exact: true }).click();
  const box = page.getByRole('textbox', { name: `Your comment on ${ref}`, exact: true });
  await box.waitFor();
  // The editor takes the focus: type at once.
  await expect(page.evaluate('document.activeElement?.getAttribute("aria-label")')).resolves.toBe(
    `Your comment on ${ref}`,
  );
  await box.fill(ask);
  await page.getByRole('button', { name: 'Add comment' }).click();
  await diff.locator('tr.sb-comment', { hasText: ask }).waitFor();
  // A comment not yet sent outlives the view: to the task list and back, it is still there.
  await page.evaluate(`location.hash = '#/'`);
  await page.getByRole('heading', { level: 1, name: 'Tasks' }).waitFor();
  await page.evaluate(`location.hash = '#/tasks/${id}'`);
  await page.locator('tr.sb-comment', { hasText: ask }).waitFor();
  return `${ref}: ${ask}`;
}

// ---- The policy task at its gate. ----

/** The policy task's blocked patch: findings with severity, CWE, place and remediation. */
export async function checkPolicyBlocked(page: Page, api: Api, pid: string): Promise<void> {
  const d = await api<TaskJson>(`/v1/tasks/${pid}`);
  const finding = d.patches[0]!.policy!.findings[0]!;
  // The chat thread of the task seen before stays with it.
  await expect(page.locator('.chat-lines li').count()).resolves.toBe(0);
  const policy = page.getByRole('region', { name: `Policy report of ${pid}-p1` });
  await expect(policy.locator('p').first().textContent()).resolves.toMatch(/1 finding \(sast 1\): blocking/);
  const row = policy.locator('tbody tr').first();
  await expect(row.locator('td').allTextContents()).resolves.toEqual([
    'high blocks',
    `${finding.ruleId}CWE-78`,
    `calc.py:${finding.line}`,
    expect.stringMatching(/shell/),
    expect.stringContaining('without shell=True'),
  ]);
  // No comments here: the one attempt is used up.
  await expect(page.getByRole('button', { name: /^Comment on / }).count()).resolves.toBe(0);
  // An override needs a reason.
  await policy.getByRole('button', { name: 'Approve with override' }).click();
  await policy
    .getByRole('alert')
    .getByText(/Say why the finding is acceptable/)
    .waitFor();
}

/** Overrides the block with a reason; the override is recorded and shown, the task completes. */
export async function overridePolicy(page: Page, api: Api, pid: string, reason: string): Promise<void> {
  const policy = page.getByRole('region', { name: `Policy report of ${pid}-p1` });
  await policy.getByLabel('Reason for the override').fill(reason);
  await policy.getByRole('button', { name: 'Approve with override' }).click();
  await policy.locator('.override').getByText(reason).waitFor({ timeout: 60_000 });
  const patch = await api<{ patch: { policy: { override?: { reason: string; ruleIds: string[] } } } }>(
    `/v1/patches/${pid}-p1`,
  );
  expect(patch.patch.policy.override).toMatchObject({ reason, ruleIds: ['py-subprocess-shell'] });
}

/** On a wide screen the rationale stands beside the diff, to its right; on a narrower one, above it. */
export async function rationalePlacement(page: Page): Promise<'beside' | 'above'> {
  const why = await page
    .getByRole('complementary', { name: 'Why src/calc.ts changed' })
    .first()
    .boundingBox();
  const diff = await page.getByRole('region', { name: 'diff of src/calc.ts' }).first().boundingBox();
  if (!why || !diff) throw new Error('the rationale or the diff is not on screen');
  if (why.x >= diff.x + diff.width - 1 && why.y < diff.y + diff.height) return 'beside';
  if (why.y + why.height <= diff.y + 1) return 'above';
  throw new Error(`rationale at ${JSON.stringify(why)}, diff at ${JSON.stringify(diff)}`);
}
