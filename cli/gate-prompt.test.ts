// The terminal gate's logic, driven by scripted input streams (what a user types, line by line).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  approvalCommands,
  colourDiffLine,
  type GateView,
  gatePrompt,
  interruptReport,
  linePrompter,
} from './gate-prompt.ts';

const DIFF = [
  'diff --git a/src/calc.ts b/src/calc.ts',
  'index 1111111..2222222 100644',
  '--- a/src/calc.ts',
  '+++ b/src/calc.ts',
  '@@ -4,3 +4,3 @@',
  ' export function subtract(a: number, b: number): number {',
  '-  return a + b;',
  '+  return a - b;',
  ' }',
].join('\n');

const VIEW: GateView = {
  patchId: 't-abc-p1',
  summary: '1 file: src/calc.ts',
  diff: DIFF,
  review: {
    decision: 'approve',
    confidence: 0.9,
    critique: 'Correct and tested.',
    risks: [{ level: 'medium', note: 'callers relying on the old sign' }],
  },
  others: [],
  nextAttempt: 2,
};

/** Runs the gate on typed lines; returns the outcome, what was printed and the decisions sent. */
async function drive(
  typed: string[],
  opts: { view?: Partial<GateView>; tty?: boolean; refuse?: string[] } = {},
) {
  const out: string[] = [];
  const sent: Array<[string, string]> = [];
  const refusals = [...(opts.refuse ?? [])];
  const prompter = linePrompter(Readable.from(typed.map((l) => `${l}\n`)), {
    write: (s: string) => out.push(s),
  } as unknown as PassThrough);
  const outcome = await gatePrompt(
    { ...VIEW, ...opts.view },
    { prompter, write: (s) => out.push(s), tty: opts.tty ?? false, rows: 40 },
    async (decision, comment) => {
      sent.push([decision, comment]);
      return refusals.shift();
    },
  );
  prompter.close();
  return { outcome, text: out.join(''), sent };
}

const questions = (text: string) =>
  text.split('Approve patch t-abc-p1? [y]es / [n]o / [d]iff / [r]isks / [q]uit: ').length - 1;

describe('the terminal gate', () => {
  it('shows the diff and the risks before the question; y approves', async () => {
    const { outcome, text, sent } = await drive(['y']);
    expect(outcome).toBe('approved');
    expect(sent).toEqual([['approve', '']]);
    const q = text.indexOf('Approve patch');
    expect(text.indexOf('+  return a - b;')).toBeGreaterThan(-1);
    expect(text.indexOf('+  return a - b;')).toBeLessThan(q);
    expect(text.indexOf('[medium] callers relying on the old sign')).toBeLessThan(q);
    expect(text).toContain('Review: approve (confidence 0.90) — Correct and tested.');
    expect(text).not.toContain('\u001b[');
  });

  it('shows the calibrated confidence first when the review has one, the Reviewer’s own beside it', async () => {
    const { text } = await drive(['y'], {
      view: { review: { ...VIEW.review!, calibration: { calibrated: 0.74 } } },
    });
    expect(text).toContain(
      "Review: approve (calibrated confidence 0.74, the Reviewer's own 0.90) — Correct and tested.",
    );
  });

  it('shows the policy report with the risks: counts by kind, each finding with its remediation', async () => {
    const policy = {
      bundle: 'default-1',
      findings: [
        {
          kind: 'license' as const,
          ruleId: 'license-unknown',
          severity: 'medium' as const,
          enforcement: 'warn' as const,
          file: 'requirements.txt',
          line: 2,
          message: 'PyPI mystery: no SPDX license could be resolved',
          remediation: 'Add it to licenses.map.',
        },
      ],
      counts: { secret: 0, sast: 0, license: 1, vulnerability: 0 },
      blocked: false,
      dependencies: [],
      notes: ['no OSV data imported'],
    };
    const { text } = await drive(['r', 'q'], { view: { policy } });
    const q = text.indexOf('Approve patch');
    expect(
      text.indexOf('Policy (default-1): 1 finding(s) — secret 0, sast 0, license 1, vulnerability 0'),
    ).toBeLessThan(q);
    expect(text).toContain(
      '  - [warn] license-unknown requirements.txt:2: PyPI mystery: no SPDX license could be resolved → Add it to licenses.map.',
    );
    expect(text.split('note: no OSV data imported')).toHaveLength(3);
  });

  it('an unknown key asks again and is never sent; d and r show the diff and risks again', async () => {
    const { outcome, text, sent } = await drive(['x', '?', '', 'd', 'r', 'yes']);
    expect(outcome).toBe('approved');
    expect(sent).toEqual([['approve', '']]);
    expect(questions(text)).toBe(6);
    expect(text).toContain('Unknown answer "x"');
    expect(text).toContain('No answer');
    expect(text.split('+  return a - b;')).toHaveLength(3); // before the question, and after d
    expect(text.split('[medium] callers')).toHaveLength(3);
  });

  it('n asks what should change (again while empty), then for confirmation, then sends it', async () => {
    const { outcome, text, sent } = await drive(['n', '', 'Also reject NaN.', 'y']);
    expect(outcome).toBe('changes_requested');
    expect(sent).toEqual([['request_changes', 'Also reject NaN.']]);
    expect(text).toContain('A change request needs a comment');
    expect(text).toContain('start attempt 2 (t-abc-p1 stays approvable)? [y/N]');
  });

  it('a change request not confirmed is not sent; two empty comments go back to the question', async () => {
    const { outcome, text, sent } = await drive(['n', 'Rename it.', 'x', 'n', '', '', 'q']);
    expect(outcome).toBe('quit');
    expect(sent).toEqual([]);
    expect(text).toContain('Not sent.');
    expect(questions(text)).toBe(3);
  });

  it('with no attempt left, n says so and asks again', async () => {
    const { outcome, text, sent } = await drive(['n', 'y'], { view: { nextAttempt: undefined } });
    expect(outcome).toBe('approved');
    expect(sent).toEqual([['approve', '']]);
    expect(text).toContain('No attempt is left for a revision');
  });

  it('a refused decision is said and the question asked again; the end of input quits', async () => {
    const { outcome, text, sent } = await drive(['y'], { refuse: ['409 NOT_AWAITING_APPROVAL: gone'] });
    expect(outcome).toBe('quit');
    expect(sent).toEqual([['approve', '']]);
    expect(text).toContain('Not recorded: 409 NOT_AWAITING_APPROVAL: gone');
    expect(questions(text)).toBe(2);
  });

  it('back from a failed revision: says so first; other approvable patches are named', async () => {
    const { text } = await drive(['q'], {
      view: { revisionFailed: { attempt: 2, reason: 'no edit applied' }, others: ['t-abc-p2'] },
    });
    expect(text.startsWith('The revision (attempt 2) failed: no edit applied')).toBe(true);
    expect(text).toContain('Also approvable (over HTTP or in the console): t-abc-p2');
  });

  it('on a terminal the diff is coloured and paged', async () => {
    const long = [DIFF, ...Array.from({ length: 80 }, (_, i) => `+line ${i}`)].join('\n');
    const { text } = await drive(['', 'q', 'y'], { view: { diff: long }, tty: true });
    expect(text).toContain('\u001b[32m+  return a - b;\u001b[0m');
    expect(text).toContain('\u001b[31m-  return a + b;\u001b[0m');
    expect(text).toMatch(/-- 38\/89 lines; Enter: more, q: enough --/);
    expect(text).toMatch(/-- 76\/89 lines/);
    expect(text).not.toContain('+line 79'); // q stopped the paging
    expect(colourDiffLine(' context')).toBe(' context');
  });
});

/** Runs a printed command in sh with `curl` replaced by a function that prints its arguments. */
const argsOf = (command: string, env: Record<string, string> = {}) =>
  execFileSync('sh', ['-c', `curl() { for a in "$@"; do printf '%s\\n' "$a"; done; }\n${command}`], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    encoding: 'utf8',
  }).split('\n');

describe('without a terminal', () => {
  const url = 'http://127.0.0.1:40123';
  it('prints commands that work as printed: URL, JSON bodies and the token from its source', () => {
    const fromEnv = approvalCommands(url, 't-abc-p1', { env: 'CODEMESH_TOKEN' });
    expect(fromEnv[0]).toMatch(/the token is \$CODEMESH_TOKEN/);
    const approve = argsOf(fromEnv[1]!, { CODEMESH_TOKEN: 'tok-123' });
    expect(approve).toContain('Authorization: Bearer tok-123');
    expect(approve).toContain(`${url}/v1/patches/t-abc-p1/approve`);
    expect(JSON.parse(approve[approve.indexOf('-d') + 1]!)).toEqual({ decision: 'approve' });
    const changes = argsOf(fromEnv[3]!, { CODEMESH_TOKEN: 'tok-123' });
    expect(JSON.parse(changes[changes.indexOf('-d') + 1]!)).toMatchObject({ decision: 'request_changes' });

    const dir = mkdtempSync(join(tmpdir(), "codemesh-gate-it's-"));
    const file = join(dir, 'run-t-abc.token');
    writeFileSync(file, 'tok-from-file\n');
    const fromFile = approvalCommands(url, 't-abc-p1', { file });
    expect(fromFile[0]).toContain(file);
    expect(argsOf(fromFile[1]!)).toContain('Authorization: Bearer tok-from-file');
    expect(approvalCommands(url, 't-abc-p1', { printedBy: 'codemesh up' })[0]).toMatch(/codemesh up/);
  });
});

describe('Ctrl-C', () => {
  it('says what was left running, for each way the run was started', () => {
    const own = interruptReport({ taskId: 't-abc', status: 'coding', dataDir: '/s', natsPid: 42 });
    expect(own.join('\n')).toMatch(/nats-server \(pid 42\).*nothing of it is left running/);
    expect(own.join('\n')).toContain(
      'task t-abc (coding) is kept in /s; `CODEMESH_HOME=/s codemesh up` carries it on',
    );
    const joined = interruptReport({
      taskId: 't-abc',
      status: 'testing',
      dataDir: '/s',
      joinedUp: { pid: 7, gatewayUrl: 'http://127.0.0.1:8787' },
    });
    expect(joined).toEqual([
      'codemesh: stopped following; task t-abc (testing) keeps running in `codemesh up` (pid 7): http://127.0.0.1:8787/console/#/tasks/t-abc',
    ]);
    expect(interruptReport({ taskId: 't-abc', dataDir: '/s', externalNats: 'nats://h:4222' })[0]).toContain(
      'stays on nats://h:4222',
    );
  });
});
