// The Coder agent: a tool-using model loop that ends in search/replace edit blocks, applied in a git
// worktree and stored as a unified diff. Bad edits go back to the model with the exact error.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { assign, fromPromise, setup } from 'xstate';
import { keys, Patch, parsePart, patchId, TestRun } from '../../schemas/index.ts';
import type { ChatMessage, ChatResult } from '../llm/index.ts';
import { policyData, policyNote, redactText, scanDiff, secretsData, secretsNote } from '../policy/index.ts';
import { errorText, StepFailure } from '../runtime/ask-json.ts';
import { changeRequests } from '../runtime/change-requests.ts';
import { effectivePlan } from '../runtime/effective-plan.ts';
import { applyPatch } from '../runtime/git.ts';
import { addOwnedWorktree, removeOwnedWorktree } from '../runtime/worktrees.ts';
import { callModel } from '../runtime/model-call.ts';
import { repoOverview } from '../runtime/repo-context.ts';
import type { AgentDefinition, StepInput, StepOutput } from '../runtime/types.ts';
import { applyEdits, diffWorktree, formatEditErrors, parseEditBlocks } from './edits.ts';
import { type CandidateStart, saveCandidate, startCandidate } from './candidate.ts';
import { mergeSubtasks, type SubtaskStart, saveSubtask, startSubtask, subtaskOf } from './fanout.ts';
import { policyReport, worktreeReader } from './policy-check.ts';
import { applyKeptRepro, checkRepro, startRepro } from './reproduce.ts';
import { coderSystem, coderUser, subtaskUser } from './prompts.ts';
import { noteRepeats, type Repeat } from './loop-guard.ts';
import { runTool, toolSpecs } from './tools.ts';

/** Tool-call turns per step, and rejected edit replies per step: small budgets, used as guards. */
export const MAX_TURNS = 12;
export const MAX_EDIT_TRIES = 3;

interface CoderContext {
  step: StepInput;
  worktree: string;
  messages: ChatMessage[];
  turns: number;
  editTries: number;
  last?: ChatResult;
  editErrors: string[];
  /** A subtask part of a fanned-out code step: where its worktree starts and what it builds on. */
  subtask?: SubtaskStart;
  /** Candidate i of k (a whole-task pass with its own model settings). */
  candidate?: CandidateStart;
  /** The test-writing part (`r1`): how many tests the model has written so far. */
  repro?: { tries: number };
  /** Loop guard: how often each tool call and edit reply came (loop-guard.ts), and the repeat that stops. */
  seen: Record<string, number>;
  repeat?: Repeat;
  output?: StepOutput;
}

/** The repository overview for a Coder's prompt, asked with the subtask's text or the task's. */
async function overviewFor(step: StepInput, signal: AbortSignal): Promise<string> {
  const sub = await subtaskOf(step);
  const { request } = step.task;
  const query = sub
    ? `${sub.subtask.title}\n${sub.subtask.description}\n${sub.subtask.files.join(' ')}`
    : `${request.title}\n${request.description}`;
  return repoOverview(step, query, signal);
}

export const coderMachine = setup({
  types: { input: {} as StepInput, context: {} as CoderContext, output: {} as StepOutput },
  actors: {
    prepare: fromPromise<
      {
        messages: ChatMessage[];
        subtask?: SubtaskStart;
        candidate?: CandidateStart;
        /** The test-writing part ended before any model call (kept earlier, or a test already fails). */
        done?: StepOutput;
      },
      { step: StepInput; worktree: string }
    >(async ({ input, signal }) => {
      const { step, worktree } = input;
      const { task, mesh } = step;
      const workDir = join(step.deps.dataDir, 'work');
      await mkdir(workDir, { recursive: true });
      // The overview (file list, README, the Curator's snippets, memories) needs no worktree: it is asked for
      // while the worktree is made. The test-writing part asks for its own.
      const overviewP = isReproPart(step) ? undefined : overviewFor(step, signal);
      overviewP?.catch(() => undefined); // awaited below; a failure before then must not go unhandled
      const subtask = await startSubtask(step, workDir);
      await addOwnedWorktree(
        step.deps.dataDir,
        task.repoPath,
        worktree,
        subtask?.startCommit ?? task.baseCommit,
      );
      if (isReproPart(step)) {
        const r = await startRepro(step, worktree, signal);
        return 'done' in r ? { messages: [], done: r.done } : { messages: r.messages };
      }
      const plan = await effectivePlan(mesh.board, task.id);
      if (subtask) {
        const s = subtask.subtask;
        const overview = await overviewP!;
        const changes = await changeRequests(mesh.board, task.id);
        const { onto, earlier, repro } = subtask;
        const brief = { task, plan, subtask: s, onto, earlier, changes, ...(repro ? { repro } : {}) };
        return {
          subtask,
          messages: [
            { role: 'system', content: coderSystem() },
            { role: 'user', content: subtaskUser(brief, overview) },
          ],
        };
      }
      let previous: { patch: Patch; testRun?: TestRun } | undefined;
      if (step.attempt > 1) {
        // The patch this revision starts from: the one a human asked changes on (the task may be back from a
        // failed revision of it), else the previous attempt's.
        const from = task.workflow.context.revisionOf;
        const prevId = typeof from === 'string' ? from : patchId(task.id, step.attempt - 1);
        const prev = (await mesh.board.get(keys.patch(prevId), Patch))?.value;
        if (prev) {
          await applyPatch(worktree, prev.diff);
          const testRun = (await mesh.board.get(keys.testrun(task.id, prev.attempt), TestRun))?.value;
          previous = { patch: prev, testRun };
        }
      }
      // The first attempt starts from the test the test-writing part kept (later ones from their patch).
      const repro = step.attempt === 1 ? await applyKeptRepro(step, worktree) : undefined;
      const critique = String(task.workflow.context.critique ?? '') || undefined;
      const changes = await changeRequests(mesh.board, task.id);
      const overview = await overviewP!;
      const candidate = await startCandidate(step);
      return {
        ...(candidate ? { candidate } : {}),
        messages: [
          { role: 'system', content: coderSystem() },
          {
            role: 'user',
            content: coderUser(
              { task, plan, critique, previous, changes, ...(repro ? { repro } : {}) },
              overview,
            ),
          },
        ],
      };
    }),
    merge: fromPromise<StepOutput, { step: StepInput }>(({ input }) =>
      mergeSubtasks(input.step, join(input.step.deps.dataDir, 'work')),
    ),
    ask: fromPromise<ChatResult, { step: StepInput; messages: ChatMessage[]; candidate?: CandidateStart }>(
      ({ input, signal }) =>
        callModel(input.step, 'coder', {
          messages: input.messages,
          tools: toolSpecs,
          signal,
          ...input.candidate?.variant,
        }),
    ),
    runTools: fromPromise<ChatMessage[], { worktree: string; result: ChatResult }>(
      async ({ input, signal }) => {
        const out: ChatMessage[] = [];
        for (const call of input.result.message.tool_calls ?? []) {
          const content = await runTool(input.worktree, call.function.name, call.function.arguments, signal);
          out.push({ role: 'tool', tool_call_id: call.id, content });
        }
        return out;
      },
    ),
    apply: fromPromise<string[], { worktree: string; text: string }>(async ({ input }) => {
      const { edits, errors } = parseEditBlocks(input.text);
      if (errors.length > 0) return errors;
      if (edits.length === 0) return ['no edit blocks found: reply with SEARCH/REPLACE edit blocks'];
      const applied = await applyEdits(input.worktree, edits);
      return applied.errors;
    }),
    save: fromPromise<
      StepOutput,
      { step: StepInput; worktree: string; subtask?: SubtaskStart; candidate?: CandidateStart }
    >(async ({ input }) => {
      const { step, worktree } = input;
      if (input.subtask) return saveSubtask(step, worktree, input.subtask);
      if (input.candidate) return saveCandidate(step, worktree, input.candidate);
      const d = await diffWorktree(worktree);
      if (!d.diff.trim()) throw new StepFailure('the edits left the repository unchanged');
      const id = patchId(step.task.id, step.attempt);
      // The model's output is scanned before anything of it is published: with findings, only the redacted
      // diff and the findings leave this step (the Reviewer then refuses the patch, naming them).
      const scan = scanDiff(d.diff);
      const secrets = scan.findings.length > 0 ? scan.findings : undefined;
      // Checked before publishing too, so the Reviewer and the gate see the report with the patch.
      const policy = await policyReport(step, worktreeReader(worktree), scan.diff, secrets);
      const patch: Patch = {
        id,
        taskId: step.task.id,
        attempt: step.attempt,
        baseCommit: step.task.baseCommit,
        diff: scan.diff,
        files: d.files,
        summary: `${d.files.length} file(s), +${d.additions} -${d.deletions}${secretsNote(secrets)}${policyNote(policy)}`,
        stats: { additions: d.additions, deletions: d.deletions },
        createdAt: new Date(step.deps.now()).toISOString(),
        ...(secrets && { secrets }),
        policy,
      };
      // Same attempt, same key: a re-run after a crash keeps the first stored patch (first writer wins).
      const stored = await step.mesh.board
        .putOnce(keys.patch(id), Patch, patch, (a, b) => a.id === b.id)
        .then((r) => r.entry.value);
      await step.deps.emit({
        id: `${step.stepId}:patch.proposed`,
        taskId: step.task.id,
        type: 'patch.proposed',
        step: { kind: 'code', attempt: step.attempt },
        data: {
          patchId: id,
          files: stored.files,
          summary: stored.summary,
          ...secretsData(stored),
          ...policyData(stored),
        },
      });
      return { ok: true, data: { patchId: id, files: stored.files, summary: stored.summary } };
    }),
    checkRepro: fromPromise<
      { output: StepOutput } | { retry: string },
      { step: StepInput; worktree: string; tries: number }
    >(({ input, signal }) => checkRepro(input.step, input.worktree, input.tries, signal)),
    reportLoop: fromPromise<void, { step: StepInput; repeat: Repeat }>(async ({ input }) => {
      const { step, repeat } = input;
      await step.deps.emit({
        id: `${step.stepId}#${step.round}:loop.detected`,
        taskId: step.task.id,
        type: 'loop.detected',
        step: { kind: step.kind, attempt: step.attempt, round: step.round },
        data: { what: repeat.what, repeats: repeat.times },
      });
    }),
    cleanup: fromPromise<void, { step: StepInput; worktree: string }>(async ({ input }) => {
      await removeOwnedWorktree(input.step.deps.dataDir, input.step.task.repoPath, input.worktree);
    }),
  },
  actions: {
    /** An effect failed: the step fails with the error's message (a failure event, not a crash). */
    fail: assign({
      output: ({ event }) => ({
        ok: false as const,
        reason: errorText((event as { error?: unknown }).error),
      }),
    }),
  },
  guards: {
    isMerge: ({ context }) => {
      const p = parsePart(context.step.part);
      return p !== undefined && 'merge' in p;
    },
    isRepro: ({ context }) => context.repro !== undefined,
    calledTools: ({ context }) => (context.last?.message.tool_calls?.length ?? 0) > 0,
    looping: ({ context }) => context.repeat !== undefined,
    turnsLeft: ({ context }) => context.turns < MAX_TURNS,
    editsRejected: ({ context }) => context.editErrors.length > 0,
    editTriesLeft: ({ context }) => context.editTries < MAX_EDIT_TRIES,
  },
}).createMachine({
  id: 'coder',
  context: ({ input }) => ({
    step: input,
    worktree: join(input.deps.dataDir, 'work', `${input.stepId}-r${input.round}`),
    ...(isReproPart(input) ? { repro: { tries: 0 } } : {}),
    messages: [],
    turns: 0,
    editTries: 0,
    editErrors: [],
    seen: {},
  }),
  initial: 'routing',
  states: {
    // The merge part of a fanned-out code step needs no model and no worktree.
    routing: {
      always: [{ guard: 'isMerge', target: 'merging' }, { target: 'preparing' }],
    },
    merging: {
      invoke: {
        src: 'merge',
        input: ({ context }) => ({ step: context.step }),
        onDone: { target: 'done', actions: assign({ output: ({ event }) => event.output }) },
        onError: { target: 'done', actions: 'fail' },
      },
    },
    preparing: {
      invoke: {
        src: 'prepare',
        input: ({ context }) => ({ step: context.step, worktree: context.worktree }),
        onDone: [
          {
            guard: ({ event }) => event.output.done !== undefined,
            target: 'cleanup',
            actions: assign({ output: ({ event }) => event.output.done }),
          },
          {
            target: 'thinking',
            actions: assign({
              messages: ({ event }) => event.output.messages,
              subtask: ({ event }) => event.output.subtask,
              candidate: ({ event }) => event.output.candidate,
            }),
          },
        ],
        onError: { target: 'cleanup', actions: 'fail' },
      },
    },
    thinking: {
      invoke: {
        src: 'ask',
        input: ({ context }) => ({
          step: context.step,
          messages: context.messages,
          ...(context.candidate ? { candidate: context.candidate } : {}),
        }),
        onDone: {
          target: 'deciding',
          actions: [
            assign({
              last: ({ event }) => event.output,
              // The history the model is sent again holds its reply with any secret redacted; the edits are
              // applied from `last`, as written, and the diff is scanned again before it is published.
              messages: ({ context, event }) => [...context.messages, withoutSecrets(event.output.message)],
              turns: ({ context }) => context.turns + 1,
            }),
            // The loop guard counts every answer's tool calls and edit reply.
            assign(({ context, event }) => noteRepeats(context.seen, event.output.message)),
          ],
        },
        onError: { target: 'cleanup', actions: 'fail' },
      },
    },
    deciding: {
      always: [
        { guard: 'looping', target: 'looping' },
        { guard: 'calledTools', target: 'tooling' },
        { target: 'applying' },
      ],
    },
    // The same tool call or edit again and again: the step stops with a failure that says what was repeated.
    looping: {
      entry: assign({
        output: ({ context }) => ({
          ok: false as const,
          reason: `loop guard: the coder sent ${context.repeat?.what} ${context.repeat?.times} times; stopped`,
        }),
      }),
      invoke: {
        src: 'reportLoop',
        input: ({ context }) => ({ step: context.step, repeat: context.repeat! }),
        onDone: 'cleanup',
        onError: 'cleanup',
      },
    },
    tooling: {
      invoke: {
        src: 'runTools',
        input: ({ context }) => ({ step: context.step, worktree: context.worktree, result: context.last! }),
        onDone: [
          {
            guard: 'turnsLeft',
            target: 'thinking',
            actions: assign({ messages: ({ context, event }) => [...context.messages, ...event.output] }),
          },
          {
            target: 'cleanup',
            actions: assign({
              output: { ok: false, reason: `coder used its ${MAX_TURNS} tool turns without proposing edits` },
            }),
          },
        ],
        onError: { target: 'cleanup', actions: 'fail' },
      },
    },
    applying: {
      invoke: {
        src: 'apply',
        input: ({ context }) => ({ worktree: context.worktree, text: context.last?.message.content ?? '' }),
        onDone: { target: 'checking', actions: assign({ editErrors: ({ event }) => event.output }) },
        onError: { target: 'cleanup', actions: 'fail' },
      },
    },
    checking: {
      always: [
        { guard: 'editsRejected', target: 'rejecting' },
        { guard: 'isRepro', target: 'reproChecking' },
        { target: 'saving' },
      ],
    },
    // The written test runs on the base commit: kept, or sent back once with the evidence.
    reproChecking: {
      entry: assign({ repro: ({ context }) => ({ tries: (context.repro?.tries ?? 0) + 1 }) }),
      invoke: {
        src: 'checkRepro',
        input: ({ context }) => ({
          step: context.step,
          worktree: context.worktree,
          tries: context.repro?.tries ?? 1,
        }),
        onDone: [
          {
            guard: ({ event }) => 'retry' in event.output,
            target: 'thinking',
            actions: assign({
              messages: ({ context, event }) => [
                ...context.messages,
                { role: 'user' as const, content: 'retry' in event.output ? event.output.retry : '' },
              ],
            }),
          },
          {
            target: 'cleanup',
            actions: assign({
              output: ({ event }) =>
                'output' in event.output ? event.output.output : { ok: false as const, reason: 'no output' },
            }),
          },
        ],
        onError: { target: 'cleanup', actions: 'fail' },
      },
    },
    rejecting: {
      entry: assign({ editTries: ({ context }) => context.editTries + 1 }),
      always: [
        {
          guard: 'editTriesLeft',
          target: 'thinking',
          actions: assign({
            messages: ({ context }) => [
              ...context.messages,
              {
                role: 'user' as const,
                content: formatEditErrors(context.editErrors),
              },
            ],
          }),
        },
        {
          target: 'cleanup',
          actions: assign({
            output: ({ context }) => ({
              ok: false as const,
              reason: `coder's edits were rejected ${MAX_EDIT_TRIES} times; last: ${context.editErrors.join(' | ')}`,
            }),
          }),
        },
      ],
    },
    saving: {
      invoke: {
        src: 'save',
        input: ({ context }) => ({
          step: context.step,
          worktree: context.worktree,
          subtask: context.subtask,
          candidate: context.candidate,
        }),
        onDone: { target: 'cleanup', actions: assign({ output: ({ event }) => event.output }) },
        onError: { target: 'cleanup', actions: 'fail' },
      },
    },
    cleanup: {
      invoke: {
        src: 'cleanup',
        input: ({ context }) => ({ step: context.step, worktree: context.worktree }),
        onDone: 'done',
        onError: 'done',
      },
    },
    done: { type: 'final' },
  },
  output: ({ context }) => context.output ?? { ok: false, reason: 'coder stopped without output' },
});

function isReproPart(step: StepInput): boolean {
  const p = parsePart(step.part);
  return p !== undefined && 'repro' in p;
}

function withoutSecrets(message: ChatMessage): ChatMessage {
  if (typeof message.content !== 'string') return message;
  const r = redactText(message.content);
  return r.found > 0 ? { ...message, content: r.text } : message;
}

export const coder: AgentDefinition = {
  capability: 'coder',
  machine: coderMachine,
  estimateCostUsd: () => 0.05,
};
