// The Doc Writer agent (FR-007): after an approving review, updates the documentation of the public functions
// whose signature the patch changes — their docstrings, the README/docs sections naming them, the CHANGELOG —
// as its own patch on top of the code patch (`docs.<patchId>`), and writes the PR description. No model call
// when the patch changes no public signature.
import { join } from 'node:path';
import { type ChangedSymbol, DocPatch, DocReview, keys, Patch, patchId } from '../../schemas/index.ts';
import { applyEdits, type Edit, formatEditErrors, parseEditBlocks, parseNumstat } from '../coder/edits.ts';
import { docsIdOf } from '../integrator/git-integrate.ts';
import { loadPrBodyInput, prBody } from '../integrator/github/pr-body.ts';
import type { ChatMessage } from '../llm/index.ts';
import { scanDiff } from '../policy/index.ts';
import { askJson, StepFailure } from '../runtime/ask-json.ts';
import { applyPatch, git } from '../runtime/git.ts';
import { readTreeFile } from '../runtime/read-tree-file.ts';
import { callModel } from '../runtime/model-call.ts';
import { oneEffectMachine } from '../runtime/step-machine.ts';
import type { AgentDefinition, StepInput, StepOutput } from '../runtime/types.ts';
import { addOwnedWorktree, removeOwnedWorktree } from '../runtime/worktrees.ts';
import { codeChangeIn } from './code-unchanged.ts';
import { docReviewSystem, docReviewUser, docWriterSystem, docWriterUser, NO_CHANGES } from './prompts.ts';
import { changedSymbols, isDocFile } from './symbols.ts';
import { docContext } from './context.ts';

/** Model answers per step (the first, then up to two corrections of edits that did not apply). */
const MAX_TRIES = 3;
const MAX_SECTIONS = 12;
/** Reviews of the documentation patch: the first, then one after a revision. */
const REVIEW_ROUNDS = 2;

type Written = Pick<DocPatch, 'diff' | 'files' | 'stats' | 'skipped' | 'secrets' | 'reviews'>;

async function docStep(input: StepInput, signal: AbortSignal): Promise<StepOutput> {
  const { task, mesh, deps } = input;
  const pid = String(task.workflow.context.patchId ?? patchId(task.id, input.attempt));
  let docs = (await mesh.board.get(keys.docs(pid), DocPatch))?.value;
  if (!docs) {
    const patch = (await mesh.board.get(keys.patch(pid), Patch))?.value;
    if (!patch) throw new StepFailure(`patch ${pid} is not on the blackboard`);
    // A redacted diff is not what will be committed (it never is): nothing to document.
    const symbols = patch.secrets?.length ? [] : changedSymbols(patch.diff);
    const written: Written = symbols.length
      ? await writeDocs(input, patch, symbols, signal)
      : { ...EMPTY, skipped: 'the patch changes no public function signature' };
    const draft: DocPatch = {
      id: docsIdOf(pid),
      patchId: pid,
      taskId: task.id,
      attempt: patch.attempt,
      symbols,
      ...written,
      description: '',
      createdAt: new Date(deps.now()).toISOString(),
    };
    const body = await loadPrBodyInput(mesh.board, task, pid);
    draft.description = prBody({ ...body, docs: draft, stage: 'integrated' });
    docs = (await mesh.board.putOnce(keys.docs(pid), DocPatch, draft, (a, b) => a.id === b.id)).entry.value;
  }
  const data = {
    patchId: pid,
    docsId: docs.id,
    files: docs.files,
    symbols: docs.symbols.map((s) => s.name),
    ...(docs.skipped ? { skipped: docs.skipped } : {}),
    ...(docs.secrets?.length ? { secrets: docs.secrets.length } : {}),
    ...(docs.reviews?.length ? { review: docs.reviews.at(-1)?.verdict, reviews: docs.reviews.length } : {}),
  };
  await deps.emit({
    id: `${input.stepId}:docs.proposed`,
    taskId: task.id,
    type: 'docs.proposed',
    step: { kind: 'docs', attempt: input.attempt },
    data,
  });
  return { ok: true, data };
}

const EMPTY: Written = { diff: '', files: [], stats: { additions: 0, deletions: 0 } };

/** In a worktree of base + code patch: asks the model for documentation edits, applies them, takes the diff. */
async function writeDocs(
  input: StepInput,
  patch: Patch,
  symbols: ChangedSymbol[],
  signal: AbortSignal,
): Promise<Written> {
  const { task, deps } = input;
  const worktree = join(deps.dataDir, 'work', `${input.stepId}-r${input.round}`);
  await addOwnedWorktree(deps.dataDir, task.repoPath, worktree, task.baseCommit);
  try {
    await applyPatch(worktree, patch.diff);
    // The code patch is staged: the documentation diff is what the edits change on top of it.
    await git(worktree, ['add', '--all', '--', '.'], { worktree: true });
    const paths = (await git(worktree, ['ls-files', '-z'], { worktree: true })).stdout
      .split('\0')
      .filter(Boolean);
    const { sections, changelog, definitions } = await docContext(worktree, paths, symbols);
    const clog = changelog?.file;
    const shown = sections.slice(0, MAX_SECTIONS);
    const allowed = new Set([
      ...symbols.map((s) => s.file),
      ...shown.map((s) => s.file),
      ...(clog ? [clog] : []),
    ]);
    const messages: ChatMessage[] = [
      { role: 'system', content: docWriterSystem() },
      {
        role: 'user',
        content: docWriterUser({ task, diff: patch.diff, symbols, definitions, sections: shown, changelog }),
      },
    ];
    const common = ['diff', '--no-color', '--no-ext-diff', '--no-renames', '--no-textconv'];
    const reviews: DocReview[] = [];
    for (let round = 0; round < REVIEW_ROUNDS; round++) {
      let applied = false;
      for (let i = 0; i < MAX_TRIES && !applied; i++) {
        const res = await callModel(input, 'coder', { messages, signal });
        const answer = res.message.content ?? '';
        messages.push({ role: 'assistant', content: answer });
        if (answer.trim().startsWith(NO_CHANGES))
          return round === 0
            ? { ...EMPTY, skipped: 'the model found the documentation current' }
            : { ...EMPTY, skipped: 'the model withdrew its documentation after review', reviews };
        const errors = await tryEdits(worktree, answer, allowed);
        if (errors.length === 0) applied = true;
        else messages.push({ role: 'user', content: formatEditErrors(errors) });
      }
      if (!applied) throw new StepFailure(`the documentation edits did not apply in ${MAX_TRIES} tries`);
      const diff = (
        await git(worktree, [...common, '--src-prefix=a/', '--dst-prefix=b/'], { worktree: true })
      ).stdout;
      const { files, additions, deletions } = parseNumstat(
        (await git(worktree, [...common, '--numstat', '-z'], { worktree: true })).stdout,
      );
      if (!diff.trim()) return { ...EMPTY, skipped: 'the edits changed nothing' };
      // The model's text is scanned like a Coder's patch: a secret never reaches the blackboard in clear (nor
      // the reviewer's prompt). Such a patch is never committed, so it is not reviewed.
      const scan = scanDiff(diff);
      if (scan.findings.length)
        return { diff: scan.diff, files, stats: { additions, deletions }, secrets: scan.findings };
      const review = await reviewDocs(input, patch.diff, diff, signal);
      reviews.push(review);
      if (review.verdict === 'approve') return { diff, files, stats: { additions, deletions }, reviews };
      if (round + 1 < REVIEW_ROUNDS) {
        await git(worktree, ['checkout', '--', '.'], { worktree: true });
        messages.push({ role: 'user', content: revisionRequest(review.comments) });
      }
    }
    const last = reviews.at(-1)?.comments.trim() || 'no reason given';
    return { ...EMPTY, skipped: `the reviewer rejected the documentation: ${last.slice(0, 500)}`, reviews };
  } finally {
    await removeOwnedWorktree(deps.dataDir, task.repoPath, worktree);
  }
}

/** Parses and applies the answer's edit blocks; the errors to send back (none when all applied). */
async function tryEdits(worktree: string, answer: string, allowed: Set<string>): Promise<string[]> {
  const { edits, errors } = parseEditBlocks(answer);
  if (errors.length) return errors;
  if (edits.length === 0) return [`No edit blocks found. Reply with edit blocks, or ${NO_CHANGES}.`];
  const outside = edits.filter((e: Edit) => !allowed.has(e.path) || e.search.length === 0);
  if (outside.length)
    return outside.map(
      (e) =>
        `Block ${e.block} (${e.path}): only the files shown may be edited (${[...allowed].join(', ')}), and no file may be created.`,
    );
  const applied = await applyEdits(worktree, edits);
  if (applied.errors.length) return applied.errors;
  // Source files may change in their comments and docstrings only (compared with the staged code patch).
  const problems: string[] = [];
  for (const path of new Set(edits.map((e) => e.path))) {
    if (isDocFile(path)) continue;
    const before = (await git(worktree, ['show', `:${path}`], { worktree: true })).stdout;
    const after = (await readTreeFile(worktree, path)) ?? '';
    const problem = codeChangeIn(path, before, after);
    if (problem) problems.push(problem);
  }
  if (problems.length === 0) return [];
  await git(worktree, ['checkout', '--', '.'], { worktree: true });
  return [...problems.map((p) => `${p}.`), 'Every edit was undone: change documentation only, never code.'];
}

/** The reviewer role's model on the documentation patch (its own marker, the doc review schema). */
async function reviewDocs(
  input: StepInput,
  codeDiff: string,
  docDiff: string,
  signal: AbortSignal,
): Promise<DocReview> {
  const messages: ChatMessage[] = [
    { role: 'system', content: docReviewSystem() },
    { role: 'user', content: docReviewUser({ task: input.task, codeDiff, docDiff }) },
  ];
  return (await askJson(input, 'reviewer', messages, DocReview, { signal })).value;
}

function revisionRequest(comments: string): string {
  return `A reviewer asked for changes to your documentation edits:\n${comments.trim() || '(no comment)'}\n\nYour edits were undone. Reply with the whole set of edit blocks again, or ${NO_CHANGES} if the documentation should stay as it was.`;
}

export const docWriterMachine = oneEffectMachine('docwriter', docStep);

export const docWriter: AgentDefinition = {
  capability: 'docwriter',
  machine: docWriterMachine,
  estimateCostUsd: () => 0.01,
};
