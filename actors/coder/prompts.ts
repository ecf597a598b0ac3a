// Prompts of the Coder.
import type {
  ChangeRequest,
  Patch,
  Plan,
  ReproTest,
  Subtask,
  SubtaskPatch,
  TaskRecord,
  TestRun,
} from '../../schemas/index.ts';
import { roleMarker } from '../llm/index.ts';
import { changeLines } from '../runtime/change-requests.ts';

/** The edit-block format every editing role answers in (parsed by `parseEditBlocks`), after its file path line. */
export const EDIT_BLOCK_FORMAT = `<<<<<<< SEARCH
exact lines that are in the file now
=======
the lines that replace them
>>>>>>> REPLACE`;

export function coderSystem(): string {
  return `${roleMarker('coder')} You are the Coder of codemesh. You change a git repository with small patches.
Use the tools to read the code you need. When you are ready, reply with edit blocks only, one per change:

path/to/file.ext
${EDIT_BLOCK_FORMAT}

The SEARCH part must match the file exactly, once; include enough lines to make it unique. An empty SEARCH
part creates a new file. Never rewrite whole files; never touch files you have not read.
When you fix a bug that no existing test shows, add a test that reproduces it beside the fix: codemesh runs it
without your fix (it must fail) and with it (it must pass); a test that passes without the fix is rejected.`;
}

export interface CoderBrief {
  task: TaskRecord;
  plan?: Plan;
  critique?: string;
  previous?: { patch: Patch; testRun?: TestRun };
  /** Refinements of scope and constraints asked for in chat since the task was filed. */
  changes?: readonly ChangeRequest[];
  /** The test the test-writing step kept: already in the working tree, failing. */
  repro?: ReproTest;
}

export function coderUser(b: CoderBrief, overview: string): string {
  const parts = [`Task: ${b.task.request.title}`, '', b.task.request.description];
  if (b.plan) {
    parts.push('', `Plan: ${b.plan.summary}`);
    for (const s of b.plan.subtasks) {
      parts.push(`- [${s.id}] ${s.title} — done when: ${s.successCriteria.join('; ')}`);
      if (s.description) parts.push(`  ${s.description.replace(/\n/g, '\n  ')}`);
      if (s.files.length > 0) parts.push(`  files in scope: ${s.files.join(', ')}`);
    }
  }
  parts.push(...changeLines(b.changes ?? []));
  if (b.previous) {
    parts.push(
      '',
      'Your previous patch is already applied to the working tree:',
      b.previous.patch.diff.slice(0, 20_000),
    );
    const t = b.previous.testRun;
    if (t) {
      const failed = t.tests.filter((x) => x.status === 'failed');
      parts.push(
        '',
        `Tests after it: ${t.counts.passed} passed, ${t.counts.failed} failed.`,
        ...failed.slice(0, 20).map((x) => `FAILED ${x.name}: ${(x.message ?? '').slice(0, 500)}`),
      );
      if (failed.length === 0 && !t.passed) parts.push('Test log (end):', t.log.slice(-3000));
    }
  }
  if (b.repro) parts.push('', ...reproLines(b.repro, 'Make it pass with your fix'));
  if (b.critique) parts.push('', `Reviewer critique to address: ${b.critique}`);
  parts.push('', overview);
  return parts.join('\n');
}

/** The test the test-writing part kept, as the Coders starting from it are told. */
function reproLines(r: ReproTest, ask: string): string[] {
  return [
    `A test that reproduces the issue is already in the working tree (${r.files.join(', ')}); it fails now:`,
    ...r.tests.map((t) => `FAILING ${t.name}: ${(t.message ?? '').slice(0, 300)}`),
    `${ask}; keep the test as it is. No other reproduction test is needed.`,
  ];
}

/** The test-writing step: a test that reproduces the issue, before any fix. */
export function reproSystem(): string {
  return `${roleMarker('coder')} You are the test writer of codemesh. Before anyone fixes the issue, you write a test
that reproduces it: a test that FAILS on the current code because of the issue, and will pass once it is fixed.
Change test files only (add to an existing test file, or create one where the repository keeps its tests); never
fix the code. Use the tools to read the code and the tests you need. When you are ready, reply with edit blocks
only, one per change:

path/to/test_file.ext
${EDIT_BLOCK_FORMAT}

An empty SEARCH part creates a new file. codemesh runs your test on the current code: a test that passes there
does not reproduce the issue and is rejected.`;
}

export function reproUser(b: { task: TaskRecord; plan?: Plan; ran: number }, overview: string): string {
  const parts = [`Issue: ${b.task.request.title}`, '', b.task.request.description];
  if (b.plan) parts.push('', `Plan: ${b.plan.summary}`);
  parts.push(
    '',
    b.ran > 0
      ? `The ${b.ran} test(s) selected for this issue all pass on the current code: none reproduces it.`
      : 'No existing test was selected for this issue.',
    'Write one test that fails now because of the issue.',
    '',
    overview,
  );
  return parts.join('\n');
}

/** Why a written test was rejected, for the model's second try. */
export function reproEvidence(check: {
  reason: string;
  tests: ReadonlyArray<{ name: string; status: string }>;
  output: string;
}): string {
  return [
    `Your test was rejected: ${check.reason}.`,
    'It was run on the current code, without any fix. A reproduction test must FAIL there.',
    ...(check.output ? ['Output (end):', check.output.slice(-1500)] : []),
    'Change the test (test files only) so that it fails because of the issue, and reply with edit blocks.',
  ].join('\n');
}

export interface SubtaskBrief {
  task: TaskRecord;
  plan?: Plan;
  subtask: Subtask;
  /** Patches of other subtasks already in the working tree (its dependencies; after a conflict, all before it). */
  onto: Array<{ id: string; diff: string }>;
  /** This subtask's own patch from before a conflict, to redo on top of the others'. */
  earlier?: SubtaskPatch;
  /** Refinements of scope and constraints asked for in chat since the task was filed. */
  changes?: readonly ChangeRequest[];
  /** The test the test-writing part kept: in the working tree, under the subtask's patch. */
  repro?: ReproTest;
}

/** One subtask of a fanned-out plan: other Coders do the other subtasks at the same time. */
export function subtaskUser(b: SubtaskBrief, overview: string): string {
  const s = b.subtask;
  const parts = [`Task: ${b.task.request.title}`, '', b.task.request.description];
  if (b.plan) {
    parts.push('', `Plan: ${b.plan.summary}`);
    for (const x of b.plan.subtasks) parts.push(`- [${x.id}] ${x.title}`);
  }
  parts.push(
    '',
    `Your subtask: [${s.id}] ${s.title} — done when: ${s.successCriteria.join('; ')}`,
    ...(s.description ? [s.description] : []),
    ...(s.files.length > 0 ? [`Files in scope: ${s.files.join(', ')}`] : []),
    'Other Coders work on the other subtasks at the same time: change only what your subtask needs.',
  );
  parts.push(...changeLines(b.changes ?? []));
  if (b.onto.length > 0) {
    parts.push(
      '',
      `The working tree already holds the patches of subtasks ${b.onto.map((o) => o.id).join(', ')}:`,
    );
    for (const o of b.onto) parts.push(`[${o.id}]`, o.diff.slice(0, 10_000));
  }
  if (b.earlier)
    parts.push(
      '',
      'Your earlier patch for this subtask conflicted with those patches. Redo your subtask on top of them',
      '(read the files again: they changed). Your earlier patch, for reference:',
      b.earlier.diff.slice(0, 10_000),
    );
  if (b.repro)
    parts.push(
      '',
      ...reproLines(
        b.repro,
        'Together the subtasks make it pass: do your part of the fix (other Coders do theirs)',
      ),
    );
  parts.push('', overview);
  return parts.join('\n');
}
