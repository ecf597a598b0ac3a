// The pull request body: every section, the per-file rationale from the plan, tests, and policy findings.
import { expect, it } from 'vitest';
import { type Patch, type TaskRecord, TaskRequest, type TestRun } from '../../../schemas/index.ts';
import { initialWorkflow } from '../../conductor/workflow.ts';
import { PR_SECTIONS, prBody, revertBody } from './pr-body.ts';

const now = '2026-12-02T00:00:00.000Z';
const task: TaskRecord = {
  id: 't-body00001',
  request: TaskRequest.parse({ repo: '/r', title: 'Fix it', issueUrl: 'https://github.com/a/b/issues/1' }),
  repoPath: '/r',
  baseCommit: 'a'.repeat(40),
  status: 'awaiting_approval',
  attempt: 1,
  workflow: initialWorkflow({ maxAttempts: 2, approveMode: 'manual' }),
  commit: 'c'.repeat(40),
  createdAt: now,
  updatedAt: now,
};
const patch: Patch = {
  id: 't-body00001-p1',
  taskId: task.id,
  attempt: 1,
  baseCommit: task.baseCommit,
  diff: 'diff --git a/x b/x\n',
  files: ['src/a.ts', 'src/b.ts'],
  summary: 'fix a and b',
  stats: { additions: 3, deletions: 1 },
  createdAt: now,
};
const testRun = {
  passed: true,
  outcome: 'pass',
  runner: 'vitest',
  counts: { passed: 4, failed: 0, skipped: 1 },
  verdict: {
    fixed: ['a > subtracts'],
    regressions: [],
    stillFailing: [],
    newTests: [],
    missing: [],
    flaky: [],
    envErrors: [],
    passing: 3,
  },
} as unknown as TestRun; // only the fields the body reads

it('has every section, links the issue, explains each file from the plan, and lists fail → pass', () => {
  const body = prBody({
    task,
    patch,
    stage: 'gate',
    testRun,
    plan: {
      summary: 'Fix a',
      risks: [],
      subtasks: [
        {
          id: 's1',
          title: 'Repair a',
          description: '',
          role: 'coder',
          dependsOn: [],
          successCriteria: ['a works'],
          files: ['src/a.ts'],
        },
      ],
    },
  });
  for (const s of PR_SECTIONS) expect(body).toContain(s);
  expect(body.startsWith('Fixes https://github.com/a/b/issues/1')).toBe(true);
  expect(body).toContain('- `src/a.ts`: Repair a');
  expect(body).toContain('- `src/b.ts`: fix a and b');
  expect(body).toContain('**Fail → pass**\n- a > subtracts');
  expect(body).toContain('_no review recorded_');
  expect(body).not.toContain('## Policy findings');
});

it('adds the policy findings when the scanner found secrets, naming rule, file and line only', () => {
  const body = prBody({
    task,
    patch: {
      ...patch,
      secrets: [
        {
          ruleId: 'github-pat',
          description: 'GitHub token',
          file: 'src/a.ts',
          line: 3,
          preview: 'ghp_[REDACTED]',
        },
      ],
    },
    stage: 'integrated',
  });
  expect(body).toContain('## Policy findings\n\n- github-pat in `src/a.ts` line 3 (redacted)');
  expect(body).not.toContain('ghp_');
});

it('a revert body names and links the original pull request', () => {
  expect(revertBody(task, { number: 12, url: 'https://github.com/a/b/pull/12' }, 'broke it')).toContain(
    'Reverts #12 (https://github.com/a/b/pull/12).',
  );
});

it('shows the calibrated confidence first, labelled, with the Reviewer model’s own number beside it', () => {
  const review = {
    id: `${task.id}-1`,
    taskId: task.id,
    attempt: 1,
    patchId: patch.id,
    createdAt: now,
    decision: 'approve' as const,
    confidence: 0.95,
    critique: 'fine',
    risks: [],
  };
  const calibration = {
    raw: 0.95,
    calibrated: 0.62,
    model: 'fitted-1',
    features: {
      raw: 0.95,
      approve: true,
      outcome: 'pass',
      fixed: 1,
      regressions: 0,
      reproduction: 'none' as const,
      addedCovered: null,
      files: 2,
      lines: 4,
      retrievalMargin: null,
      policyBlock: 0,
      policyWarn: 0,
      memoryIntegrated: 0,
      memoryFailed: 0,
    },
  };
  const body = prBody({ task, patch, stage: 'gate', testRun, review: { ...review, calibration } });
  expect(body).toContain(
    "Reviewer: approve, calibrated confidence 0.62 (model fitted-1; the Reviewer's own confidence 0.95). fine",
  );
  // A review recorded before calibration existed says its number is the model's own.
  expect(prBody({ task, patch, stage: 'gate', testRun, review })).toContain(
    "confidence 0.95 (the Reviewer's own, not calibrated)",
  );
});
